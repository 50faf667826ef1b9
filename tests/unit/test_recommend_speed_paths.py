"""The shortcuts of the recommendation's per-query work give what the plain readings
give: snapshot columns read by comprehension, floats and ints packed by struct, object
identities read off an object array, targets' lower bounds in one kernel pass (bit for
bit the numpy formula), targets searched in any order and several on one node (full
Dijkstra), the incident snapped in the units' query and moved units rewritten in place
in the snap cache (graph.snap_modes), and the committed units' reasons made per group
(_committed_text unit by unit)."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from operator import attrgetter

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.units import DutyWindow, Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.recommend import (_READ, Excluded, UnitColumns, _addresses, _committed_text,
                                    _committed_texts, _floats, _ints, recommend)
from dispatch.geo.routing import LB_SLACK, MODE_ORDER, SnapCache, alt_bound, workspace
from dispatch.geo.routing_kernel import ALT_SLACK, lower_bounds
from dispatch.geo.synthetic_roads import generate_city

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


@pytest.fixture(scope="module")
def city():
    return generate_city(6_000, seed=13)


def _units(city, n: int, seed: int) -> list[UnitSnapshot]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        node = rng.randrange(city.node_count)
        status = rng.choice([UnitStatus.AVAILABLE] * 4 + list(UnitStatus))
        incident = rng.choice([None, 3, 3, 4, 1000]) if status.committed else None
        out.append(UnitSnapshot(i + 1, f"S{i + 1:03d}", rng.choice(list(UnitKind)), status,
                                float(city.lon[node]) + rng.uniform(-2e-4, 2e-4), float(city.lat[node]),
                                rng.choice([NOW - timedelta(seconds=10), NOW - timedelta(hours=1), None]),
                                float(city.lon[node]), float(city.lat[node]),
                                duty=rng.choice([(), (DutyWindow.parse("19:00-01:00"),)]), incident_id=incident))
    return out


def test_columns_read_off_snapshots_equal_attrgetter(city):
    units = _units(city, 50, 1)
    assert set(_READ) == set(UnitColumns.FIELDS)
    cols = UnitColumns.of(units)
    for name, attr in UnitColumns.FIELDS.items():
        want = list(map(attrgetter(attr), units))
        assert getattr(cols, name) == want, name
        assert UnitColumns.of(units).take(name, [4, 0, 4]) == [want[4], want[0], want[4]], name


def test_packed_floats_ints_and_addresses_equal_the_plain_conversions():
    values = [1.5, -0.0, 3, 1e300, float("nan")]
    got = _floats(values)
    assert got.dtype == np.float64 and np.array_equal(got, np.array(values, np.float64), equal_nan=True)
    assert np.array_equal(_floats([1.0, None, 2.0]), [1.0, math.nan, 2.0], equal_nan=True)
    assert len(_floats([])) == 0 and len(_ints([])) == 0
    ints = [1, 2**40, -7, 0]
    assert _ints(ints).dtype == np.int64 and _ints(ints).tolist() == ints
    objs = [UnitKind.PATROL_CAR, None, (), "x", 2.5, UnitStatus.AVAILABLE, ()]
    assert _addresses(objs).tolist() == [id(o) for o in objs]
    assert len(_addresses([])) == 0


def test_lower_bounds_equal_the_numpy_formula_bit_for_bit(city):
    rng = np.random.default_rng(2)
    for mode in MODE_ORDER:
        ws = workspace(city, mode)
        mps = city.modes[mode].max_mps
        for src in rng.integers(0, city.node_count, 4).tolist():
            tn = rng.integers(0, city.node_count, 300)
            extra = rng.random(300) * 30
            gap = np.hypot(city.x[tn] - city.x[src], city.y[tn] - city.y[src])
            want = np.maximum(gap * LB_SLACK / mps, alt_bound(ws.to_lm, ws.from_lm, tn, src)) + extra
            got = lower_bounds(ws.target_rows(tn), ws.lm[src], LB_SLACK, mps, extra, ALT_SLACK)
            assert np.array_equal(got, want), mode
            tn[rng.choice(300, 20, replace=False)] = rng.integers(0, city.node_count, 20)  # units move
            assert np.array_equal(ws.target_rows(tn), ws.lm[tn])  # rows kept, the moved read again
    assert workspace(city, Travel.CAR).to_lm.shape[1] > 0  # the landmark part was read


def test_targets_in_any_order_and_sharing_nodes_equal_full_dijkstra(city):
    """Targets unsorted, several on one node (with different snap legs), some not
    counting: every settled target's ETA is exact, and the best `need` are settled."""
    rng = np.random.default_rng(3)
    mg = city.modes[Travel.CAR]
    ws = workspace(city, Travel.CAR)
    for source in rng.integers(0, city.node_count, 4).tolist():
        nodes = rng.integers(0, city.node_count, 120)
        nodes[60:90] = nodes[:30]  # 30 nodes with two targets each
        extra = rng.random(120) * 20
        counts = rng.random(120) < 0.8
        need = 5
        for guide in (None, 0.9 / mg.max_mps):
            teta = ws.start(source, nodes, extra, counts, None, guide)
            best = np.full(need, np.inf)
            nbest, limit = 0, 60.0
            while True:
                why, nbest = ws.run(best, nbest, need, limit)
                if why != 1:
                    break
                limit *= 1.5
            true = dijkstra(mg.rev, indices=source)[nodes] + extra
            done = np.isfinite(teta)
            assert np.allclose(teta[done], true[done], rtol=1e-12)
            kth = np.sort(true[counts])[need - 1]
            assert np.all(done[counts & (true < kth)]) and best[need - 1] == pytest.approx(kth, rel=1e-12)


