"""The phone line's calls in the core: what the console does when the telephone system
says a call was answered at this seat (dispatch.feeds.cti reads the line), and the
caller's earlier incidents."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import NOT_IN_CHINA, in_china
from dispatch.services.calls import add_note, get_incident, open_call, update_caller
from dispatch.services.context import Changes, Context, append_event, ensure_writable, require
from dispatch.services.queries import IncidentView, _assignments, _incident_view
from dispatch.store.schema import IncidentRow


def _variants(number: str) -> list[str]:
    digits = re.sub(r"\D", "", number)
    bare = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    return sorted({number, digits, bare, "+86" + bare, "86" + bare} - {""})


def caller_history(s: Session, number: str, exclude_id: int | None = None,
                   limit: int = 10) -> list[IncidentView]:
    """Earlier incidents from this number (with or without +86), newest first."""
    if not number.strip():
        return []
    q = (select(IncidentRow).where(IncidentRow.caller_number.in_(_variants(number.strip())))
         .order_by(IncidentRow.received_at.desc()).limit(limit + 1))
    rows = [r for r in s.scalars(q) if r.id != exclude_id][:limit]
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]


def answer(ctx: Context, number: str, lon: float | None = None, lat: float | None = None,
           accuracy_m: float | None = None, in_hand: int | None = None) -> int:
    """On "answered": fill the number of the call in hand (an open incident without a
    number), else open a new call with it; record the carrier location (lon, lat WGS-84
    and its radius) as a `call.carrier_located` event — unless it is outside China (or not
    numbers): then the call is still answered, the location is not stored and a note on the
    incident says so. Returns the incident id."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    incident_id: int | None = None
    if in_hand is not None:
        with ctx.store.reader() as s:
            row = s.get(IncidentRow, in_hand)
            if row is not None and row.status != "closed" and not row.caller_number:
                incident_id = in_hand
    if incident_id is None:
        incident_id = _opened(open_call(ctx, number))
    elif number:
        with ctx.store.reader() as s:
            name = get_incident(s, incident_id).caller_name
        update_caller(ctx, incident_id, number, name)
    if lon is not None and lat is not None and not in_china(lon, lat):
        # the call is kept (it matters more than its location); the location is not
        # stored as the caller's, and the incident's timeline says why
        add_note(ctx, incident_id, f"电话系统提供的来电位置 {_num(lon)},{_num(lat)} {NOT_IN_CHINA}，未采用")
    elif lon is not None and lat is not None:
        with ctx.store.transaction(appends=True) as s:
            append_event(ctx, s, ev.CALL_CARRIER_LOCATED, incident_id,
                         payload={"lon": lon, "lat": lat, "accuracy_m": accuracy_m,
                                  "number": number})
    return incident_id


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else repr(v)[:20]


def _opened(changes: Changes) -> int:
    """The incident a service call created (open_call always names it)."""
    if changes.incident_id is None:
        raise DispatchError("未能创建警情")
    return changes.incident_id
