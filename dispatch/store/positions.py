"""Unit positions as the store writes them: the append-only `positions` rows and each
unit's last position (units.lon/lat/position_at/position_source), in one transaction of
SQLAlchemy Core statements that never touch `units.version` — a fix can never make a
dispatcher's action fail as "changed by another seat". The last position only moves
forward in time (a fix at the same instant replaces it), so a late or replayed fix
cannot pull a unit back."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, or_, update

from dispatch.store.db import Store
from dispatch.store.schema import PositionRow, UnitRow

POSITION_SOURCES = ("post", "avl", "manual")


@dataclass(frozen=True, slots=True)
class Fix:
    """One accepted position of a unit, WGS-84, time in UTC."""

    unit_id: int
    at: datetime
    lon: float
    lat: float
    speed_kmh: float | None = None
    heading: float | None = None
    source: str = "avl"



_units = cast(Table, UnitRow.__table__)
_at = bindparam("b_at", type_=_units.c.position_at.type)
# moves the unit only forward in time (a fix at the same instant replaces it); `version` is not in the SET list on purpose
_LAST_POSITION = (
    update(_units)
    .where(_units.c.id == bindparam("b_id"), or_(_units.c.position_at.is_(None), _units.c.position_at <= _at))
    .values(lon=bindparam("b_lon"), lat=bindparam("b_lat"), position_at=_at, position_source=bindparam("b_source")))


def write_batch(store: Store, fixes: Sequence[Fix]) -> None:
    """Append `fixes` to positions and move each unit to its newest fix, in one transaction."""
    if not fixes:
        return
    newest: dict[int, Fix] = {}
    for f in fixes:
        cur = newest.get(f.unit_id)
        if cur is None or f.at > cur.at:
            newest[f.unit_id] = f
    with store.engine.begin() as conn:
        conn.execute(insert(PositionRow),
                     [{"unit_id": f.unit_id, "at": f.at, "lon": f.lon, "lat": f.lat,
                       "speed": f.speed_kmh, "heading": f.heading} for f in fixes])
        conn.execute(_LAST_POSITION, [{"b_id": f.unit_id, "b_at": f.at, "b_lon": f.lon, "b_lat": f.lat,
                                       "b_source": f.source} for f in newest.values()])
