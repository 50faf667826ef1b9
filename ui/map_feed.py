"""Turn core views into what the map pane draws (plain dicts)."""
from __future__ import annotations

from datetime import datetime

from dispatch.domain.duty import shown_status
from dispatch.domain.units import UnitSnapshot, UnitStatus, position_stale
from dispatch.services.queries import IncidentView


def unit_markers(units: list[UnitSnapshot], alerts: dict[int, str], now: datetime | None = None,
                 tz: str = "Asia/Shanghai", stale_after_s: float | None = None) -> list[dict]:
    """Markers for the units logged on; a unit outside its duty windows is 不在岗 (grey),
    by the same rule as the board and the recommendation. A unit whose terminal or manual
    fix is older than its kind's limit (or `stale_after_s` for every kind) is marked stale
    (drawn faded)."""
    out = []
    for u in units:
        if u.status is UnitStatus.OFF_DUTY:
            continue
        st = shown_status(u, now, tz) if now is not None else u.status
        stale = now is not None and position_stale(u, now, stale_after_s)
        out.append({"id": u.id, "callsign": u.callsign, "kind": u.kind.value, "status": st.value,
                    "lon": u.lon, "lat": u.lat, "alert": u.id in alerts, "stale": stale,
                    "label": f"{u.callsign} {u.kind.label} · {st.label}"
                    + (f" · {alerts[u.id]}" if u.id in alerts else "") + (" · 定位已过时" if stale else "")})
    return out


def incident_markers(views: list[IncidentView]) -> list[dict]:
    return [{"id": v.id, "status": v.status.value, "priority": v.priority, "lon": v.lon, "lat": v.lat,
             "label": f"警情 {v.id} · {v.status.label} · {v.place_name}"}
            for v in views if v.lon is not None]


def build_console_basemap(app) -> dict:  # noqa: ANN001 (dispatch.bootstrap.App)
    """Roads from the database's OSM file, plus its grids and stations."""
    from dispatch.geo.basemap import cached_basemap
    from dispatch.geo.grids import grid_geometry
    from dispatch.services.queries import grids, stations

    basemap = cached_basemap(app.roads_osm, app.settings.cache_dir)
    with app.session() as s:
        basemap["grids"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": g.id, "name": g.name},
             "geometry": grid_geometry(g.polygon)} for g in grids(s)]}
        basemap["stations"] = [{"name": st.name, "kind": st.kind, "lon": st.lon, "lat": st.lat}
                               for st in stations(s)]
    return basemap
