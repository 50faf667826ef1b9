"""The fast paths of F5 and of the index build give what the plain paths give:
units read as columns (one Core select) equal the snapshots, on SQLite and PostgreSQL;
the recommendation over columns equals the one over snapshots; the pruned, guided
search equals full Dijkstra runs where units cluster near the incident (pushes pruned
at the need-th ETA); the bulk pinyin keys equal typed_keys name by name."""
from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.recommend import UnitColumns, recommend
from dispatch.geo.synthetic_roads import generate_city

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


@pytest.fixture(scope="module")
def city():
    return generate_city(6_000, seed=4)


def _units(city, n: int, seed: int) -> list[UnitSnapshot]:
    """Every kind and status, duty windows on and off, stale, missing and fresh positions."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        node = rng.randrange(city.node_count)
        lon, lat = float(city.lon[node]) + rng.uniform(-2e-4, 2e-4), float(city.lat[node])
        kind = rng.choice(list(UnitKind))
        status = rng.choice([UnitStatus.AVAILABLE] * 5 + list(UnitStatus))
        duty = rng.choice([(), (DutyWindow.parse("19:00-01:00"),), (DutyWindow.parse("08:00-20:00"),)])
        at = rng.choice([NOW - timedelta(seconds=20), NOW - timedelta(seconds=900), None])
        home = city.lon[(node + 7) % city.node_count], city.lat[(node + 7) % city.node_count]
        out.append(UnitSnapshot(i + 1, f"H{i + 1:03d}", kind, status, lon, lat, at, float(home[0]),
                                float(home[1]), duty=duty,
                                incident_id=3 if status not in (UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY) else None))
    return out


def _store_units(url: str, tmp: Path, units: list[UnitSnapshot]):
    from dispatch.bootstrap import bootstrap
    from dispatch.services.clock import ManualClock
    from dispatch.settings import Settings
    from dispatch.store.schema import UnitRow
    app = bootstrap(Settings(db_url=url, data_dir=tmp, load_demo=False), ManualClock(NOW))
    with app.store.transaction() as s:
        for u in units:
            s.add(UnitRow(id=u.id, callsign=u.callsign, kind=u.kind.value, status=u.status.value,
                          status_since=NOW, incident_id=u.incident_id, lon=u.lon, lat=u.lat,
                          position_at=u.position_at, home_lon=u.home_lon, home_lat=u.home_lat,
                          duty=[str(w) for w in u.duty]))
    return app


def _check_columns_equal_snapshots(app, city, units):
    from dispatch.services.queries import unit_snapshots
    from dispatch.services.recommending import unit_columns, unit_rows
    with app.store.reader() as s:
        snaps = unit_snapshots(s)
        cols = unit_columns(unit_rows(s))
    assert len(cols) == len(snaps) == len(units)
    assert [cols.snapshot(i) for i in range(len(cols))] == [
        UnitSnapshot(u.id, u.callsign, u.kind, u.status, u.lon, u.lat, u.position_at, u.home_lon, u.home_lat,
                     duty=u.duty, incident_id=u.incident_id) for u in snaps]
    for k in range(4):
        node = (k * 977) % city.node_count
        at = (float(city.lon[node]), float(city.lat[node]))
        a = recommend(city, snaps, at, None, NOW, limit=5).as_json()
        b = recommend(city, cols, at, None, NOW, limit=5).as_json()
        assert a == b and a["ranked"]


def test_columns_read_equal_the_snapshots_on_sqlite(city, tmp_path):
    units = _units(city, 80, 1)
    app = _store_units(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path, units)
    try:
        _check_columns_equal_snapshots(app, city, units)
    finally:
        app.engine.dispose()


@pytest.mark.skipif(not os.environ.get("DISPATCH_TEST_PG_URL"), reason="DISPATCH_TEST_PG_URL not set")
def test_columns_read_equal_the_snapshots_on_postgresql(city, tmp_path):
    from tests.integration.pg_schema import fresh_schema
    units = _units(city, 60, 2)
    with fresh_schema(os.environ["DISPATCH_TEST_PG_URL"]) as url:
        app = _store_units(url, tmp_path, units)
        try:
            _check_columns_equal_snapshots(app, city, units)
        finally:
            app.engine.dispose()


def test_f5_through_the_services_equals_recommend_and_logs_it(city, tmp_path):
    from dispatch.services.locations import Location
    from dispatch.services.queries import unit_snapshots
    from dispatch.services.seat import Services
    units = _units(city, 50, 3)
    app = _store_units(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path, units)
    try:
        sv = Services(app.services.ctx, roads_provider=lambda: city)
        inc = sv.open_call("13800000000").incident_id
        assert inc is not None
        node = city.node_count // 3
        sv.locate(inc, Location("测试点", float(city.lon[node]), float(city.lat[node])))
        got = sv.recommend(inc)
        with app.store.reader() as s:
            want = recommend(city, unit_snapshots(s), (float(city.lon[node]), float(city.lat[node])), None, NOW)
        assert got.as_json() == want.as_json() and got.ranked
        from dispatch.store.eventlog import read
        with app.store.reader() as s:
            logged = [e for e in read(s, incident_id=inc) if e.kind == "unit.recommended"]
        assert [r["unit_id"] for r in logged[-1].payload["ranked"]] == [r.unit_id for r in got.ranked]
    finally:
        app.engine.dispose()


def test_empty_columns():
    assert len(UnitColumns.of([])) == 0


@pytest.mark.parametrize("limit", [1, 5])
def test_search_equals_full_dijkstra_when_units_cluster(city, limit):
    """Many units close to the incident (the need-th ETA is known early: the search
    then pushes nothing at or above it) and a few far ones, of every travel mode."""
    rng = np.random.default_rng(limit)
    kinds = [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL]
    for target in rng.integers(0, city.node_count, 5):
        near = np.flatnonzero(np.hypot(city.x - city.x[target], city.y - city.y[target]) < 900)
        nodes = np.concatenate([rng.choice(near, 12), rng.integers(0, city.node_count, 6)])
        units = []
        for i, n in enumerate(nodes):
            status = UnitStatus.EN_ROUTE if i % 5 == 4 else UnitStatus.AVAILABLE
            units.append(UnitSnapshot(i + 1, f"C{i}", kinds[i % 3], status, float(city.lon[n]), float(city.lat[n]),
                                      NOW, float(city.lon[n]), float(city.lat[n]), incident_id=1))
        at = (float(city.lon[target]) + 1e-4, float(city.lat[target]))
        rec = recommend(city, units, at, None, NOW, limit=limit)
        ref = []
        for u in units:
            mg = city.modes[u.kind.travel]
            node, snap = city.snap(u.lon, u.lat, u.kind.travel)
            inc, inc_snap = city.snap(at[0], at[1], u.kind.travel)
            ref.append((dijkstra(mg.rev, indices=inc)[node] + (snap + inc_snap) / mg.approach_mps, u))
        ref.sort(key=lambda e: e[0])
        avail = [(e, u) for e, u in ref if u.status is UnitStatus.AVAILABLE][:limit]
        assert [r.unit_id for r in rec.ranked] == [u.id for _, u in avail]
        assert [r.eta_s for r in rec.ranked] == pytest.approx([e for e, _ in avail], rel=1e-9)
        worst = avail[-1][0]
        assert [r.unit_id for r in rec.busy] == [u.id for e, u in ref if u.status is not UnitStatus.AVAILABLE
                                                  and e < worst]


def test_bulk_keys_equal_typed_keys_name_by_name():
    from dispatch.geo.pinyin_keys import bulk_keys, canonical, typed_keys
    from dispatch.geo.text import core_name
    names = ["长河镇", "重庆长乐路", "厦门大学", "长长长", "六安", "福州路", "A1路", "乐清行长", "长",
             "朝阳区重庆南路", "行", "·", "a（b）", "都江堰市", "单县", "人民广场", "蚌埠长安大街"]
    cores = [core_name(n) for n in names]
    sounds, fulls, initials, owners, extra = bulk_keys(names, cores)
    for i, n in enumerate(names):
        keys = {fulls[i], initials[i]} | {k for o, k in zip(owners, extra) if o == i}
        assert keys - {""} == typed_keys(n), n
        assert sounds[i] == canonical(cores[i]), n
    assert bulk_keys([], []) == ([], [], [], [], [])
