"""What the simulator needs around it: places to call from, a router, and (for tests
and benchmarks) a database with stations and a roster but without the gazetteer."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from dispatch.domain.units import Travel, UnitKind
from dispatch.geo.coords import haversine_m
from dispatch.geo.osm import OsmData, osm_bounds, read_osm
from dispatch.services.locations import Location
from dispatch.store.db import Store
from dispatch.store.schema import GridRow, MetaRow, PlaceRow

# Road speeds of the straight-line router (m/s), about what the road graph gives in town.
STRAIGHT_SPEED = {Travel.CAR: 25 / 3.6, Travel.EBIKE: 15 / 3.6, Travel.FOOT: 4.5 / 3.6}
DETOUR = 1.3  # streets are not straight lines


@dataclass(frozen=True)
class SimRoute:
    """The part of a route the simulator uses (dispatch.geo.roads.Route has the same)."""

    coords: list[tuple[float, float]]
    seconds: float
    meters: float
    extra: dict = field(default_factory=dict, compare=False)


class StraightRouter:
    """A cheap router: a straight line, 30% detour, a typical town speed per mode.
    For benchmarks and tests that must not depend on the road graph."""

    def route(self, mode: Travel, a: tuple[float, float], b: tuple[float, float]) -> SimRoute:
        meters = haversine_m(a[0], a[1], b[0], b[1]) * DETOUR
        return SimRoute([(a[0], a[1]), (b[0], b[1])], meters / STRAIGHT_SPEED[mode], meters)


class RoadRouter:
    """Routes along the OSM road graph (dispatch.geo.roads.RoadGraph)."""

    def __init__(self, graph) -> None:  # noqa: ANN001
        self.graph = graph
        self._fallback = StraightRouter()

    def route(self, mode: Travel, a: tuple[float, float], b: tuple[float, float]):
        from dispatch.domain.errors import DispatchError
        try:
            return self.graph.route(mode, a, b)
        except DispatchError:
            return self._fallback.route(mode, a, b)


def places_from_osm(osm: OsmData, limit: int | None = None) -> list[Location]:
    """Junctions of two differently named roads, named the way call-takers write them."""
    names: dict[int, set[str]] = {}
    for w in osm.drivable_ways():
        if w.name:
            for n in w.node_ids:
                names.setdefault(n, set()).add(w.name)
    out = []
    for node, roads in sorted(names.items()):
        if len(roads) >= 2 and node in osm.nodes:
            a, b = sorted(roads)[:2]
            lon, lat = osm.nodes[node]
            out.append(Location(f"{a}与{b}交叉口", lon, lat, "intersection", ["上海市", "黄浦区"],
                                source=f"OpenStreetMap node {node}"))
    seen: Counter = Counter()
    unique = []
    for p in out:  # one point per junction name
        seen[p.name] += 1
        if seen[p.name] == 1:
            unique.append(p)
    return unique[:limit] if limit else unique


def places_from_db(store: Store, limit: int | None = None) -> list[Location]:
    """Points of the gazetteer (when the demo with its gazetteer is loaded)."""
    with store.reader() as s:
        q = select(PlaceRow).where(PlaceRow.lon.is_not(None), PlaceRow.precision == "point")
        places = [Location(r.name, r.lon, r.lat, r.kind, list(r.admin or ()), source=r.source)
                  for r in s.scalars(q.order_by(PlaceRow.id)) if r.lon is not None and r.lat is not None]
    return places[:limit] if limit else places


def load_roster_demo(store: Store, now: datetime, osm_path: Path) -> OsmData:
    """Stations, the demo roster and the demo grids, without the gazetteer (tests)."""
    from dispatch.geo.grids import lattice
    from dispatch.importers.demo import DEMO, GRID_CELL_M
    from dispatch.importers.roster import import_roster, import_stations

    osm = read_osm(osm_path)
    with store.transaction() as s:
        stations = import_stations(s, DEMO / "stations.csv", osm)
        import_roster(s, DEMO / "roster.csv", stations, now)
        for gid, ring in lattice(osm_bounds(osm), GRID_CELL_M):
            s.add(GridRow(id=gid, name=f"示范网格{gid}", polygon=ring, members=[]))
        s.add(MetaRow(key="roads_osm", value=str(osm_path)))
    return osm


def add_synthetic_units(store: Store, count: int, places: list[Location], now: datetime,
                        seed: int = 0) -> None:
    """A large synthetic roster (benchmarks): patrol cars, e-bikes and foot patrols at
    random junctions."""
    from dispatch.importers.roster import add_unit

    rng = random.Random(seed)
    kinds = [UnitKind.PATROL_CAR] * 5 + [UnitKind.EBIKE_PATROL] * 3 + [UnitKind.FOOT_PATROL] * 2
    with store.transaction() as s:
        for i in range(count):
            p = rng.choice(places)
            kind = kinds[i % len(kinds)]
            add_unit(s, now, callsign=f"模拟{i + 1:04d}", kind=kind.value, lon=p.lon, lat=p.lat,
                     station=p.name[:64], duty=[], members=2)
