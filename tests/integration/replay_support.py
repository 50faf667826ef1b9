"""Shared set-up for the replay and simulator tests: a database with the demo
stations and roster (no gazetteer), places from the demo OSM junctions."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from dispatch.bootstrap import App, bootstrap
from dispatch.feeds.sim_setup import load_roster_demo, places_from_osm
from dispatch.services.locations import Location
from dispatch.importers.demo import DEMO_OSM
from dispatch.services.clock import ManualClock
from dispatch.settings import Settings

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai


def roster_app(tmp_path: Path, start: datetime = START, db_url: str | None = None
               ) -> tuple[App, ManualClock, list[Location]]:
    """(`db_url`: another database than the file in tmp_path, PostgreSQL's.)"""
    clock = ManualClock(start)
    app = bootstrap(Settings(data_dir=tmp_path, load_demo=False, **({"db_url": db_url} if db_url else {})), clock)
    osm = load_roster_demo(app.store, start, DEMO_OSM)
    return app, clock, places_from_osm(osm)


def simulate_with_snapshots(app: App, clock: ManualClock, places, cfg, instants, router=None):
    """Run the simulator through app.services and snapshot what the services held
    (open incidents, recently closed ones, units) at each of `instants`."""
    from dispatch.feeds.simulator import Simulator
    from dispatch.services import queries

    pending = sorted(instants)
    snaps = []

    def on_step(when):
        while pending and when > pending[0]:  # everything up to pending[0] has run
            t = pending.pop(0)
            with app.session() as s:
                snaps.append((t, queries.open_incidents(s), queries.recent_closed(s, 20),
                              queries.unit_snapshots(s)))

    Simulator(app.services, clock, app.unit_snapshots(), places, cfg, router=router, on_step=on_step).run()
    return snaps


def assert_fold_matches(index, snaps) -> int:
    """The state folded from the log equals the services' snapshots; returns how many
    incident and unit states were compared."""
    compared = 0
    for t, open_now, closed_now, units in snaps:
        state = index.state_at(t, interpolate=False)
        assert [i.id for i in state.incidents] == [i.id for i in open_now], t
        assert {i.id: i for i in state.incidents} == {i.id: i for i in open_now}, t
        for closed in closed_now:
            assert index.incident_at(closed.id, t) == closed, (t, closed.id)
        by_id = {u.id: u for u in state.units}
        assert set(by_id) == {u.id for u in units}
        for live in units:
            folded = by_id[live.id]
            if folded.status_since is None:  # before the unit's first event: not in the log
                fields = {f: getattr(live, f) for f in live.__slots__ if f != "extra"}
                live = live.__class__(**{**fields, "status_since": None})
            assert folded == live, (t, live.callsign)
        compared += len(open_now) + len(closed_now) + len(units)
    return compared
