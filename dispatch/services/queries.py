"""Read models for the screens and the command line: incidents with their
assignments, unit snapshots, grids, stations. Reads only."""
from __future__ import annotations

from dataclasses import dataclass, field
import math
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain.events import Event
from dispatch.domain.evolve import Assignment
from dispatch.domain.incidents import IncidentStatus
from dispatch.geo.coords import haversine_m
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus, fix_is_current
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import AssignmentRow, GridRow, IncidentRow, StationRow, UnitRow


def _utc(v: datetime | None) -> datetime | None:
    return as_utc(v) if v is not None else None


AssignmentView = Assignment  # a unit sent to an incident: the domain's shape, on screen too


@dataclass(frozen=True)
class IncidentView:
    id: int
    status: IncidentStatus
    received_at: datetime
    updated_at: datetime
    caller_number: str
    caller_name: str
    place_text: str
    place_name: str
    place_kind: str
    place_admin: list[str]
    qualifier: str
    lon: float | None
    lat: float | None
    grid_id: str | None
    category: str
    priority: str
    narrative: str
    result_code: str
    close_note: str
    closed_at: datetime | None
    seat: str
    operator: str
    version: int
    assignments: tuple[AssignmentView, ...] = field(default=())

    @property
    def located(self) -> bool:
        return self.lon is not None


def _incident_view(row: IncidentRow, assignments: list[AssignmentView]) -> IncidentView:
    return IncidentView(
        id=row.id, status=IncidentStatus(row.status), received_at=as_utc(row.received_at),
        updated_at=as_utc(row.updated_at), caller_number=row.caller_number,
        caller_name=row.caller_name, place_text=row.place_text, place_name=row.place_name,
        place_kind=row.place_kind, place_admin=list(row.place_admin or []), qualifier=row.qualifier,
        lon=row.lon, lat=row.lat, grid_id=row.grid_id, category=row.category, priority=row.priority,
        narrative=row.narrative, result_code=row.result_code, close_note=row.close_note,
        closed_at=_utc(row.closed_at), seat=row.seat, operator=row.operator, version=row.version,
        assignments=tuple(assignments))


def _assignments(s: Session, incident_ids: list[int]) -> dict[int, list[AssignmentView]]:
    out: dict[int, list[AssignmentView]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    q = (select(AssignmentRow, UnitRow.callsign).join(UnitRow, UnitRow.id == AssignmentRow.unit_id)
         .where(AssignmentRow.incident_id.in_(incident_ids)).order_by(AssignmentRow.id))
    for a, callsign in s.execute(q):
        out[a.incident_id].append(AssignmentView(
            a.unit_id, callsign, as_utc(a.dispatched_at), _utc(a.acknowledged_at), _utc(a.en_route_at),
            _utc(a.arrived_at), _utc(a.cleared_at), a.eta_s, a.route_m))
    return out


def open_incidents(s: Session) -> list[IncidentView]:
    """Pending and active incidents, oldest first."""
    rows = list(s.scalars(select(IncidentRow).where(IncidentRow.status != IncidentStatus.CLOSED.value)
                          .order_by(IncidentRow.received_at)))
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]


def recent_closed(s: Session, limit: int = 50) -> list[IncidentView]:
    rows = list(s.scalars(select(IncidentRow).where(IncidentRow.status == IncidentStatus.CLOSED.value)
                          .order_by(IncidentRow.closed_at.desc()).limit(limit)))
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]


def incident(s: Session, incident_id: int) -> IncidentView | None:
    row = s.get(IncidentRow, incident_id)
    if row is None:
        return None
    return _incident_view(row, _assignments(s, [incident_id])[incident_id])


def unit_snapshot(row: UnitRow) -> UnitSnapshot:
    return UnitSnapshot(
        id=row.id, callsign=row.callsign, kind=UnitKind(row.kind), status=UnitStatus(row.status),
        lon=row.lon, lat=row.lat, position_at=_utc(row.position_at), home_lon=row.home_lon,
        home_lat=row.home_lat, station=row.station,
        duty=tuple(DutyWindow.parse(w) for w in (row.duty or [])), incident_id=row.incident_id,
        leader=row.leader, phone=row.phone, status_since=_utc(row.status_since), members=row.members,
        terminal=row.terminal, position_source=row.position_source or "post")


def unit_json(u: UnitSnapshot, now: datetime, stale_after_s: float | None = None) -> dict[str, Any]:
    """A unit as `units --json` prints it. `stale`: no position, or one older than its
    kind's limit at `now` (domain.units; the recommendation then falls back to the post)."""
    at = u.position_at
    return {"id": u.id, "callsign": u.callsign, "kind": u.kind.value, "status": u.status.value,
            "lon": u.lon, "lat": u.lat, "station": u.station, "incident_id": u.incident_id,
            "duty": [str(w) for w in u.duty], "terminal": u.terminal,
            "position_at": at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if at else None,
            "position_source": u.position_source,
            "stale": not fix_is_current(u.kind, at, now, stale_after_s)}


def unit_snapshots(s: Session) -> list[UnitSnapshot]:
    return [unit_snapshot(r) for r in s.scalars(select(UnitRow).order_by(UnitRow.id))]


def grids(s: Session) -> list[GridRow]:
    return list(s.scalars(select(GridRow).order_by(GridRow.id)))


def stations(s: Session) -> list[StationRow]:
    return list(s.scalars(select(StationRow).order_by(StationRow.id)))


def incidents_near(s: Session, lon: float, lat: float, radius_m: float, since: datetime,
                   exclude_id: int | None = None, limit: int = 20) -> list[IncidentView]:
    """Incidents received since `since` within radius_m of a point, newest first: the
    premise history, and open ones that may be the same event (重复报警)."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    q = (select(IncidentRow)
         .where(IncidentRow.lon.between(lon - dlon, lon + dlon), IncidentRow.lat.between(lat - dlat, lat + dlat),
                IncidentRow.received_at >= since)
         .order_by(IncidentRow.received_at.desc()))
    rows = [r for r in s.scalars(q) if r.id != exclude_id and r.lon is not None and r.lat is not None
            and haversine_m(lon, lat, r.lon, r.lat) <= radius_m]
    rows = rows[:limit]
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]


def unit_track(s: Session, unit_id: int, since: datetime, until: datetime | None = None) -> list[tuple[float, float]]:
    """A unit's positions (lon, lat) from `since` up to `until` (default: all), oldest first:
    the track the map draws for a selected unit and in replay."""
    from dispatch.store.schema import PositionRow

    q = select(PositionRow.lon, PositionRow.lat).where(PositionRow.unit_id == unit_id, PositionRow.at >= since)
    if until is not None:
        q = q.where(PositionRow.at <= until)
    return [(lon, lat) for lon, lat in s.execute(q.order_by(PositionRow.at, PositionRow.id))]


def incident_events(s: Session, incident_id: int) -> list[Event]:
    """Every event of one incident in log order (its timeline)."""
    from dispatch.store import eventlog
    return eventlog.read(s, incident_id=incident_id)
