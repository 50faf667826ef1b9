"""The shift lead's powers (值班长): reopen a closed incident, move an open one to another seat.

Both are refused to every other role (roles "incident.reopen" / "incident.move"), validate
before writing, and are one transaction in which the projection and the one event share
one instant. The projection updates are exactly what a fold of the event does:

- `incident.reopened` -> status pending (待派), closed_at None, result_code "", close_note "";
  updated_at = the event's instant, version + 1.
- `incident.moved` -> seat = payload "to_seat", operator = payload "to_operator" when it is
  non-empty, else unchanged; updated_at = the event's instant, version + 1.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.services.calls import get_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, require
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
        now = ctx.clock.now()
        inc = get_incident(s, incident_id)
        if inc.status != IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 当前为「{IncidentStatus(inc.status).label}」，"
                                f"只有已结警的警情才能重新打开")
        previous = {"reason": reason, "previous_result": inc.result_code or "",
                    "previous_closed_at": _iso(inc.closed_at)}
        inc.status = IncidentStatus.PENDING.value
        inc.closed_at, inc.result_code, inc.close_note = None, "", ""
        inc.updated_at = now
        eid = append_event(ctx, s, ev.INCIDENT_REOPENED, incident_id, payload=previous, at=now)
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def move(ctx: Context, incident_id: int, to_seat: str, reason: str = "") -> Changes:
    """改派席位: an open incident passes to seat `to_seat`; its operator becomes the one the
    log last saw acting on that seat (kept as it is when the log has never seen the seat).
    One `incident.moved` event {from_seat, to_seat, to_operator, reason}."""
    ensure_writable(ctx)
    require(ctx, "incident.move")
    to_seat = (to_seat or "").strip() if isinstance(to_seat, str) else ""
    if not to_seat:
        raise DispatchError("请填写要改派到的席位")
    if len(to_seat) > MAX_SEAT:
        raise DispatchError(f"席位名称最多 {MAX_SEAT} 字")
    reason = _reason(reason, required=False, what="改派席位")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = get_incident(s, incident_id)
        if inc.status == IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 已结警，不能改派席位（如需继续处理请先重新打开）")
        if to_seat == inc.seat:
            raise DispatchError(f"警情 {incident_id} 已在{to_seat}，无需改派")
        to_operator = last_operator_on(s, to_seat)
        payload = {"from_seat": inc.seat, "to_seat": to_seat, "to_operator": to_operator, "reason": reason}
        inc.seat = to_seat
        if to_operator:
            inc.operator = to_operator
        inc.updated_at = now
        eid = append_event(ctx, s, ev.INCIDENT_MOVED, incident_id, payload=payload, at=now)
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def last_operator_on(s: Session, seat: str) -> str:
    """The operator of the newest event recorded at `seat`, or "" when the log has none."""
    name = s.scalar(select(EventRow.operator).where(EventRow.seat == seat, EventRow.operator != "")
                    .order_by(EventRow.id.desc()).limit(1))
    return name or ""


def _reason(reason: str, required: bool, what: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if required and not text:
        raise DispatchError(f"请填写{what}的原因")
    if len(text) > MAX_REASON:
        raise DispatchError(f"{what}的原因最多 {MAX_REASON} 字")
    return text


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")
