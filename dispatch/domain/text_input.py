"""Free text typed at a seat or sent to `act`: checked once, the same way everywhere."""
from __future__ import annotations

from dispatch.domain.errors import DispatchError

MAX_TEXT = 200


def clean_text(value: object, what: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    """`value` stripped; refused (naming `what`) when it is not text, missing but required,
    or longer than `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DispatchError(f"{what}应为文字")
    value = value.strip()
    if required and not value:
        raise DispatchError(f"请填写{what}")
    if len(value) > limit:
        raise DispatchError(f"{what}过长（最多 {limit} 字）")
    return value