def test_snap_with_more_points_and_moves_in_place_equal_snap_modes(city):
    rng = np.random.default_rng(4)
    n = 200
    ids = np.arange(1, n + 1) * 3
    codes = rng.integers(0, 3, n)
    lon = city.lon.min() + rng.random(n) * (city.lon.max() - city.lon.min())
    lat = city.lat.min() + rng.random(n) * (city.lat.max() - city.lat.min())
    at = (float(city.lon[77]) + 1e-4, float(city.lat[77]))
    cache = SnapCache()
    more = (np.arange(3), np.full(3, at[0]), np.full(3, at[1]))
    for step in range(4):
        if step == 2:  # new units too: the entries are merged, not rewritten in place
            ids, codes = np.concatenate([ids, [1, 2]]), np.concatenate([codes, [0, 2]])
            lon, lat = np.concatenate([lon, lon[:2]]), np.concatenate([lat, lat[:2]])
        moved = rng.choice(len(ids), 15, replace=False)
        lon[moved] += rng.normal(0, 2e-3, 15)
        codes[moved[:5]] = (codes[moved[:5]] + 1) % 3
        sel = np.sort(rng.choice(len(ids), len(ids) - 10, replace=False)) if step == 3 else slice(None)
        got = cache.snap_with(city, ids[sel], codes[sel], lon[sel], lat[sel], *more)
        want = city.snap_modes(codes[sel], lon[sel], lat[sel])
        alone = city.snap_modes(*more)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(got[2], alone[0]) and np.array_equal(got[3], alone[1])
        again = cache.snap(city, ids[sel], codes[sel], lon[sel], lat[sel])  # all hits, same places
        assert np.array_equal(again[0], want[0]) and np.array_equal(again[1], want[1])
    assert len(cache) == len(ids)
    for _ in range(2):  # no unit (twice: the same ask), after a merge too
        nodes, dist, mn, md = cache.snap_with(city, ids[:0], codes[:0], lon[:0], lat[:0], *more)
        assert len(nodes) == 0 and np.array_equal(mn, city.snap_modes(*more)[0])
        cache._store(np.array([5]), np.array([0]), lon[:1], lat[:1], *city.snap_modes(np.array([0]), lon[:1], lat[:1]))


def test_committed_texts_by_groups_equal_unit_by_unit(city):
    units = [u for u in _units(city, 300, 5) if u.status.committed]
    assert any(u.incident_id is None for u in units) and any(u.incident_id == 1000 for u in units)
    cols = UnitColumns.of(units)
    rng = np.random.default_rng(6)
    slot = np.array([list(UnitStatus).index(u.status) for u in units]) * 3 + rng.integers(0, 3, len(units))
    rows = list(range(len(units)))[::-1]
    got = _committed_texts(cols, rows, slot[rows])
    assert got == [_committed_text(units[r].incident_id, units[r].status) for r in rows]
    e = Excluded(7, "S007", "不在线")
    assert (e.unit_id, e.callsign, e.reason) == (7, "S007", "不在线")
    assert e.as_json() == {"id": 7, "callsign": "S007", "reason": "不在线"}


