"""The proof of replay: simulate a shift through the real services, snapshot what the
services held at random instants, then fold the log and compare."""
from __future__ import annotations

import random
from datetime import timedelta


from dispatch.feeds.sim_setup import RoadRouter, places_from_db
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import ReplayIndex, load_index
from tests.conftest import NOON_UTC
from tests.integration.replay_support import (START, assert_fold_matches, roster_app,
                                              simulate_with_snapshots)


def _instants(start, hours, n, seed):
    rng = random.Random(seed)
    return [start + timedelta(seconds=rng.uniform(60, hours * 3600 - 60)) for _ in range(n)]


def test_state_folded_from_log_equals_services_at_random_instants(tmp_path):
    app, clock, places = roster_app(tmp_path)
    cfg = SimConfig(hours=3, calls=45, seed=11, start=START)
    snaps = simulate_with_snapshots(app, clock, places, cfg, _instants(START, 3, 12, 5))
    assert len(snaps) >= 10
    index = load_index(app)
    assert assert_fold_matches(index, snaps) > 200
    finals = index.final_incidents()
    assert len(finals) == 45
    assert {i.status.value for i in finals} >= {"closed"}
    assert any(i.status.value in ("dispatched", "on_scene") for _, inc, _, _ in snaps for i in inc)


def test_fold_on_the_demo_with_roads_recommendation_and_duty_windows(app, clock):
    """The full demo: gazetteer places, routes along the OSM roads, dispatch by the
    recommendation (unit.recommended events), volunteers going on duty at 19:00."""
    start = NOON_UTC + timedelta(hours=6)  # 18:00 in Shanghai
    cfg = SimConfig(hours=3, calls=36, seed=21, start=start, use_recommend=True)
    places = places_from_db(app.store)
    assert len(places) > 100
    snaps = simulate_with_snapshots(app, clock, places, cfg, _instants(start, 3, 10, 8),
                                    router=RoadRouter(app.roads))
    index = load_index(app)
    assert assert_fold_matches(index, snaps) > 200
    kinds = {e.kind for i in index.final_incidents() for e in index.incident_events(i.id)}
    assert "unit.recommended" in kinds
    volunteers = [u for u in app.unit_snapshots() if not u.kind.is_police and u.duty]
    assert volunteers and any(len(index.unit_events(u.id)) >= 2 for u in volunteers)  # off, then on duty


def test_fold_on_postgresql(pg_url, tmp_path):
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.sim_setup import load_roster_demo, places_from_osm
    from dispatch.importers.demo import DEMO_OSM
    from dispatch.services.clock import ManualClock
    from dispatch.settings import Settings

    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        clock = ManualClock(START)
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock)
        places = places_from_osm(load_roster_demo(app.store, START, DEMO_OSM))
        cfg = SimConfig(hours=2, calls=25, seed=4, start=START)
        snaps = simulate_with_snapshots(app, clock, places, cfg, _instants(START, 2, 8, 3))
        with app.session() as s:
            index = ReplayIndex.load(s)
        assert app.engine.dialect.name == "postgresql"
        assert assert_fold_matches(index, snaps) > 100
        app.engine.dispose()


def test_vectorised_units_match_the_per_unit_lookup(tmp_path):
    app, clock, places = roster_app(tmp_path)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=2, calls=30, seed=3, start=START)).run()
    index = load_index(app)
    rng = random.Random(2)
    moving = 0
    for _ in range(40):
        t = START + timedelta(seconds=rng.uniform(-600, 2 * 3600 + 600))
        state = index.state_at(t, interpolate=True)
        for u in state.units:
            assert u == index.unit_at(u.id, t, interpolate=True)
        stepped = {u.id: u for u in index.state_at(t, interpolate=False).units}
        for u in stepped.values():
            assert u == index.unit_at(u.id, t, interpolate=False)
        moving += sum(1 for u in state.units if (u.lon, u.lat) != (stepped[u.id].lon, stepped[u.id].lat))
    assert moving > 0  # interpolation really moved some units between fixes


def test_units_at_the_exact_instants_of_their_status_changes_and_fixes(tmp_path):
    """Ties: at the very instant of a status change or a fix, the prebuilt snapshots of
    the vectorised table equal the per-unit lookup (events and fixes at t included)."""
    app, clock, places = roster_app(tmp_path)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=1, calls=20, seed=5, start=START)).run()
    index = load_index(app)
    instants = set()
    for uid in index.unit_ids():
        instants.update(since for since, _, _ in index.unit_status_spans(uid) if since is not None)
        instants.update(index._units[uid].pos_at)
    assert len(instants) > 50
    for t in sorted(instants)[::3]:
        for interpolate in (True, False):
            for u in index.state_at(t, interpolate).units:
                assert u == index.unit_at(u.id, t, interpolate), (t, u.id)
