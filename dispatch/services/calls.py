"""Seat actions on an incident: take the call, locate, categorise, note, close, call back.

Each function is one transaction: it validates, appends its events, updates the
projections and returns Changes. A refused request raises DispatchError and writes nothing.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import RESULT_CODES, IncidentStatus, Priority, category, check_incident_move
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Changes, Context, append_event, ensure_writable, require
from dispatch.services.locations import Location
from dispatch.store.schema import AssignmentRow, IncidentRow, UnitRow

_PHONE = re.compile(r"^[0-9+\-() ]{0,32}$")


def get_incident(s: Session, incident_id: int) -> IncidentRow:
    row = s.get(IncidentRow, incident_id)
    if row is None:
        raise DispatchError(f"警情 {incident_id} 不存在")
    return row


def open_incident(s: Session, incident_id: int) -> IncidentRow:
    row = get_incident(s, incident_id)
    if row.status == IncidentStatus.CLOSED.value:
        raise DispatchError(f"警情 {incident_id} 已结警，不能再修改")
    return row


def open_call(ctx: Context, caller_number: str = "", caller_name: str = "") -> Changes:
    """接警: the incident and its call.received event exist from this moment on."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    caller_number, caller_name = caller_number.strip(), caller_name.strip()
    if not _PHONE.match(caller_number):
        raise DispatchError(f"来电号码格式不正确: {caller_number!r}")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = IncidentRow(status=IncidentStatus.PENDING.value, received_at=now, updated_at=now,
                          caller_number=caller_number, caller_name=caller_name[:64],
                          seat=ctx.actor.seat, operator=ctx.actor.operator,
                          priority=Priority.NORMAL.value, place_admin=[])
        s.add(inc)
        s.flush()
        eid = append_event(ctx, s, ev.CALL_RECEIVED, inc.id, at=now,
                           payload={"caller_number": caller_number, "caller_name": caller_name})
        return Changes(incidents=frozenset({inc.id}), last_event_id=eid, incident_id=inc.id,
                       event_ids=(eid,))


def update_caller(ctx: Context, incident_id: int, caller_number: str, caller_name: str) -> Changes:
    """Correct the caller's number or name (recorded as a note event)."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    if not _PHONE.match(caller_number.strip()):
        raise DispatchError(f"来电号码格式不正确: {caller_number!r}")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = open_incident(s, incident_id)
        inc.caller_number, inc.caller_name = caller_number.strip(), caller_name.strip()[:64]
        inc.updated_at = now
        eid = append_event(ctx, s, ev.INCIDENT_NOTED, incident_id, at=now,
                           payload={"caller_number": inc.caller_number, "caller_name": inc.caller_name})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def locate(ctx: Context, incident_id: int, location: Location) -> Changes:
    """定位: set (or correct) where the incident is."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    location.validate()
    grid = ctx.grid_of(location.lon, location.lat) if ctx.grid_of else None
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = open_incident(s, incident_id)
        inc.place_text, inc.place_name, inc.place_kind = location.text, location.name, location.kind
        inc.place_admin, inc.qualifier = list(location.admin), location.qualifier
        inc.lon, inc.lat, inc.grid_id = location.lon, location.lat, grid
        inc.updated_at = now
        payload = location.payload() | {"grid_id": grid}
        eid = append_event(ctx, s, ev.INCIDENT_LOCATED, incident_id, payload=payload, at=now)
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def categorise(ctx: Context, incident_id: int, category_code: str, priority: str | None = None,
               narrative: str | None = None) -> Changes:
    """定性: category (报警/求助/投诉 types), priority (紧急/非紧急) and the narrative."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    cat = category(category_code)
    if priority is None:
        prio = Priority.URGENT if cat.urgent else Priority.NORMAL
    else:
        try:
            prio = Priority(priority) if priority in ("urgent", "normal") else \
                {"紧急": Priority.URGENT, "非紧急": Priority.NORMAL}[priority]
        except KeyError:
            raise DispatchError(f"未知的优先级: {priority}") from None
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = open_incident(s, incident_id)
        inc.category, inc.priority = cat.code, prio.value
        if narrative is not None:
            inc.narrative = narrative.strip()
        inc.updated_at = now
        eid = append_event(ctx, s, ev.INCIDENT_CATEGORISED, incident_id, at=now,
                           payload={"category": cat.code, "label": cat.label, "priority": prio.value,
                               "narrative": inc.narrative})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def add_note(ctx: Context, incident_id: int, text: str) -> Changes:
    """补充警情: a free-text note on the incident's timeline."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    if not text.strip():
        raise DispatchError("补充内容不能为空")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = open_incident(s, incident_id)
        inc.updated_at = now
        eid = append_event(ctx, s, ev.INCIDENT_NOTED, incident_id, payload={"note": text.strip()}, at=now)
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def close(ctx: Context, incident_id: int, result_code: str, note: str = "") -> Changes:
    """结警: close with a result code; units still assigned are released to 空闲."""
    ensure_writable(ctx)
    require(ctx, "incident.close")
    code = result_code if result_code in RESULT_CODES else \
        {v: k for k, v in RESULT_CODES.items()}.get(result_code)
    if code is None:
        raise DispatchError(f"未知的结警结果: {result_code}")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = get_incident(s, incident_id)
        check_incident_move(incident_id, IncidentStatus(inc.status), IncidentStatus.CLOSED)
        units, ids = close_in(ctx, s, inc, code, note.strip(), now)
        return Changes(incidents=frozenset({incident_id}), units=frozenset(units), last_event_id=ids[-1],
                       incident_id=incident_id, event_ids=tuple(ids))


def close_in(ctx: Context, s: Session, inc: IncidentRow, code: str, note: str, now: datetime,
             extra: dict | None = None) -> tuple[set[int], list[int]]:
    """Inside a closing transaction (结警, 转警): release the units still assigned (结警释放)
    and append incident.closed; returns the units released and the events appended."""
    units: set[int] = set()
    ids = []
    for a, unit in _open_assignments(s, inc.id):
        a.cleared_at = now
        prev = unit.status
        unit.status, unit.status_since, unit.incident_id = UnitStatus.AVAILABLE.value, now, None
        units.add(unit.id)
        ids.append(append_event(ctx, s, ev.UNIT_STATUS, inc.id, unit.id,
                                {"from": prev, "to": UnitStatus.AVAILABLE.value, "reason": "结警释放"}, at=now))
    inc.status, inc.result_code, inc.close_note = IncidentStatus.CLOSED.value, code, note
    inc.closed_at = inc.updated_at = now
    ids.append(append_event(ctx, s, ev.INCIDENT_CLOSED, inc.id, at=now,
                            payload={"result_code": code, "result": RESULT_CODES[code], "note": note} | (extra or {})))
    return units, ids


def callback(ctx: Context, incident_id: int, satisfied: bool, note: str = "") -> Changes:
    """回访: the callback to the caller after closing."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    with ctx.store.transaction(appends=True) as s:
        inc = get_incident(s, incident_id)
        if inc.status != IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 尚未结警，不能回访")
        eid = append_event(ctx, s, ev.CALLBACK_DONE, incident_id,
                           payload={"satisfied": bool(satisfied), "note": note.strip()})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def _open_assignments(s: Session, incident_id: int) -> list[tuple[AssignmentRow, UnitRow]]:
    q = (select(AssignmentRow, UnitRow).join(UnitRow, UnitRow.id == AssignmentRow.unit_id)
         .where(AssignmentRow.incident_id == incident_id, AssignmentRow.cleared_at.is_(None)))
    return [(a, u) for a, u in s.execute(q)]