def test_units_on_one_node_rank_exactly_as_full_dijkstra(city):
    """Pairs of units at the very same point and same mode (one ETA: ties in unit
    order), the others scattered: ranked and busy as full Dijkstra runs give them."""
    rng = np.random.default_rng(7)
    kinds = [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL]
    for target in rng.integers(0, city.node_count, 3).tolist():
        near = np.flatnonzero(np.hypot(city.x - city.x[target], city.y - city.y[target]) < 1500)
        spots = np.concatenate([rng.choice(near, 20), rng.integers(0, city.node_count, 60)])
        units = []
        for i, n in enumerate(spots.tolist() + spots[:20].tolist()):
            status = UnitStatus.EN_ROUTE if i % 7 == 3 else UnitStatus.AVAILABLE
            units.append(UnitSnapshot(i + 1, f"P{i}", kinds[i % 20 % 3], status, float(city.lon[n]),
                                      float(city.lat[n]), NOW, 0.0, 0.0, incident_id=2))
        at = (float(city.lon[target]) + 1e-4, float(city.lat[target]))
        rec = recommend(city, units, at, None, NOW, limit=5)
        ref = []
        for k, u in enumerate(units):
            mg = city.modes[u.kind.travel]
            node, snap = city.snap(u.lon, u.lat, u.kind.travel)
            inc, inc_snap = city.snap(at[0], at[1], u.kind.travel)
            eta = dijkstra(mg.rev, indices=inc)[node] + (snap + inc_snap) / mg.approach_mps
            ref.append((eta, MODE_ORDER.index(u.kind.travel), k, u))
        ref.sort(key=lambda e: e[:3])
        avail = [e for e in ref if e[3].status is UnitStatus.AVAILABLE][:5]
        assert [r.unit_id for r in rec.ranked] == [e[3].id for e in avail]
        assert [r.eta_s for r in rec.ranked] == pytest.approx([e[0] for e in avail], rel=1e-9)
        assert [r.unit_id for r in rec.busy] == [e[3].id for e in ref if e[3].status is not UnitStatus.AVAILABLE
                                                 and e[0] < avail[-1][0]]


def test_paths_read_together_equal_path_meters_one_by_one(city):
    from dispatch.geo.recommend import _Paths
    rng = np.random.default_rng(8)
    paths = [rng.integers(0, city.node_count, k).tolist() for k in (0, 1, 2, 9, 300, 1, 57)]
    got = _Paths(city, paths)
    assert got.meters == [city.path_meters(p) for p in paths]
    for k, p in enumerate(paths):
        assert list(got.lonlat(k)) == [(float(city.lon[v]), float(city.lat[v])) for v in p]
    assert _Paths(city, []).meters == []


def test_identity_codes_by_the_members_table_equal_the_index_of_each_member():
    from dispatch.geo.recommend import _identity_codes
    rng = random.Random(9)
    kinds = tuple(UnitKind)
    values = [rng.choice(kinds) for _ in range(500)]
    code, n = _identity_codes(values, kinds)
    assert n == len(kinds) and code.tolist() == [kinds.index(v) for v in values]
    # a value that is no member: codes by distinct objects (equal codes: the same object)
    odd = values + ["patrol_car"]
    code, n = _identity_codes(odd, kinds)
    assert n == len(set(map(id, odd)))
    firsts = {}
    assert all(firsts.setdefault(c, id(v)) == id(v) for c, v in zip(code.tolist(), odd))
    assert len(firsts) == n
    same, n = _identity_codes([(), (), ()])
    assert n == 1 and same.tolist() == [0, 0, 0]
    w = (DutyWindow.parse("08:00-18:00"),)
    mixed, n = _identity_codes([(), w, (), (DutyWindow.parse("08:00-18:00"),)])
    assert n == 3 and mixed[0] == mixed[2] and len({*mixed.tolist()}) == 3
