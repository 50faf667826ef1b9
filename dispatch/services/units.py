"""Seat actions on units: dispatch (派警), status moves (签收/出发/到场/空闲), positions."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from dispatch.domain.decide import decide_dispatch, decide_unit_status, parse_unit_status
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.geo.coords import check_in_china
from dispatch.services.context import Changes, Context, ensure_writable, instant, require, retried
from dispatch.services.projection_rows import IncidentProjection, record, unit_facts
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
    return _dispatch(ctx, incident_id, unit_ids, estimates)


@retried
def _dispatch(ctx: Context, incident_id: int, unit_ids: Sequence[int],
              estimates: dict[int, tuple[float, float]] | None) -> Changes:
    with ctx.store.transaction(appends=True, lock_late=True) as s:
        p = IncidentProjection.load(s, incident_id)
        units = [get_unit(s, uid) for uid in unit_ids]
        drafts = decide_dispatch(p.state, [unit_facts(u) for u in units], estimates)
        ids = record(ctx, s, instant(ctx, s), drafts, [p], units)
        return Changes(incidents=frozenset({incident_id}), units=frozenset(unit_ids),
                       last_event_id=ids[-1], incident_id=incident_id, event_ids=tuple(ids))


def set_status(ctx: Context, unit_id: int, target: UnitStatus | str, note: str = "",
               fix: dict[str, Any] | None = None) -> Changes:
    """A unit's status move, checked against the unit state machine (and the incident's:
    the first arrival puts the incident 处警中, the last unit stood down before arriving
    puts it back to 待派警). Moving a committed unit to 空闲 clears its assignment."""
    ensure_writable(ctx)
    require(ctx, "unit.write")
    return _set_status(ctx, unit_id, parse_unit_status(target), note, fix)


@retried
def _set_status(ctx: Context, unit_id: int, target: UnitStatus, note: str, fix: dict[str, Any] | None) -> Changes:
    with ctx.store.transaction(appends=True, lock_late=True) as s:
        unit, incident, assignments = _unit_and_incident(s, unit_id)
        facts = unit_facts(unit)
        p = IncidentProjection(s, incident, assignments) if facts.status.committed and incident else None
        drafts = decide_unit_status(facts, target, note, p.state if p else None, fix)
        ids = record(ctx, s, instant(ctx, s), drafts, [p] if p else [], [unit])
        return Changes(incidents=frozenset({p.row.id} if p else ()), units=frozenset({unit_id}),
                       last_event_id=ids[-1], incident_id=facts.incident_id, event_ids=tuple(ids))


def report_position(ctx: Context, unit_id: int, lon: float, lat: float, at: datetime | None = None,
                    speed: float | None = None, heading: float | None = None) -> Changes:
    """A position from the unit (the simulator, a manual fix): appended to positions and
    the unit's last position moved, through the AVL writer's path — it never bumps the
    unit's version, so a fix cannot make a seat's action fail as changed by another seat."""
    ensure_writable(ctx)
    require(ctx, "unit.write")
    check_in_china(lon, lat, "警力位置")
    at = at or ctx.clock.now()
    with ctx.store.reader() as s:
        get_unit(s, unit_id)
    write_batch(ctx.store, [Fix(unit_id, at, lon, lat, speed, heading)])
    return Changes(units=frozenset({unit_id}))


_current = aliased(AssignmentRow)
# Built once (see projection_rows): the unit, the incident of its open assignment and all
# of that incident's assignments, in one round trip. Ordered by the open assignment's id
# first: were there ever two (the state machines forbid it), the newest one counts.
_UNIT_AND_INCIDENT = (select(UnitRow, IncidentRow, AssignmentRow, _current.id)
                      .select_from(UnitRow)
                      .outerjoin(_current, (_current.unit_id == UnitRow.id) & _current.cleared_at.is_(None))
                      .outerjoin(IncidentRow, IncidentRow.id == _current.incident_id)
                      .outerjoin(AssignmentRow, AssignmentRow.incident_id == IncidentRow.id)
                      .where(UnitRow.id == bindparam("unit_id"))
                      .order_by(_current.id.desc(), AssignmentRow.id))


def _unit_and_incident(s: Session, unit_id: int) -> tuple[UnitRow, IncidentRow | None, list[AssignmentRow]]:
    """The unit, the incident of its newest open assignment (None: none) and that
    incident's assignments in id order, in one query."""
    rows = s.execute(_UNIT_AND_INCIDENT, {"unit_id": unit_id}).all()
    if not rows:
        raise DispatchError(f"警力 {unit_id} 不存在")
    newest = rows[0][3]
    return rows[0][0], rows[0][1], [r[2] for r in rows if r[3] == newest and r[2] is not None]
