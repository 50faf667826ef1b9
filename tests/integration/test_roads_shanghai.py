"""The road graph and the recommendation on the real Shanghai (Huangpu) OSM roads."""
from __future__ import annotations

import heapq
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.coords import haversine_m
from dispatch.geo.recommend import recommend
from dispatch.geo.roads import RoadGraph, load_or_build
from dispatch.geo.osm import read_osm

OSM = Path(__file__).resolve().parents[2] / "resources" / "demo" / "shanghai-huangpu.osm"
NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> RoadGraph:
    return load_or_build(OSM, tmp_path_factory.mktemp("roads"))


def forward_edges(g: RoadGraph, mode: Travel) -> dict[int, list[tuple[int, float]]]:
    """Forward adjacency a -> [(b, seconds)] read back from the stored reversed CSR."""
    rev = g.modes[mode].rev
    adj: dict[int, list[tuple[int, float]]] = {}
    for head in range(rev.shape[0]):
        for k in range(rev.indptr[head], rev.indptr[head + 1]):
            adj.setdefault(int(rev.indices[k]), []).append((head, float(rev.data[k])))
    return adj


def heap_dijkstra(adj, source: int) -> dict[int, float]:
    """Textbook Dijkstra with heapq: seconds from source to every reachable node."""
    dist = {source: 0.0}
    heap = [(0.0, source)]
    while heap:
        d, x = heapq.heappop(heap)
        if d > dist[x]:
            continue
        for y, w in adj.get(x, ()):
            nd = d + w
            if nd < dist.get(y, float("inf")):
                dist[y] = nd
                heapq.heappush(heap, (nd, y))
    return dist


def test_graph_from_the_real_roads(graph):
    osm = read_osm(OSM)
    assert 1000 < graph.node_count < len(osm.nodes)
    b = graph.bounds
    assert 121.46 < b[0] < b[2] < 121.49 and 31.22 < b[1] < b[3] < 31.242
    # every one-way segment of the kept graph exists for cars in one direction only
    index = {(round(lo, 7), round(la, 7)): i for i, (lo, la) in enumerate(zip(graph.lon, graph.lat))}
    adj = forward_edges(graph, Travel.CAR)
    checked = 0
    for w in osm.drivable_ways():
        if w.tags.get("oneway") != "yes":
            continue
        for a, c in zip(w.node_ids, w.node_ids[1:]):
            ia = index.get(tuple(round(x, 7) for x in osm.nodes[a]))
            ic = index.get(tuple(round(x, 7) for x in osm.nodes[c]))
            if ia is None or ic is None:
                continue
            fwd = any(y == ic for y, _ in adj.get(ia, ()))
            back = any(y == ia for y, _ in adj.get(ic, ()))
            two_way_elsewhere = any(  # the same pair of nodes on another, two-way way
                x.tags.get("oneway") != "yes" and a in x.node_ids and c in x.node_ids
                for x in osm.drivable_ways())
            assert fwd
            if not two_way_elsewhere:
                assert not back
            checked += 1
    assert checked > 500


@pytest.mark.parametrize("mode", list(Travel))
def test_routes_equal_an_independent_dijkstra(graph, mode):
    adj = forward_edges(graph, mode)
    rng = np.random.default_rng(3)
    nodes = graph.modes[mode].nodes
    ground = np.intersect1d(nodes, graph.modes[Travel.FOOT].nodes)  # where an incident can be
    for _ in range(15):
        a, b = int(rng.choice(nodes)), int(rng.choice(ground))
        if a == b:
            continue
        ref = heap_dijkstra(adj, a)[b]
        pa = (float(graph.lon[a]), float(graph.lat[a]))
        pb = (float(graph.lon[b]), float(graph.lat[b]))
        r = graph.route(mode, pa, pb)
        assert r.road_seconds == pytest.approx(ref, rel=1e-9)
        assert r.nodes[0] == a and r.nodes[-1] == b
        # the path is made of real edges whose times add up to the route's time
        total = sum(min(w for y, w in adj[x] if y == z) for x, z in zip(r.nodes, r.nodes[1:]))
        assert total == pytest.approx(ref, rel=1e-9)
        legs = sum(haversine_m(graph.lon[x], graph.lat[x], graph.lon[z], graph.lat[z])
                   for x, z in zip(r.nodes, r.nodes[1:]))
        assert r.road_meters == pytest.approx(legs, rel=1e-9)


def _car(i, node, g) -> UnitSnapshot:
    lon, lat = float(g.lon[node]), float(g.lat[node])
    return UnitSnapshot(i, f"沪A{i:03d}", UnitKind.PATROL_CAR, UnitStatus.AVAILABLE, lon, lat,
                        NOON - timedelta(seconds=30), lon, lat)


