"""Hostile text at the seat (review 2026-12-01): invisible characters are not stored, a
caller's name is one line of at most 64 characters (refused, not silently cut), a
narrative or note at most 2,000."""
from __future__ import annotations

import pytest

from dispatch.domain.decide import decide_categorise, decide_note, decide_open_call
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import new_incident
from dispatch.domain.text_input import clean_text


def _incident():  # noqa: ANN202
    from datetime import datetime, timezone
    return new_incident(1, datetime(2026, 12, 1, tzinfo=timezone.utc), "席位01", "甲",
                        {"caller_number": "", "caller_name": ""})


@pytest.mark.parametrize("raw,clean", [
    ("有人\u202e落水", "有人落水"),          # right-to-left override
    ("a\x1b[31mb\x07", "a[31mb"),            # ESC and BEL
    ("零\u200b宽\ufeff", "零宽"),            # zero-width space, BOM
    ("  两行\n第二行\t制表  ", "两行\n第二行\t制表"),  # line breaks and tabs stay in a narrative
])
def test_invisible_characters_are_not_kept(raw, clean):
    assert clean_text(raw, "简要警情", limit=2000) == clean


def test_a_name_is_one_line_and_at_most_64_characters():
    assert decide_open_call("13800138000", "王\n先生").payload["caller_name"] == "王 先生"
    assert decide_open_call("13800138000", "张" * 64).payload["caller_name"] == "张" * 64
    with pytest.raises(DispatchError, match="报警人姓名过长"):
        decide_open_call("13800138000", "张" * 65)


def test_narrative_and_note_are_limited_and_cleaned():
    inc = _incident()
    assert decide_categorise(inc, "theft", None, "被盗\u202e自行车")[0].payload["narrative"] == "被盗自行车"
    with pytest.raises(DispatchError, match="简要警情过长"):
        decide_categorise(inc, "theft", None, "字" * 2001)
    with pytest.raises(DispatchError, match="补充内容过长"):
        decide_note(inc, "字" * 2001)
    with pytest.raises(DispatchError, match="补充内容不能为空"):
        decide_note(inc, "\u200b \u202e")  # only invisible characters: empty


@pytest.mark.parametrize("number, ok", [
    ("", True), ("110", True), ("12345", True), ("+86 138-1234-5678", True), ("(021) 6321 0000", True),
    ("-1", False), ("()", False), ("+", False), ("12", False), ("1-2", False), ("abc", False),
    ("١٢٣", False), ("1" * 33, False),
])
def test_a_caller_number_has_at_least_three_digits(number, ok):
    from dispatch.domain.decide import check_phone
    from dispatch.domain.errors import DispatchError
    if ok:
        assert check_phone(number) == number
    else:
        with pytest.raises(DispatchError, match="来电号码格式不正确"):
            check_phone(number)
