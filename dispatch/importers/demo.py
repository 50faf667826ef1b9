"""The bundled demo: central Shanghai from real OpenStreetMap roads, demo stations
at real road junctions, a demo roster, a lattice of demo grids, and the gazetteer
(every named road, every junction of two named roads, sourced landmarks)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from dispatch.geo.coords import haversine_m
from dispatch.geo.grids import lattice
from dispatch.geo.osm import osm_bounds, read_osm
from dispatch.importers.roster import import_roster, import_stations
from dispatch.settings import RESOURCES
from dispatch.store.db import Store
from dispatch.store.schema import GridRow, MetaRow, UnitRow

DEMO = RESOURCES / "demo"
DEMO_OSM = DEMO / "shanghai-huangpu.osm"
DEMO_ADMIN = ["上海市", "黄浦区"]
GRID_CELL_M = 400.0


def is_loaded(store: Store) -> bool:
    with store.reader() as s:
        return s.get(MetaRow, "dataset") is not None


def load_demo(store: Store, now: datetime) -> None:
    """Load the demo into an empty database, in one transaction."""
    from dispatch.importers.gazetteer_osm import import_osm_places
    from dispatch.importers.places_csv import import_csv_places

    osm = read_osm(DEMO_OSM)
    with store.transaction() as s:
        stations = import_stations(s, DEMO / "stations.csv", osm)
        import_roster(s, DEMO / "roster.csv", stations, now)
        s.flush()
        community = [(u.id, u.home_lon, u.home_lat, u.callsign) for u in
                     s.scalars(select(UnitRow).where(UnitRow.kind == "community"))]
        for gid, ring in lattice(osm_bounds(osm), GRID_CELL_M):
            cx = sum(p[0] for p in ring[:4]) / 4
            cy = sum(p[1] for p in ring[:4]) / 4
            officer = min(community, key=lambda c: haversine_m(cx, cy, c[1], c[2]), default=None)
            s.add(GridRow(id=gid, name=f"示范网格{gid}", polygon=ring, leader=f"网格长{gid}（示范）",
                          members=[{"name": f"网格员{gid}-1（示范）", "role": "网格员"},
                                   {"name": f"网格员{gid}-2（示范）", "role": "网格员"},
                                   {"name": f"平安志愿者{gid}（示范）", "role": "志愿者联络人"}],
                          police_unit_id=officer[0] if officer else None))
        import_osm_places(s, osm, admin=DEMO_ADMIN, source="OpenStreetMap")
        import_csv_places(s, DEMO / "landmarks.csv")
        s.add(MetaRow(key="dataset", value="demo:shanghai-huangpu"))
        s.add(MetaRow(key="roads_osm", value="resources:demo/shanghai-huangpu.osm"))
