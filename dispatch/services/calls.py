"""Seat actions on an incident: take the call, locate, categorise, note, close, call back.

Each function is one transaction: it reads the incident's state, decides
(dispatch.domain.decide), appends the events and evolves the projections with the same
functions as replay (services.projection_rows), and returns Changes. A refused request
raises DispatchError and writes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import edit_base
from dispatch.domain import events as ev
from dispatch.domain.decide import (PHONE, Draft, check_phone, close_drafts, decide_callback, decide_categorise,
                                    decide_close, decide_locate, decide_note, decide_open_call,
                                    decide_update_caller, parse_priority)
from dispatch.domain.decide import result_code as parse_result
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import IncidentState, Payload, new_incident
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES, IncidentStatus, category
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require, retried
from dispatch.services.locations import Location
from dispatch.services.projection_rows import IncidentProjection, new_incident_row, record
from dispatch.store.db import StaleWrite
from dispatch.store.schema import AssignmentRow, EventRow, IncidentRow, UnitRow

_PHONE = PHONE  # kept for the modules that check numbers the same way


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
    draft = decide_open_call(caller_number, caller_name)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        inc = new_incident_row(new_incident(0, now, ctx.actor.seat, ctx.actor.operator, draft.payload))
        s.add(inc)
        s.flush()
        eid = append_event(ctx, s, draft.kind, inc.id, at=now, payload=draft.payload)
        return Changes(incidents=frozenset({inc.id}), last_event_id=eid, incident_id=inc.id,
                       event_ids=(eid,))


@retried
def _on_incident(ctx: Context, incident_id: int, decide: Callable[[IncidentState], list[Draft]],
                 based_on: Mapping[str, Any] | None = None) -> Changes:
    """One transaction on one incident: read its state, decide, then (the instant: the
    append lock) append and evolve; run again if it raced (context.retried).
    `based_on`: the values the seat saw of the fields it edits (dispatch.domain.edit_base);
    one that has changed since refuses the edit, naming who changed it."""
    with ctx.store.transaction(appends=True, lock_late=True) as s:
        p = IncidentProjection.load(s, incident_id)
        if based_on:
            _refuse_moved(ctx, s, p.state, based_on)
        drafts = decide(p.state)
        ids = record(ctx, s, instant(ctx, s), drafts, [p])
        return Changes(incidents=frozenset({incident_id}), last_event_id=ids[-1], incident_id=incident_id,
                       event_ids=tuple(ids))


def _last_by(ctx: Context, s: Session, incident_id: int, kinds: Sequence[str]) -> tuple[str, str, datetime | None, str]:
    """Who last changed the incident by an event of `kinds`: (seat, operator, UTC time or
    None, "seat（operator） local time" as the refusals say it)."""
    row = s.execute(select(EventRow.seat, EventRow.operator, EventRow.occurred_at)
                    .where(EventRow.incident_id == incident_id, EventRow.kind.in_(kinds))
                    .order_by(EventRow.id.desc()).limit(1)).first()
    seat, operator, at = (row.seat or "其他席位", row.operator or "", row.occurred_at) if row else ("其他席位", "", None)
    who = f"{seat}（{operator}）" if operator else seat
    return seat, operator, at, f"{who} {ctx.store.time_of(at)}" if at is not None else f"{who} "


def _refuse_moved(ctx: Context, s: Session, inc: IncidentState, based_on: Mapping[str, Any]) -> None:
    moved = edit_base.moved_fields(inc, based_on)
    if not moved:
        return
    seat, operator, at, who_when = _last_by(ctx, s, inc["id"], edit_base.kinds_of(moved))
    now_is = ""
    if "category" in moved or "priority" in moved:
        cat = CATEGORY_BY_CODE.get(inc["category"] or "")
        now_is = f"，现为「{cat.label if cat else '未定性'}·{'紧急' if inc['priority'] == 'urgent' else '非紧急'}」"
    elif moved == ["place"]:
        now_is = f"，现为「{inc['place_name'] or inc['place_text'] or '地图选点'}」"
    raise StaleWrite(f"该警情的{edit_base.labels(moved)}已被 {who_when}修改{now_is}；您的修改未保存："
                     "请核对（在警情队列中重新打开该警情可载入最新内容）", ("警情", inc["id"]), seat, operator,
                     at if at is not None else ctx.clock.now())


def update_caller(ctx: Context, incident_id: int, caller_number: str, caller_name: str,
                  based_on: Mapping[str, Any] | None = None) -> Changes:
    """Correct the caller's number or name (recorded as a note event)."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    check_phone(caller_number)
    return _on_incident(ctx, incident_id, lambda inc: decide_update_caller(inc, caller_number, caller_name),
                        based_on)


