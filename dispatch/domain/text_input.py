"""Free text typed at a seat or sent to `act`: checked once, the same way everywhere."""
from __future__ import annotations

import re

from dispatch.domain.errors import DispatchError

MAX_TEXT = 200
# Invisible characters a paste or a hostile client brings: C0 controls (not tab or line
# breaks), DEL, zero-width characters and the bidirectional overrides (U+202E turns the
# rest of a line round on every screen and in the PDF report).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_BREAKS = re.compile(r"[\t\r\n]+")


def clean_text(value: object, what: str, required: bool = False, limit: int = MAX_TEXT,
               single_line: bool = False) -> str:
    """`value` stripped of invisible characters (and, `single_line`, of line breaks: a name
    is one line); refused (naming `what`) when it is not text, missing but required, or
    longer than `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DispatchError(f"{what}应为文字")
    value = _INVISIBLE.sub("", value)
    if single_line:
        value = _BREAKS.sub(" ", value)
    value = value.strip()
    if required and not value:
        raise DispatchError(f"请填写{what}")
    if len(value) > limit:
        raise DispatchError(f"{what}过长（最多 {limit} 字）")
    return value
