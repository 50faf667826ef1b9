"""What the call-taker should know about a located place, as rules of the core: its grid
(网格吹哨、警格报到: the grid's leader, members and community officer), open incidents close
by in space and time (maybe the same event: 重复报警) and the place's recent history
(premise history). Read-only; the screens format it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dispatch.services.queries import IncidentView, incidents_near
from dispatch.store.schema import GridRow, UnitRow

DUPLICATE_RADIUS_M, DUPLICATE_WINDOW = 300.0, timedelta(hours=2)
HISTORY_RADIUS_M, HISTORY_WINDOW = 150.0, timedelta(days=30)
MAX_DUPLICATES = 3


@dataclass(frozen=True)
class GridView:
    """A 网格 with the people to tell: its leader, members and 警格 community officer."""

    id: str
    name: str
    leader: str
    members: tuple[tuple[str, str], ...]  # (name, role)
    officer_callsign: str | None


@dataclass(frozen=True)
class PlaceContext:
    grid: GridView | None
    possible_duplicates: tuple[IncidentView, ...]  # open, within 300 m and 2 hours, newest first
    closed_nearby: tuple[IncidentView, ...]        # closed, within 150 m and 30 days, newest first


def grid_view(s: Session, grid_id: str | None) -> GridView | None:
    g = s.get(GridRow, grid_id) if grid_id else None
    if g is None:
        return None
    u = s.get(UnitRow, g.police_unit_id) if g.police_unit_id else None
    return GridView(g.id, g.name, g.leader, tuple((m.get("name", ""), m.get("role", "")) for m in g.members or []),
                    u.callsign if u else None)


def place_context(s: Session, view: IncidentView, now: datetime) -> PlaceContext:
    """The grid, the possible duplicates and the premise history of a located incident."""
    if view.lon is None or view.lat is None:
        return PlaceContext(grid_view(s, view.grid_id), (), ())
    recent = incidents_near(s, view.lon, view.lat, DUPLICATE_RADIUS_M, now - DUPLICATE_WINDOW, view.id)
    history = incidents_near(s, view.lon, view.lat, HISTORY_RADIUS_M, now - HISTORY_WINDOW, view.id)
    return PlaceContext(grid_view(s, view.grid_id),
                        tuple(v for v in recent if v.status.open)[:MAX_DUPLICATES],
                        tuple(v for v in history if not v.status.open))
