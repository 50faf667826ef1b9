"""The place a call-taker types is kept as one line of at most 200 characters, without
invisible characters (the review's hostile input: a pasted page, a bidi override, a line
break in the place field): refused beyond the limit, naming the field, nothing recorded."""
from __future__ import annotations

import pytest

from dispatch.domain.decide import MAX_PLACE, decide_locate
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import new_incident
from tests.conftest import NOON_UTC


def _incident():  # noqa: ANN202
    return new_incident(7, NOON_UTC, "席位01", "接警员", {"caller_number": "", "caller_name": ""})


def _payload(text: str, name: str = "人民广场") -> dict:
    return {"name": name, "lon": 121.4737, "lat": 31.2304, "kind": "landmark", "text": text}


def test_invisible_characters_and_line_breaks_do_not_reach_the_log():
    [draft] = decide_locate(_incident(), _payload("人民\u202e广场\u200b\n西藏中路口", "人民广场\r\n"))
    assert draft.payload["text"] == "人民广场 西藏中路口"
    assert draft.payload["name"] == "人民广场"
    assert draft.payload["lon"] == 121.4737


def test_a_place_longer_than_the_limit_is_refused_naming_the_field():
    decide_locate(_incident(), _payload("路" * MAX_PLACE))  # at the limit: kept
    with pytest.raises(DispatchError, match="报警地点过长"):
        decide_locate(_incident(), _payload("路" * (MAX_PLACE + 1)))
    with pytest.raises(DispatchError, match="地点名称过长"):
        decide_locate(_incident(), _payload("人民广场", "名" * (MAX_PLACE + 1)))
