"""The shift lead's powers (值班长): reopen a closed incident, move an open one to another seat.

Both are refused to every other role (roles "incident.reopen" / "incident.move"), decided
by the domain (decide_reopen / decide_move) and recorded like every other action: the event
appended and the same evolve applied to the projection, in one transaction at one instant.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain.decide import decide_move, decide_reopen
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.services.calls import get_incident
from dispatch.services.context import Changes, Context, ensure_writable, instant, require
from dispatch.services.projection_rows import IncidentProjection, record
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow

MAX_REASON = 200
MAX_SEAT = 64  # the width of the seat columns (events.seat, incidents.seat)


def reopen(ctx: Context, incident_id: int, reason: str) -> Changes:
    """重新打开: a closed incident goes back to 待派 (pending) with its closing cleared;
    one `incident.reopened` event {reason, previous_result, previous_closed_at}."""
    ensure_writable(ctx)
    require(ctx, "incident.reopen")
    reason = _reason(reason, required=True, what="重新打开")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        p = IncidentProjection(s, get_incident(s, incident_id))
        ids = record(ctx, s, now, decide_reopen(p.state, reason, _iso(p.row.closed_at)), [p])
        return Changes(incidents=frozenset({incident_id}), last_event_id=ids[-1], incident_id=incident_id,
                       event_ids=tuple(ids))


def move(ctx: Context, incident_id: int, to_seat: str, reason: str = "") -> Changes:
    """改派席位: an open incident passes to seat `to_seat`; its operator becomes the one the
    log last saw acting on that seat (kept as it is when the log has never seen the seat).
    One `incident.moved` event {from_seat, to_seat, to_operator, reason}."""
    ensure_writable(ctx)
    require(ctx, "incident.move")
    to_seat = clean_text(to_seat if isinstance(to_seat, str) else "", "席位名称", limit=MAX_SEAT, single_line=True)
    if not to_seat:
        raise DispatchError("请填写要改派到的席位")
    reason = _reason(reason, required=False, what="改派席位")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        p = IncidentProjection(s, get_incident(s, incident_id))
        ids = record(ctx, s, now, decide_move(p.state, to_seat, last_operator_on(s, to_seat), reason), [p])
        return Changes(incidents=frozenset({incident_id}), last_event_id=ids[-1], incident_id=incident_id,
                       event_ids=tuple(ids))


def last_operator_on(s: Session, seat: str) -> str:
    """The operator of the newest event recorded at `seat`, or "" when the log has none."""
    name = s.scalar(select(EventRow.operator).where(EventRow.seat == seat, EventRow.operator != "")
                    .order_by(EventRow.id.desc()).limit(1))
    return name or ""


def _reason(reason: str, required: bool, what: str) -> str:
    text = clean_text(reason if isinstance(reason, str) else "", f"{what}的原因", limit=MAX_REASON)
    if required and not text:
        raise DispatchError(f"请填写{what}的原因")
    return text


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")
