"""Seat actions on units: dispatch (派警), status moves (签收/出发/到场/空闲), positions."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus, check_unit_move
from dispatch.services.calls import open_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, require
from dispatch.store.positions import Fix, write_batch
from dispatch.store.schema import AssignmentRow, IncidentRow, UnitRow


def get_unit(s: Session, unit_id: int) -> UnitRow:
    row = s.get(UnitRow, unit_id)
    if row is None:
        raise DispatchError(f"警力 {unit_id} 不存在")
    return row


def dispatch(ctx: Context, incident_id: int, unit_ids: Sequence[int],
             estimates: dict[int, tuple[float, float]] | None = None) -> Changes:
    """派警: send one or more available units to an open, located incident.
    `estimates` maps unit id -> (eta_s, route_m) as recommended, kept for timelines."""
    ensure_writable(ctx)
    require(ctx, "unit.write")
    if not unit_ids:
        raise DispatchError("请选择要派出的警力")
    if len(set(unit_ids)) != len(unit_ids):
        raise DispatchError("同一警力不能重复派出")
    estimates = estimates or {}
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = open_incident(s, incident_id)
        if inc.lon is None:
            raise DispatchError(f"警情 {incident_id} 尚未定位，请先确定地点再派警")
        ids = []
        for uid in unit_ids:
            unit = get_unit(s, uid)
            if unit.status != UnitStatus.AVAILABLE.value:
                where = f"（已派往警情 {unit.incident_id}）" if unit.incident_id else ""
                raise DispatchError(
                    f"{unit.callsign} 当前为「{UnitStatus(unit.status).label}」{where}，不能派出")
            check_unit_move(unit.callsign, UnitStatus.AVAILABLE, UnitStatus.DISPATCHED)
            eta, meters = estimates.get(uid, (None, None))
            s.add(AssignmentRow(incident_id=incident_id, unit_id=uid, dispatched_at=now,
                                eta_s=eta, route_m=meters))
            unit.status, unit.status_since, unit.incident_id = UnitStatus.DISPATCHED.value, now, incident_id
            ids.append(append_event(ctx, s, ev.UNIT_DISPATCHED, incident_id, uid,
                                    {"callsign": unit.callsign, "from": UnitStatus.AVAILABLE.value,
                                     "eta_s": eta, "route_m": meters}, at=now))
        if inc.status == IncidentStatus.PENDING.value:
            inc.status = IncidentStatus.DISPATCHED.value
        inc.updated_at = now
        return Changes(incidents=frozenset({incident_id}), units=frozenset(unit_ids),
                       last_event_id=ids[-1], incident_id=incident_id, event_ids=tuple(ids))


def set_status(ctx: Context, unit_id: int, target: UnitStatus | str, note: str = "") -> Changes:
    """A unit's status move, checked against the unit state machine. Moving a
    committed unit to 空闲 clears its assignment; the first arrival puts the
    incident 处警中; the last unit stood down before arriving puts it back to 待派警."""
    ensure_writable(ctx)
    require(ctx, "unit.write")
    try:
        target = UnitStatus(target)
    except ValueError:
        raise DispatchError(f"未知的警力状态: {target}") from None
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        unit = get_unit(s, unit_id)
        current = UnitStatus(unit.status)
        if target is UnitStatus.DISPATCHED:
            raise DispatchError("「已派」只能通过派警产生")
        check_unit_move(unit.callsign, current, target)
        incident_id = unit.incident_id
        assignment = _current_assignment(s, unit_id) if current.committed else None
        kind = ev.UNIT_ACKNOWLEDGED if target is UnitStatus.ACKNOWLEDGED else ev.UNIT_STATUS
        payload = {"from": current.value, "to": target.value, "callsign": unit.callsign}
        if note:
            payload["note"] = note
        changed_incidents: set[int] = set()
        if assignment is not None:
            inc = s.get(IncidentRow, assignment.incident_id)
            if target is UnitStatus.ACKNOWLEDGED:
                assignment.acknowledged_at = now
            elif target is UnitStatus.EN_ROUTE:
                assignment.en_route_at = now
                if assignment.acknowledged_at is None:
                    assignment.acknowledged_at = now
            elif target is UnitStatus.ON_SCENE:
                assignment.arrived_at = now
                if inc.status == IncidentStatus.DISPATCHED.value:
                    inc.status = IncidentStatus.ON_SCENE.value
            elif target is UnitStatus.AVAILABLE:
                assignment.cleared_at = now
                unit.incident_id = None
                others = s.scalar(select(AssignmentRow.id).where(
                    AssignmentRow.incident_id == inc.id, AssignmentRow.cleared_at.is_(None),
                    AssignmentRow.id != assignment.id).limit(1))
                if others is None and inc.status == IncidentStatus.DISPATCHED.value:
                    inc.status = IncidentStatus.PENDING.value  # stood down before arriving
            inc.updated_at = now
            changed_incidents.add(inc.id)
        unit.status, unit.status_since = target.value, now
        eid = append_event(ctx, s, kind, incident_id, unit_id, payload, at=now)
        return Changes(incidents=frozenset(changed_incidents), units=frozenset({unit_id}),
                       last_event_id=eid, incident_id=incident_id, event_ids=(eid,))


def report_position(ctx: Context, unit_id: int, lon: float, lat: float, at: datetime | None = None,
                    speed: float | None = None, heading: float | None = None) -> Changes:
    """A position from the unit (the simulator, a manual fix): appended to positions and
    the unit's last position moved, through the AVL writer's path — it never bumps the
    unit's version, so a fix cannot make a seat's action fail as changed by another seat."""
    ensure_writable(ctx)
    require(ctx, "unit.write")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise DispatchError(f"坐标超出范围: {lon}, {lat}")
    at = at or ctx.clock.now()
    with ctx.store.reader() as s:
        get_unit(s, unit_id)
    write_batch(ctx.store, [Fix(unit_id, at, lon, lat, speed, heading)])
    return Changes(units=frozenset({unit_id}))


def _current_assignment(s: Session, unit_id: int) -> AssignmentRow | None:
    return s.scalar(select(AssignmentRow).where(AssignmentRow.unit_id == unit_id,
                                                AssignmentRow.cleared_at.is_(None))
                    .order_by(AssignmentRow.id.desc()).limit(1))