def test_recommendation_etas_equal_an_independent_dijkstra(graph):
    adj = forward_edges(graph, Travel.CAR)
    rng = np.random.default_rng(8)
    nodes = rng.choice(graph.node_count, 25, replace=False)
    units = [_car(i + 1, int(n), graph) for i, n in enumerate(nodes)]
    for target in rng.choice(graph.modes[Travel.FOOT].nodes, 5, replace=False):  # (incidents are on the ground)
        at = (float(graph.lon[target]), float(graph.lat[target]))
        rec = recommend(graph, units, at, None, NOON, limit=5)
        ref = sorted((heap_dijkstra(adj, int(n)).get(int(target), np.inf), i + 1) for i, n in enumerate(nodes))
        assert [r.unit_id for r in rec.ranked] == [i for _, i in ref[:5]]
        for r, (secs, _) in zip(rec.ranked, ref):
            assert r.eta_s == pytest.approx(secs, abs=1e-6)  # units and incident sit on nodes


def test_straight_line_nearest_is_not_first(graph):
    """Find in the data an incident where the unit nearest as the crow flies arrives
    after one farther away (one-way streets, elevated roads), and check the ranking."""
    adj = forward_edges(graph, Travel.CAR)
    rng = np.random.default_rng(1)
    found = None
    for target in rng.choice(graph.node_count, 200, replace=False):
        target = int(target)
        tl = (float(graph.lon[target]), float(graph.lat[target]))
        near = np.argsort(np.hypot(graph.lon - tl[0], graph.lat - tl[1]))
        a, b = int(near[8]), int(near[40])  # a is clearly nearer than b
        da, db = (haversine_m(graph.lon[x], graph.lat[x], *tl) for x in (a, b))
        ta, tb = heap_dijkstra(adj, a)[target], heap_dijkstra(adj, b)[target]
        if da < 0.6 * db and ta > tb + 60:
            found = (target, a, b, da, db, ta, tb)
            break
    assert found, "no such case in the data"
    target, a, b, da, db, ta, tb = found
    at = (float(graph.lon[target]), float(graph.lat[target]))
    rec = recommend(graph, [_car(1, a, graph), _car(2, b, graph)], at, None, NOON)
    assert [r.unit_id for r in rec.ranked] == [2, 1]
    assert rec.ranked[1].straight_m < rec.ranked[0].straight_m
    assert rec.ranked[0].eta_s == pytest.approx(tb) and rec.ranked[1].eta_s == pytest.approx(ta)


def test_elevated_road_is_used_by_cars_only(graph):
    """Cars use the elevated roads (延安高架/南北高架); e-bikes never route over them."""
    osm = read_osm(OSM)
    elevated = {n for w in osm.drivable_ways() if w.highway.startswith("trunk")
                and w.tags.get("bridge") == "yes" for n in w.node_ids}
    ground = {n for w in osm.drivable_ways() if not (w.highway.startswith("trunk")
              and w.tags.get("bridge") == "yes") for n in w.node_ids}
    only_up = elevated - ground
    coords = {osm.nodes[n] for n in only_up}
    up = {i for i, p in enumerate(zip(graph.lon, graph.lat)) if p in coords}
    assert up
    assert not up & set(graph.modes[Travel.EBIKE].nodes.tolist())
    rng = np.random.default_rng(2)
    for _ in range(60):
        a, b = rng.choice(graph.modes[Travel.EBIKE].nodes, 2, replace=False)
        pa, pb = (graph.lon[a], graph.lat[a]), (graph.lon[b], graph.lat[b])
        assert not set(graph.route(Travel.EBIKE, pa, pb).nodes) & up
    # between two nodes of the elevated road a car stays up there (an incident is never
    # up there: graph.route ends on the ground, see the test below)
    from dispatch.geo.routing import route_search
    ups = sorted(up)
    on_top = 0
    for _ in range(20):
        a, b = rng.choice(ups, 2, replace=False)
        _secs, nodes = route_search(graph, Travel.CAR, int(b), int(a))
        on_top += bool(nodes) and set(nodes) <= up
    assert on_top > 0


def test_an_incident_above_a_tunnel_is_reached_on_the_road_above(graph):
    """外滩隧道 runs under 中山东一路 (OSM tunnel=yes, primary): a place on the Bund is
    on the road, not in the tunnel; a car routed into the tunnel would come out a
    kilometre away. The tunnel is no road for e-bikes or people on foot either."""
    from dispatch.geo.roads import MODES
    car = graph.modes[Travel.CAR]
    on_ground = np.zeros(graph.node_count, bool)
    on_ground[graph.modes[Travel.FOOT].nodes] = True
    tunnel = np.flatnonzero(~on_ground)
    assert len(tunnel) > 20  # the Bund's, 人民路's and 延安东路's tunnels, elevated roads
    lon, lat = graph.lon[tunnel], graph.lat[tunnel]
    plain, _ = graph.snap_many(Travel.CAR, lon, lat)
    assert (plain == tunnel).all()  # a unit (in the tunnel) is where it is
    nodes, dist = graph.snap_modes(np.full(len(tunnel), MODES.index(Travel.CAR)), lon, lat, ground=True)
    assert on_ground[nodes].all() and (dist > 0).all()
    assert len(car.nodes) == graph.node_count
    # the point of the QA report: on the Bund by 外滩隧道's south portal
    node, d = graph.snap_ground(Travel.CAR, 121.484604, 31.2337967)
    assert on_ground[node[0]] and d[0] < 60
