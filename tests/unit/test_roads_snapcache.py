"""Snap once per position (SnapCache), and the landmark (ALT) lower bounds, checked
against KD-tree snaps and full scipy Dijkstra runs on a generated city."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.recommend import recommend
from dispatch.geo.routing import SnapCache, alt_bound
from dispatch.geo.synthetic_roads import generate_city

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def city():
    return generate_city(10_000, seed=5)


def test_snap_cache_snaps_each_position_once(city):
    rng = np.random.default_rng(1)
    n = 300
    ids = np.arange(1, n + 1)
    codes = rng.integers(0, 3, n)
    lon = city.lon.min() + rng.random(n) * (city.lon.max() - city.lon.min())
    lat = city.lat.min() + rng.random(n) * (city.lat.max() - city.lat.min())
    cache = SnapCache()
    want = city.snap_modes(codes, lon, lat)
    got = cache.snap(city, ids, codes, lon, lat)
    assert np.array_equal(got[0], want[0]) and np.allclose(got[1], want[1])
    assert (cache.hits, cache.misses) == (0, n)
    again = cache.snap(city, ids[::-1], codes[::-1], lon[::-1], lat[::-1])  # any order
    assert np.array_equal(again[0], want[0][::-1]) and (cache.hits, cache.misses) == (n, n)
    # 10 units move, 5 change mode: only those are snapped again, and right
    lon2, codes2 = lon.copy(), codes.copy()
    lon2[:10] += 0.003
    codes2[10:15] = (codes2[10:15] + 1) % 3
    got = cache.snap(city, ids, codes2, lon2, lat)
    want = city.snap_modes(codes2, lon2, lat)
    assert np.array_equal(got[0], want[0]) and np.allclose(got[1], want[1])
    assert cache.misses == n + 15 and len(cache) == n
    # another graph: nothing carries over
    other = generate_city(2_000, seed=9)
    got = cache.snap(other, ids[:5], codes[:5], lon[:5], lat[:5])
    assert np.array_equal(got[0], other.snap_modes(codes[:5], lon[:5], lat[:5])[0]) and len(cache) == 5


def test_recommend_uses_the_cache_and_stays_exact_when_units_move(city):
    rng = np.random.default_rng(2)
    nodes = rng.integers(0, city.node_count, 40)
    units = [UnitSnapshot(i + 1, f"U{i + 1}", UnitKind.PATROL_CAR, UnitStatus.AVAILABLE,
                          float(city.lon[n]), float(city.lat[n]), NOON - timedelta(seconds=5),
                          float(city.lon[n]), float(city.lat[n])) for i, n in enumerate(nodes)]
    cache = SnapCache()
    at = (float(city.lon[123]), float(city.lat[123]))
    first = recommend(city, units, at, None, NOON, snaps=cache)
    assert cache.misses == 40
    recommend(city, units, at, None, NOON, snaps=cache)
    assert cache.misses == 40 and cache.hits == 40
    # the fastest unit drives away: it is snapped again and loses its rank
    best = first.ranked[0].unit_id - 1
    far = int(np.argmax(np.hypot(city.x - city.x[123], city.y - city.y[123])))
    units[best] = UnitSnapshot(best + 1, f"U{best + 1}", UnitKind.PATROL_CAR, UnitStatus.AVAILABLE,
                               float(city.lon[far]), float(city.lat[far]), NOON, 0.0, 0.0)
    moved = recommend(city, units, at, None, NOON, snaps=cache)
    assert cache.misses == 41 and moved.ranked[0].unit_id != best + 1
    mg = city.modes[Travel.CAR]
    inc, inc_snap = city.snap(*at)
    d = dijkstra(mg.rev, indices=inc)
    ref = sorted(d[city.snap(u.lon, u.lat)[0]] + (city.snap(u.lon, u.lat)[1] + inc_snap) / mg.approach_mps
                 for u in units)[:5]
    assert [r.eta_s for r in moved.ranked] == pytest.approx(ref, rel=1e-9)


def test_landmark_bounds_are_lower_bounds(city):
    mg = city.modes[Travel.CAR]
    assert mg.to_lm.shape[0] == city.node_count and mg.to_lm.shape[1] >= 4
    rng = np.random.default_rng(3)
    for dst in rng.integers(0, city.node_count, 5):
        true = dijkstra(mg.rev, indices=int(dst))  # time from every node to dst
        src = rng.integers(0, city.node_count, 2000)
        lb = alt_bound(mg.to_lm, mg.from_lm, src, int(dst))
        assert np.all(lb <= true[src] + 1e-9)
        assert np.mean(lb / np.maximum(true[src], 1e-9)) > 0.5  # and not trivial


def test_landmarks_survive_the_cache(city, tmp_path):
    from dispatch.geo.roads import RoadGraph
    city.save(tmp_path / "c.npz")
    back = RoadGraph.load(tmp_path / "c.npz")
    assert np.array_equal(back.modes[Travel.CAR].to_lm, city.modes[Travel.CAR].to_lm)
    assert np.array_equal(back.modes[Travel.CAR].from_lm, city.modes[Travel.CAR].from_lm)