def locate(ctx: Context, incident_id: int, location: Location, based_on: Mapping[str, Any] | None = None) -> Changes:
    """定位: set (or correct) where the incident is."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    location.validate()
    grid = ctx.grid_of(location.lon, location.lat) if ctx.grid_of else None
    payload = location.payload() | {"grid_id": grid}
    return _on_incident(ctx, incident_id, lambda inc: decide_locate(inc, payload), based_on)


def categorise(ctx: Context, incident_id: int, category_code: str, priority: str | None = None,
               narrative: str | None = None, based_on: Mapping[str, Any] | None = None) -> Changes:
    """定性: category (报警/求助/投诉 types), priority (紧急/非紧急) and the narrative."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    parse_priority(priority, category(category_code).urgent)  # refused before any transaction
    return _on_incident(ctx, incident_id,
                        lambda inc: decide_categorise(inc, category_code, priority, narrative), based_on)


def add_note(ctx: Context, incident_id: int, text: str) -> Changes:
    """补充警情: a free-text note on the incident's timeline."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    if not text.strip():
        raise DispatchError("补充内容不能为空")
    return _on_incident(ctx, incident_id, lambda inc: decide_note(inc, text))


def close(ctx: Context, incident_id: int, result_code: str, note: str = "") -> Changes:
    """结警: close with a result code; units still assigned are released to 空闲."""
    ensure_writable(ctx)
    require(ctx, "incident.close")
    code = parse_result(result_code)
    return _close(ctx, incident_id, code, note)


@retried
def _close(ctx: Context, incident_id: int, code: str, note: str) -> Changes:
    with ctx.store.transaction(appends=True, lock_late=True) as s:
        p = IncidentProjection.load(s, incident_id)
        if p.state["status"] is IncidentStatus.CLOSED:
            _refuse_closed(ctx, s, p.state)
        units = assigned_units(s, incident_id)
        drafts = decide_close(p.state, code, note, {u.id: UnitStatus(u.status) for u in units})
        ids = record(ctx, s, instant(ctx, s), drafts, [p], units)
        return Changes(incidents=frozenset({incident_id}), units=frozenset(u.id for u in units),
                       last_event_id=ids[-1], incident_id=incident_id, event_ids=tuple(ids))


def _refuse_closed(ctx: Context, s: Session, inc: IncidentState) -> None:
    """Another seat closed it first: say who, when and how (the state machine's refusal,
    "已结警 cannot become 已结警", told the call-taker nothing of it)."""
    seat, operator, at, who_when = _last_by(ctx, s, inc["id"], [ev.INCIDENT_CLOSED])
    how = RESULT_CODES.get(inc["result_code"] or "", "")
    raise StaleWrite(f"警情 {inc['id']} 已被 {who_when}结警{f'（{how}）' if how else ''}；您的结警未保存",
                     ("警情", inc["id"]), seat, operator, at if at is not None else ctx.clock.now())


def close_in(ctx: Context, s: Session, inc: IncidentRow, code: str, note: str, now: datetime,
             extra: Payload | None = None) -> tuple[set[int], list[int]]:
    """Inside a closing transaction (结警, 转警, a duplicate call): release the units still
    assigned (结警释放) and append incident.closed; returns the units released and the
    events appended."""
    p = IncidentProjection(s, inc)
    units = assigned_units(s, inc.id)
    drafts = close_drafts(p.state, code, note, {u.id: UnitStatus(u.status) for u in units}, extra)
    return {u.id for u in units}, record(ctx, s, now, drafts, [p], units)


def callback(ctx: Context, incident_id: int, satisfied: bool, note: str = "") -> Changes:
    """回访: the callback to the caller after closing."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    return _on_incident(ctx, incident_id, lambda inc: decide_callback(inc, satisfied, note))


def assigned_units(s: Session, incident_id: int) -> list[UnitRow]:
    """The units still assigned to the incident (released by a close)."""
    q = (select(UnitRow).join(AssignmentRow, UnitRow.id == AssignmentRow.unit_id)
         .where(AssignmentRow.incident_id == incident_id, AssignmentRow.cleared_at.is_(None))
         .order_by(AssignmentRow.id))
    return list(s.scalars(q))
