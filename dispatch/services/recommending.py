"""推荐警力: rank units for an incident by road travel time, and log what was shown."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import category as find_category
from dispatch.services.calls import get_incident
from dispatch.services.context import Context, append_event, require
from dispatch.services.queries import unit_snapshots

if TYPE_CHECKING:
    from dispatch.geo.recommend import Recommendation


def recommend_for(ctx: Context, roads_provider: Callable[[], Any], incident_id: int, limit: int = 5,
                  stale_after_s: float = 300.0, tz: str = "Asia/Shanghai", log: bool = True) -> Recommendation:
    """Recommendation for a located incident, using its category. When `log`, a
    unit.recommended event records what the call-taker was shown."""
    from dispatch.geo.recommend import recommend

    if log and not ctx.read_only:
        require(ctx, "incident.write")  # the logged recommendation is a write (a trainer's on live: no)
    with ctx.store.reader() as s:
        inc = get_incident(s, incident_id)
        if inc.lon is None or inc.lat is None:
            raise DispatchError(f"警情 {incident_id} 尚未定位，无法推荐警力")
        cat = find_category(inc.category) if inc.category else None
        units = unit_snapshots(s)
        at = (inc.lon, inc.lat)
    result = recommend(roads_provider(), units, at, cat, ctx.clock.now(), limit=limit,
                       stale_after_s=stale_after_s, tz=tz)
    if log and not ctx.read_only:
        with ctx.store.transaction() as s:
            append_event(ctx, s, ev.UNIT_RECOMMENDED, incident_id, payload={
                "category": cat.code if cat else None,
                "ranked": [{"unit_id": r.unit_id, "callsign": r.callsign, "eta_s": round(r.eta_s, 1),
                            "route_m": round(r.route_m, 1)} for r in result.ranked]})
    return result
