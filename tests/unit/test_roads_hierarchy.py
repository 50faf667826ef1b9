"""The contraction hierarchy of the car graph, and the recommendation on it, checked
against full Dijkstra runs (scipy) on generated cities: exact times, routes that are
real road paths of that time, and top-5 ETAs equal for few units (on the hierarchy)
and many (the resumable Dijkstra). The hierarchy is never built with the graph: only
explicitly, into its own cache file, which a load of the graph then finds."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo import contraction
from dispatch.geo.contraction import (CH_MIN_NODES, build, ensure_hierarchy, hierarchy_path,
                                      load_hierarchy, trivial)
from dispatch.geo.contraction_query import UpSpaces
from dispatch.geo.recommend import recommend
from dispatch.geo.roads import RoadGraph
from dispatch.geo.routing import CH_MAX
from dispatch.geo.synthetic_roads import generate_city
from dispatch.geo.warmup import _tiny_graph

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def plain():
    """A generated city as built: no hierarchy."""
    return generate_city(12_000, seed=5)


@pytest.fixture(scope="module")
def saved(plain, tmp_path_factory):
    path = tmp_path_factory.mktemp("roads") / "c.npz"
    plain.save(path)
    return path


@pytest.fixture(scope="module")
def city(saved):
    """The same city loaded from its cache, with its hierarchy built explicitly beside it."""
    graph = RoadGraph.load(saved)
    assert ensure_hierarchy(graph, saved.parent)
    return graph


def _exact(rev, up: UpSpaces, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for t in rng.integers(0, n, 4):
        true = dijkstra(rev, indices=int(t))  # every node's time to t
        up.backward(int(t))
        src = rng.integers(0, n, 40)
        src[0] = t
        times, entry = up.times(src)
        assert times == pytest.approx(true[src], rel=1e-9, abs=1e-9)
        for s, e, want in zip(src[:8].tolist(), entry[:8].tolist(), true[src[:8]].tolist()):
            path = up.path(s, e, int(t))
            assert path[0] == s and path[-1] == t
            # consecutive nodes are road edges (rev row = head) and their times add up
            legs = [rev[b, a] for a, b in zip(path[:-1], path[1:])]
            assert all(w > 0 for w in legs)
            assert sum(legs) == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("core", [None, 0, 500])
def test_hierarchy_times_equal_full_dijkstra(plain, core):
    assert plain.node_count >= CH_MIN_NODES  # the recommendation uses it on this city
    rev = plain.modes[Travel.CAR].rev
    ch = build(rev, core)
    assert ch.shortcuts > 0
    _exact(rev, UpSpaces(ch), plain.node_count, 11)


def test_hierarchy_with_nothing_contracted_is_exact():
    """The one warm-up compiles the query kernels on (dispatch.geo.warmup)."""
    graph = _tiny_graph()
    rev = graph.modes[Travel.CAR].rev
    ch = trivial(rev)
    assert ch.shortcuts == 0
    _exact(rev, UpSpaces(ch), graph.node_count, 3)


def test_building_or_loading_the_graph_builds_no_hierarchy(plain, saved):
    assert all(mg.ch is None for mg in plain.modes.values())
    with np.load(saved) as z:
        assert not [k for k in z.files if "_ch_" in k]
    assert all(mg.ch is None for mg in RoadGraph.load(saved).modes.values())


def test_ensure_hierarchy_writes_its_file_and_a_load_finds_it(plain, saved, tmp_path, monkeypatch):
    graph = RoadGraph.load(saved)
    path = hierarchy_path(graph, tmp_path)
    assert path.parent == tmp_path and path == hierarchy_path(plain, tmp_path)  # same graph, same key
    assert not load_hierarchy(graph, tmp_path)  # absent: nothing attached, nothing built
    assert graph.modes[Travel.CAR].ch is None and not path.exists()
    assert ensure_hierarchy(graph, tmp_path)
    built = graph.modes[Travel.CAR].ch
    assert built is not None and path.is_file()
    assert graph.modes[Travel.EBIKE].ch is None

    def no_build(*_a, **_k):
        raise AssertionError("built again")
    monkeypatch.setattr(contraction, "build", no_build)
    again = RoadGraph.load(saved)
    assert ensure_hierarchy(again, tmp_path)  # loaded from the file
    for name in built.FIELDS:
        assert np.array_equal(getattr(built, name), getattr(again.modes[Travel.CAR].ch, name))
    other = RoadGraph.load(saved)
    assert load_hierarchy(other, tmp_path) and other.modes[Travel.CAR].ch is not None
    # another graph (other speeds) has another key: the file is not taken for it
    changed = RoadGraph.load(saved)
    changed.modes[Travel.CAR].rev.data[0] *= 2
    assert hierarchy_path(changed, tmp_path) != path
    assert not load_hierarchy(changed, tmp_path)


def test_a_damaged_hierarchy_file_is_ignored_then_rebuilt(saved, tmp_path):
    graph = RoadGraph.load(saved)
    path = hierarchy_path(graph, tmp_path)
    path.write_bytes(b"not an npz")
    assert not load_hierarchy(graph, tmp_path)
    assert graph.modes[Travel.CAR].ch is None
    assert ensure_hierarchy(graph, tmp_path)
    assert load_hierarchy(RoadGraph.load(saved), tmp_path)


def test_a_small_graph_gets_no_hierarchy(tmp_path):
    graph = _tiny_graph()
    assert graph.node_count < CH_MIN_NODES
    assert not ensure_hierarchy(graph, tmp_path)
    assert graph.modes[Travel.CAR].ch is None and not list(tmp_path.iterdir())


def test_recommend_with_and_without_the_hierarchy_gives_the_same_etas(city, saved):
    without = RoadGraph.load(saved)
    units = _units(city, 40, 3, [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL])
    rng = np.random.default_rng(4)
    for n in rng.integers(0, city.node_count, 10).tolist():
        at = (float(city.lon[n]) + 1e-4, float(city.lat[n]) - 1e-4)
        a = recommend(city, units, at, None, NOON, limit=5)
        b = recommend(without, units, at, None, NOON, limit=5)
        assert a.hierarchy == (Travel.CAR,) and b.hierarchy == ()
        assert [r.unit_id for r in a.ranked] == [r.unit_id for r in b.ranked]
        assert [r.eta_s for r in a.ranked] == pytest.approx([r.eta_s for r in b.ranked], rel=1e-12)
        assert [r.unit_id for r in a.busy] == [r.unit_id for r in b.busy]
        assert [r.route_m for r in a.ranked] == pytest.approx([r.route_m for r in b.ranked], rel=1e-6)


def _units(city, n, seed, kinds):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        node = rng.randrange(city.node_count)
        lon, lat = city.lon[node] + rng.uniform(-3e-4, 3e-4), city.lat[node] + rng.uniform(-3e-4, 3e-4)
        status = UnitStatus.EN_ROUTE if rng.random() < 0.15 else UnitStatus.AVAILABLE
        out.append(UnitSnapshot(i + 1, f"U{i + 1}", rng.choice(kinds), status, lon, lat,
                                NOON - timedelta(seconds=5), lon, lat, incident_id=9))
    return out


@pytest.mark.parametrize("n_units,kinds", [
    (6, [UnitKind.PATROL_CAR]), (50, [UnitKind.PATROL_CAR]),
    (50, [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL]),
    (2 * CH_MAX + 10, [UnitKind.PATROL_CAR]), (600, [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL])])
def test_top5_equals_full_dijkstra_for_random_queries(city, n_units, kinds):
    """Few car units run on the hierarchy, many on the resumable Dijkstra: the same
    top 5 as full Dijkstra runs, ETA for ETA, with the busy units ahead of the 5th."""
    units = _units(city, n_units, n_units + len(kinds), kinds)
    full = {m: {} for m in Travel}
    rng = np.random.default_rng(n_units)
    cars = sum(u.kind.travel is Travel.CAR for u in units)
    city.modes[Travel.CAR].up = None
    for q in range(12):
        if q % 3 == 2:  # some units move between queries (a new node, a new forward space)
            for i in rng.choice(len(units), max(1, n_units // 10), replace=False).tolist():
                u = units[i]
                node = int(rng.integers(city.node_count))
                units[i] = UnitSnapshot(u.id, u.callsign, u.kind, u.status, float(city.lon[node]),
                                        float(city.lat[node]), NOON, u.home_lon, u.home_lat,
                                        incident_id=u.incident_id)
        n = int(rng.integers(city.node_count))
        at = (float(city.lon[n]) + 1e-4, float(city.lat[n]) - 1e-4)
        rec = recommend(city, units, at, None, NOON, limit=5)
        ref = []
        for u in units:
            mode = u.kind.travel
            mg = city.modes[mode]
            inc, inc_snap = city.snap(at[0], at[1], mode)
            if inc not in full[mode]:
                full[mode][inc] = dijkstra(mg.rev, indices=inc)
            node, snap = city.snap(u.lon, u.lat, mode)
            ref.append((full[mode][inc][node] + (snap + inc_snap) / mg.approach_mps, u))
        ref.sort(key=lambda e: e[0])
        avail = [(e, u) for e, u in ref if u.status is UnitStatus.AVAILABLE][:5]
        assert [r.unit_id for r in rec.ranked] == [u.id for _, u in avail]
        assert [r.eta_s for r in rec.ranked] == pytest.approx([e for e, _ in avail], rel=1e-9)
        worst = avail[-1][0] if len(avail) == 5 else np.inf
        assert [r.unit_id for r in rec.busy] == [u.id for e, u in ref
                                                 if u.status is not UnitStatus.AVAILABLE and e < worst]
        for r in rec.ranked + rec.busy:  # the drawn route runs from the unit to the incident
            assert r.route[0] == pytest.approx(r.from_lonlat) and r.route[-1] == pytest.approx(at)
            assert len(r.route) >= 2 and r.route_m >= r.snap_m
    up = city.modes[Travel.CAR].up  # few cars: the hierarchy answered; many: it was not asked
    assert (up is not None and len(up.kept) >= cars) if cars <= CH_MAX else up is None


def test_build_hierarchy_command_builds_once_then_loads(saved, tmp_path):
    from dispatch.commands.roads import build_hierarchy
    first = build_hierarchy(RoadGraph.load(saved), tmp_path)
    assert first["ch"] and first["built"] and first["shortcuts"] > 0 and first["cpu_s"] > 0
    again = build_hierarchy(RoadGraph.load(saved), tmp_path)
    assert again["ch"] and not again["built"] and again["cache"] == first["cache"]
    small = build_hierarchy(_tiny_graph(), tmp_path)
    assert small == {"nodes": small["nodes"], "min_nodes": CH_MIN_NODES, "ch": False, "built": False}


def test_load_or_build_attaches_a_cached_hierarchy_and_never_builds(tmp_path, monkeypatch):
    """The console's path (App.roads): the OSM graph's hierarchy when its file is there,
    none otherwise. The demo is below CH_MIN_NODES, so the threshold is lowered here."""
    from dispatch.commands.roads import DEMO_OSM
    from dispatch.geo.roads import load_or_build
    monkeypatch.setattr(contraction, "CH_MIN_NODES", 100)
    first = load_or_build(DEMO_OSM, tmp_path)
    assert first.node_count >= 100 and first.modes[Travel.CAR].ch is None  # absent: not built
    assert ensure_hierarchy(first, tmp_path)
    again = load_or_build(DEMO_OSM, tmp_path)
    assert again.modes[Travel.CAR].ch is not None
    assert np.array_equal(again.modes[Travel.CAR].ch.rank, first.modes[Travel.CAR].ch.rank)
