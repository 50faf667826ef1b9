"""Caller history: the earlier incidents from a number (last 90 days) and the number's
mark — 重复来电 (repeat) or 骚扰电话 (nuisance) — set by the shift lead with a note.

A mark is an event (`number.marked`, no incident, payload {number, mark, note}); the
latest one of any spelling of the number (with or without +86) is its current mark,
"clear" (取消标记) removes it. The premise history (closed incidents near the place) is
dispatch.services.place_context's, not repeated here."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES
from dispatch.services.calls import _PHONE
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.services.phone_calls import _variants
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, IncidentRow

HISTORY_WINDOW = timedelta(days=90)
MARKS = {"repeat": "重复来电", "nuisance": "骚扰电话", "clear": "取消标记"}
MAX_NOTE = 200
MAX_ITEMS = 50


@dataclass(frozen=True)
class EarlierCall:
    incident_id: int
    received_at: datetime
    category: str          # Chinese label, 未定性 when none
    result: str            # Chinese result label, 未结警 while open
    place: str


@dataclass(frozen=True)
class NumberMark:
    number: str
    mark: str              # repeat / nuisance
    label: str             # 重复来电 / 骚扰电话
    note: str
    at: datetime
    operator: str


@dataclass(frozen=True)
class CallerHistory:
    number: str
    calls: tuple[EarlierCall, ...]      # newest first, at most MAX_ITEMS
    total: int                          # all in the 90 days
    last_24h: int
    last_7d: int
    by_result: dict[str, int]           # Chinese result label -> count
    mark: NumberMark | None

    @property
    def nuisance(self) -> bool:
        return self.mark is not None and self.mark.mark == "nuisance"


def _bare(column: ColumnElement[str]) -> ColumnElement[str]:
    """The stored number without the spaces, dashes and brackets a call-taker may type."""
    for ch in (" ", "-", "(", ")"):
        column = func.replace(column, ch, "")
    return column


def _clean(number: str) -> str:
    number = (number or "").strip()
    if not number or not _PHONE.match(number) or not any(ch.isdigit() for ch in number):
        raise DispatchError(f"号码格式不正确: {number!r}")
    return number


def number_mark(s: Session, number: str) -> NumberMark | None:
    """The number's current mark (any spelling of it), or None."""
    if not (number or "").strip():
        return None
    spellings = set(_variants(number.strip()))
    q = select(EventRow).where(EventRow.kind == ev.NUMBER_MARKED).order_by(EventRow.id.desc())
    for row in s.scalars(q):
        p = row.payload or {}
        if str(p.get("number", "")) in spellings:
            if p.get("mark") not in ("repeat", "nuisance"):
                return None
            return NumberMark(str(p["number"]), p["mark"], MARKS[p["mark"]], str(p.get("note", "")),
                              as_utc(row.occurred_at), row.operator)
    return None


def caller_history(s: Session, number: str, now: datetime, exclude_id: int | None = None) -> CallerHistory:
    """Earlier incidents from `number` received in the 90 days before `now` (the call in
    hand, `exclude_id`, left out), their counts, and the number's mark."""
    number = (number or "").strip()
    if not number:
        return CallerHistory("", (), 0, 0, 0, {}, None)
    q = (select(IncidentRow).where(_bare(IncidentRow.caller_number.expression).in_(_variants(number)),
                                   IncidentRow.received_at >= now - HISTORY_WINDOW,
                                   IncidentRow.received_at <= now)
         .order_by(IncidentRow.received_at.desc(), IncidentRow.id.desc()))
    rows = [r for r in s.scalars(q) if r.id != exclude_id]
    calls: list[EarlierCall] = []
    results: Counter[str] = Counter()
    day = week = 0
    for r in rows:
        at = as_utc(r.received_at)
        day += at >= now - timedelta(days=1)
        week += at >= now - timedelta(days=7)
        result = RESULT_CODES.get(r.result_code, "") if r.status == "closed" else "未结警"
        results[result or "未结警"] += 1
        if len(calls) < MAX_ITEMS:
            cat = CATEGORY_BY_CODE.get(r.category)
            calls.append(EarlierCall(r.id, at, cat.label if cat else "未定性", result or "未结警",
                                     r.place_name or r.place_text or "未定位"))
    return CallerHistory(number, tuple(calls), len(rows), day, week, dict(results.most_common()),
                         number_mark(s, number))


def mark_number(ctx: Context, number: str, mark: str, note: str = "") -> Changes:
    """值班长 marks a number 重复来电 / 骚扰电话 (a note says why) or clears its mark."""
    ensure_writable(ctx)
    require(ctx, "number.mark")
    number = _clean(number)
    code = mark if mark in MARKS else {v: k for k, v in MARKS.items()}.get((mark or "").strip())
    if code is None:
        raise DispatchError(f"未知的号码标记: {mark!r}；可用: repeat（重复来电）、nuisance（骚扰电话）、clear（取消标记）")
    note = clean_text(note, "标记说明", limit=MAX_NOTE)
    if code != "clear" and not note:
        raise DispatchError(f"标记为「{MARKS[code]}」需要填写说明")
    with ctx.store.transaction(appends=True) as s:
        current = number_mark(s, number)
        if code == "clear" and current is None:
            raise DispatchError(f"号码 {number} 没有标记，无需取消")
        now = instant(ctx, s)
        eid = append_event(ctx, s, ev.NUMBER_MARKED, None, at=now,
                           payload={"number": number, "mark": code, "note": note})
        return Changes(last_event_id=eid, event_ids=(eid,))
