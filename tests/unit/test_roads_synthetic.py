"""The generated city, and the pruned multi-mode search checked against full
Dijkstra runs (scipy) on the same graph: same units, same order, same ETAs."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.recommend import recommend
from dispatch.geo.synthetic_roads import generate_city

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def city():
    return generate_city(10_000, seed=3)


def test_city_looks_like_a_city(city):
    assert 9_000 < city.node_count <= 10_000
    rev = city.modes[Travel.CAR].rev
    fwd = rev.T.tocsr()
    one_way = (fwd != 0).astype(int) - (rev != 0).astype(int)
    assert one_way.nnz > 1000  # many one-way segments
    speeds = set(np.round(city.modes[Travel.CAR].max_mps * 3.6).astype(int).flat)
    assert speeds == {60}
    assert generate_city(10_000, seed=3).lon.tolist() == city.lon.tolist()  # seeded


def _units(city, n, seed):
    rng = random.Random(seed)
    kinds = [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL, UnitKind.COMMUNITY]
    out = []
    for i in range(n):
        node = rng.randrange(city.node_count)
        lon, lat = city.lon[node] + rng.uniform(-3e-4, 3e-4), city.lat[node] + rng.uniform(-3e-4, 3e-4)
        status = UnitStatus.EN_ROUTE if rng.random() < 0.2 else UnitStatus.AVAILABLE
        out.append(UnitSnapshot(i + 1, f"U{i + 1}", rng.choice(kinds), status, lon, lat,
                                NOON - timedelta(seconds=5), lon, lat, incident_id=9))
    return out


# up to routing.GUIDE_MAX targets per mode the search is an A* (re-keyed as targets
# settle); 400 units (about 100 per mode) run it as plain Dijkstra
@pytest.mark.parametrize("n_units,limit", [(12, 5), (60, 5), (200, 3), (4, 5), (30, 1), (400, 5)])
def test_search_equals_full_dijkstra(city, n_units, limit):
    units = _units(city, n_units, n_units)
    rng = np.random.default_rng(n_units)
    for target in rng.integers(0, city.node_count, 6):
        at = (float(city.lon[target]) + 2e-4, float(city.lat[target]) - 1e-4)
        rec = recommend(city, units, at, None, NOON, limit=limit)
        ref = []
        for u in units:
            mode = u.kind.travel
            mg = city.modes[mode]
            node, snap = city.snap(u.lon, u.lat, mode)
            inc, inc_snap = city.snap(at[0], at[1], mode)
            d = dijkstra(mg.rev, indices=inc)[node]
            ref.append((d + (snap + inc_snap) / mg.approach_mps, u))
        ref.sort(key=lambda e: e[0])
        avail = [(e, u) for e, u in ref if u.status is UnitStatus.AVAILABLE][:limit]
        assert [r.unit_id for r in rec.ranked] == [u.id for _, u in avail]
        assert [r.eta_s for r in rec.ranked] == pytest.approx([e for e, _ in avail], rel=1e-9)
        worst = avail[-1][0] if len(avail) == limit else np.inf
        busy = [u.id for e, u in ref if u.status is not UnitStatus.AVAILABLE and e < worst]
        assert [r.unit_id for r in rec.busy] == busy
        for r in rec.ranked + rec.busy:  # the drawn route runs from the unit to the incident
            assert r.route[0] == pytest.approx(r.from_lonlat) and r.route[-1] == pytest.approx(at)


@pytest.mark.parametrize("mode", [Travel.CAR, Travel.EBIKE, Travel.FOOT])
def test_route_equals_full_dijkstra(city, mode):
    """A route (A* toward its one target) has the time of a full Dijkstra run."""
    from dispatch.geo.routing import route_search
    mg = city.modes[mode]
    rng = np.random.default_rng(5)
    for a, b in rng.choice(mg.nodes, (8, 2)):
        secs, nodes = route_search(city, mode, int(b), int(a))
        assert secs == pytest.approx(dijkstra(mg.rev, indices=int(b))[int(a)], rel=1e-9)
        assert nodes[0] == a and nodes[-1] == b
        assert sum(mg.rev[nodes[k + 1], nodes[k]] for k in range(len(nodes) - 1)) \
            == pytest.approx(secs, rel=1e-9)
