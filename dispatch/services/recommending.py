"""推荐警力: rank units for an incident by road travel time, and log what was shown.

F5 reads every unit each time (positions move every second): as plain rows of the
columns the ranking reads (one Core select, no ORM object and no snapshot per unit),
turned into UnitColumns with each distinct kind, status and duty text converted once."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.incidents import category as find_category
from dispatch.domain.units import DutyWindow, UnitKind, UnitStatus
from dispatch.services.calls import get_incident
from dispatch.services.context import Context, append_event, require
from dispatch.store.schema import UnitRow

if TYPE_CHECKING:
    from dispatch.geo.recommend import Recommendation, UnitColumns

_KINDS = {k.value: k for k in UnitKind}
_STATUSES = {s.value: s for s in UnitStatus}


_UNIT_ROWS = select(UnitRow.id, UnitRow.callsign, UnitRow.kind, UnitRow.status, UnitRow.lon, UnitRow.lat,
                    UnitRow.position_at, UnitRow.home_lon, UnitRow.home_lat, cast(UnitRow.duty, String),
                    UnitRow.incident_id).order_by(UnitRow.id)  # built once: keeps its cache key


def unit_rows(s: Session) -> Sequence[Sequence[Any]]:
    """Every unit as (id, callsign, kind, status, lon, lat, position_at, home_lon,
    home_lat, duty as its stored JSON text, incident_id), in id order."""
    return s.connection().execute(_UNIT_ROWS).all()  # Core rows: no ORM loading step


def _duty(text: str | None) -> tuple[DutyWindow, ...]:
    return tuple(DutyWindow.parse(w) for w in (json.loads(text) if text else None) or ())


def unit_columns(rows: Sequence[Sequence[Any]]) -> UnitColumns:
    """The rows of unit_rows as the recommendation's columns (the same units that
    queries.unit_snapshots gives, without building them)."""
    from dispatch.geo.recommend import UnitColumns

    if not rows:
        return UnitColumns([], [], [], [], [], [], [], [], [], [], [])
    ids, calls, kinds, statuses, lon, lat, at, hlon, hlat, duty, inc = map(list, zip(*rows))
    duty_of = {text: _duty(text) for text in set(duty)}
    first = next((t for t in at if t is not None), None)
    return UnitColumns(ids, calls, list(map(_KINDS.__getitem__, kinds)),
                       list(map(_STATUSES.__getitem__, statuses)), lon, lat, at, hlon, hlat,
                       list(map(duty_of.__getitem__, duty)), inc,
                       naive_utc=first is not None and first.tzinfo is None)  # SQLite: naive UTC, kept as is


def recommend_for(ctx: Context, roads_provider: Callable[[], Any], incident_id: int, limit: int = 5,
                  stale_after_s: float | None = None, tz: str = "Asia/Shanghai", log: bool = True) -> Recommendation:
    """Recommendation for a located incident, using its category. When `log`, a
    unit.recommended event records what the call-taker was shown."""
    from dispatch.geo.recommend import recommend

    if log and not ctx.read_only:
        require(ctx, "incident.write")  # the logged recommendation is a write (a trainer's on live: no)
    with ctx.store.reader() as s:
        inc = get_incident(s, incident_id)
        if log and inc.status == IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 已结警，不能再推荐和派警")  # nothing logged on it
        if inc.lon is None or inc.lat is None:
            raise DispatchError(f"警情 {incident_id} 尚未定位，无法推荐警力")
        cat = find_category(inc.category) if inc.category else None
        rows = unit_rows(s)
        at = (inc.lon, inc.lat)
    now: datetime = ctx.clock.now()
    result = recommend(roads_provider(), unit_columns(rows), at, cat, now, limit=limit,
                       stale_after_s=stale_after_s, tz=tz)
    if log and not ctx.read_only:
        with ctx.store.transaction() as s:
            append_event(ctx, s, ev.UNIT_RECOMMENDED, incident_id, payload={
                "category": cat.code if cat else None,
                "ranked": [{"unit_id": r.unit_id, "callsign": r.callsign, "eta_s": round(r.eta_s, 1),
                            "route_m": round(r.route_m, 1)} for r in result.ranked]})
    return result
