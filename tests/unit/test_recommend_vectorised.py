"""The recommendation's per-unit rules, read with numpy over the units, give what a plain
reading unit by unit gives: every unit's exclusion reason, stale flag and point used, the
order of the excluded, whatever objects carry equal duty windows; and the ranked ETAs of
a few hundred units (the unguided search) equal full Dijkstra runs."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.duty import off_duty_reason
from dispatch.domain.incidents import CATEGORIES
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus, stale_after_s
from dispatch.geo.recommend import UnitColumns, fitness, recommend
from dispatch.geo.routing import MODE_ORDER
from dispatch.geo.synthetic_roads import generate_city

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # 20:00 in Shanghai
TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def city():
    return generate_city(5_000, seed=9)


def _units(city, n: int, seed: int, fresh_duty: bool) -> list[UnitSnapshot]:
    """Every kind and status; duty windows on and off duty now, as one shared object or a
    new equal tuple per unit; fixes fresh, stale, exactly at the kind's limit, a
    microsecond past it, missing; positions missing (nan) with and without a home post."""
    rng = random.Random(seed)
    shared = {"evening": (DutyWindow.parse("19:00-01:00"),), "day": (DutyWindow.parse("08:00-18:00"),)}
    out = []
    for i in range(n):
        kind = rng.choice(list(UnitKind))
        status = rng.choice([UnitStatus.AVAILABLE] * 6 + list(UnitStatus))
        which = rng.choice(["none", "evening", "day"])
        duty: tuple = () if which == "none" else \
            (tuple(DutyWindow.parse(str(w)) for w in shared[which]) if fresh_duty else shared[which])
        limit = stale_after_s(kind)
        at = rng.choice([NOW - timedelta(seconds=5), NOW - timedelta(seconds=limit),
                         NOW - timedelta(seconds=limit, microseconds=1), NOW - timedelta(hours=2), None])
        node = rng.randrange(city.node_count)
        lon, lat = float(city.lon[node]) + rng.uniform(-3e-4, 3e-4), float(city.lat[node])
        if rng.random() < 0.05:
            lon = lat = math.nan
        home = (node * 7 + 3) % city.node_count
        hlon, hlat = (float(city.lon[home]), float(city.lat[home])) if rng.random() < 0.9 else (math.nan, math.nan)
        out.append(UnitSnapshot(i + 1, f"V{i + 1:03d}", kind, status, lon, lat, at, hlon, hlat, duty=duty,
                                incident_id=7 if status.committed else None))
    return out


def _plain(units: list[UnitSnapshot], category) -> tuple[dict, dict, list[int]]:
    """Unit by unit: (reason of every unit excluded by the rules or without a position,
    (stale, point) of every unit searched, the ids excluded by the rules then those
    without a position, in order)."""
    reason, searched, first, lost = {}, {}, [], []
    for u in units:
        why = off_duty_reason(u, NOW, TZ) or fitness(u.kind, category)
        if why is not None:
            reason[u.id] = why
            first.append(u.id)
            continue
        fresh = u.position_at is not None and u.position_at >= NOW - timedelta(seconds=stale_after_s(u.kind))
        stale = not fresh or math.isnan(u.lon) or math.isnan(u.lat)
        point = (u.home_lon, u.home_lat) if stale else (u.lon, u.lat)
        if math.isnan(point[0]) or math.isnan(point[1]):
            reason[u.id] = "不在线（无位置）"
            lost.append(u.id)
        else:
            searched[u.id] = (stale, point)
    return reason, searched, first + lost


@pytest.mark.parametrize("fresh_duty", [False, True])
def test_rules_equal_the_plain_reading_unit_by_unit(city, fresh_duty):
    units = _units(city, 400, 5, fresh_duty)
    by_id = {u.id: u for u in units}
    for k, cat in enumerate((None,) + CATEGORIES[:6]):
        node = (k * 911) % city.node_count
        at = (float(city.lon[node]) + 1e-4, float(city.lat[node]))
        rec = recommend(city, units, at, cat, NOW, limit=5)
        reason, searched, order = _plain(units, cat)
        got = {e.unit_id: e.reason for e in rec.excluded}
        assert len(got) == len(rec.excluded)  # no unit twice
        assert [e.unit_id for e in rec.excluded[:len(order)]] == order
        assert {i: got[i] for i in reason} == reason
        for r in rec.ranked + rec.busy:
            assert (r.stale, r.from_lonlat) == searched[r.unit_id], r.unit_id
            assert by_id[r.unit_id].status.committed == r.busy
        # the rest of the excluded: committed units searched but not shown, in the order
        # of the modes, then of the units
        rest = rec.excluded[len(order):]
        shown = {r.unit_id for r in rec.busy}
        want = [u.id for m in MODE_ORDER for u in units if u.id in searched and u.kind.travel is m
                and u.status is not UnitStatus.AVAILABLE and u.id not in shown]
        assert [e.unit_id for e in rest] == want
        assert all(e.reason == f"已派往警情 7（{by_id[e.unit_id].status.label}）" for e in rest)
        ranked_or_busy = {r.unit_id for r in rec.ranked} | shown
        available = {i for i in searched if by_id[i].status is UnitStatus.AVAILABLE}
        assert set(got) | ranked_or_busy | available == set(by_id)
        assert len(rec.ranked) == min(5, len(available))


def test_equal_duty_objects_or_one_shared_give_one_answer(city):
    shared = _units(city, 300, 8, fresh_duty=False)
    fresh = _units(city, 300, 8, fresh_duty=True)
    assert any(a.duty and a.duty is not b.duty for a, b in zip(shared, fresh))
    for k, cat in enumerate((None, CATEGORIES[0], CATEGORIES[3])):
        node = (k * 1301 + 17) % city.node_count
        at = (float(city.lon[node]), float(city.lat[node]) + 1e-4)
        a = recommend(city, shared, at, cat, NOW).as_json()
        assert a == recommend(city, fresh, at, cat, NOW).as_json()
        assert a == recommend(city, UnitColumns.of(fresh), at, cat, NOW).as_json()


def test_a_stale_limit_for_every_kind(city):
    units = _units(city, 200, 3, fresh_duty=False)
    node = city.node_count // 2
    at = (float(city.lon[node]), float(city.lat[node]))
    rec = recommend(city, units, at, None, NOW, stale_after_s=60.0)
    by_id = {u.id: u for u in units}
    for r in rec.ranked + rec.busy:
        seen = by_id[r.unit_id].position_at
        assert r.stale == (seen is None or seen < NOW - timedelta(seconds=60) or math.isnan(by_id[r.unit_id].lon))


def test_ranked_etas_of_many_units_equal_full_dijkstra(city):
    """300 units (more than the guided search takes): the unguided search, every mode."""
    rng = np.random.default_rng(4)
    kinds = [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL]
    nodes = rng.integers(0, city.node_count, 300)
    units = [UnitSnapshot(i + 1, f"D{i}", kinds[i % 3], UnitStatus.EN_ROUTE if i % 7 == 6 else UnitStatus.AVAILABLE,
                          float(city.lon[n]) + 1e-4, float(city.lat[n]), NOW, 0.0, 0.0, incident_id=2)
              for i, n in enumerate(nodes)]
    for target in rng.integers(0, city.node_count, 4):
        at = (float(city.lon[target]), float(city.lat[target]) + 1e-4)
        rec = recommend(city, units, at, None, NOW, limit=5)
        full = {}
        for m in MODE_ORDER:
            inc, inc_snap = city.snap(at[0], at[1], m)
            full[m] = (dijkstra(city.modes[m].rev, indices=inc), inc_snap)
        ref = []
        for u in units:
            times, inc_snap = full[u.kind.travel]
            node, snap = city.snap(u.lon, u.lat, u.kind.travel)
            ref.append((times[node] + (snap + inc_snap) / city.modes[u.kind.travel].approach_mps, u.id, u))
        ref.sort(key=lambda e: (e[0], e[1]))
        avail = [(e, u) for e, _i, u in ref if u.status is UnitStatus.AVAILABLE][:5]
        assert [r.unit_id for r in rec.ranked] == [u.id for _e, u in avail]
        assert [r.eta_s for r in rec.ranked] == pytest.approx([e for e, _u in avail], rel=1e-9)
        worst = avail[-1][0]
        assert sorted(r.unit_id for r in rec.busy) == sorted(
            u.id for e, _i, u in ref if u.status is not UnitStatus.AVAILABLE and e < worst)


def test_columns_with_none_positions_read_as_missing(city):
    """Columns from the database hold None where a unit has no position or no home post:
    read as nan, the same answer as the snapshots with nan."""
    units = _units(city, 200, 6, fresh_duty=False)
    fields = ("id", "callsign", "kind", "status", "lon", "lat", "position_at", "home_lon", "home_lat", "duty",
              "incident_id")
    columns = [[getattr(u, f) for u in units] for f in fields]
    for k in (4, 5, 7, 8):
        columns[k] = [None if isinstance(x, float) and math.isnan(x) else x for x in columns[k]]
    assert None in columns[4] and None in columns[7]
    node = city.node_count // 5
    at = (float(city.lon[node]), float(city.lat[node]))
    want = recommend(city, units, at, None, NOW).as_json()
    assert recommend(city, UnitColumns(*columns), at, None, NOW).as_json() == want
    assert any(e["reason"] == "不在线（无位置）" for e in want["excluded"])


def test_naive_utc_columns_as_sqlite_gives_them_answer_like_aware_columns(city):
    """SQLite hands back naive UTC fixes: read as they are (naive_utc), the answer — stale
    flags at the exact limit and a microsecond past it, reasons, the snapshots of the ranked
    units — is the one aware fixes give."""
    units = _units(city, 300, 8, fresh_duty=False)
    fields = ("id", "callsign", "kind", "status", "lon", "lat", "position_at", "home_lon", "home_lat", "duty",
              "incident_id")
    aware = [[getattr(u, f) for u in units] for f in fields]
    naive = [list(c) for c in aware]
    naive[6] = [None if t is None else t.astimezone(timezone.utc).replace(tzinfo=None) for t in aware[6]]
    for target in (3, city.node_count // 3, city.node_count - 9):
        at = (float(city.lon[target]), float(city.lat[target]))
        want = recommend(city, UnitColumns(*aware), at, None, NOW, limit=8)
        got = recommend(city, UnitColumns(*naive, naive_utc=True), at, None, NOW, limit=8)
        assert got.as_json() == want.as_json()
        assert [r.stale for r in got.ranked + got.busy] == [r.stale for r in want.ranked + want.busy]
        assert any(r.stale for r in want.ranked + want.busy) and any(not r.stale for r in want.ranked)
