"""One instant per action: a service reads the clock once, inside its transaction
after the append lock, and the projection and every event of the action share that
instant. With a clock that moves on every read the fold of the log still equals the
projections exactly, and event times never go backwards in id order, also with
several seats at once on the real clock."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.bootstrap import bootstrap
from dispatch.replay.state import ReplayIndex
from dispatch.services import queries
from dispatch.services.clock import SystemClock
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.settings import Settings
from tests.conftest import NOON_UTC
from tests.integration.pg_schema import fresh_schema


class TickingClock:
    """A clock that advances 1.5 ms on every read, like a real one between two reads."""

    def __init__(self, start: datetime, step_s: float = 0.0015) -> None:
        self._now, self._step = start, timedelta(seconds=step_s)
        self.reads = 0

    def now(self) -> datetime:
        self._now += self._step
        self.reads += 1
        return self._now


PLACES = [("人民广场", 121.4737, 31.2304), ("外滩", 121.4903, 31.2400), ("静安寺", 121.4453, 31.2235),
          ("新天地", 121.4750, 31.2190)]


def run_shift(services, units: list[int], calls: int) -> None:
    """Calls through their whole life: open, locate, categorise, dispatch, statuses, notes, close."""
    sv = services
    for k in range(calls):
        name, lon, lat = PLACES[k % len(PLACES)]
        iid = sv.open_call(f"1390000{k:04d}", "").incident_id
        sv.update_caller(iid, f"1390000{k:04d}", "张先生")
        sv.locate(iid, Location(name=name, lon=lon, lat=lat, kind="landmark"))
        sv.categorise(iid, "dispute" if k % 2 else "theft", None, "两人在路边争执")
        sent = units[(2 * k) % len(units):(2 * k) % len(units) + 2]
        sv.dispatch(iid, sent)
        sv.set_unit_status(sent[0], "acknowledged")
        sv.set_unit_status(sent[0], "en_route")
        if len(sent) > 1:
            sv.set_unit_status(sent[1], "available", "另有任务，撤回")
        sv.set_unit_status(sent[0], "on_scene")
        sv.add_note(iid, "现场已控制")
        if k % 3 != 2:
            sv.close(iid, "mediated", "双方和解")
            sv.callback(iid, True, "满意")
        else:
            sv.set_unit_status(sent[0], "available")


def fold_mismatches(app) -> list[str]:  # noqa: ANN001
    """Where the fold of the whole log differs from the projections (incidents fully;
    units by status, status_since and incident)."""
    with app.session() as s:
        index = ReplayIndex.load(s)
        live = {i.id: i for i in queries.open_incidents(s) + queries.recent_closed(s, 10**6)}
        units = queries.unit_snapshots(s)
    folded = {i.id: i for i in index.final_incidents()}
    bad = [f"incident {i}" for i in sorted(set(live) | set(folded)) if live.get(i) != folded.get(i)]
    end = index.end
    for u in units:
        if not index.unit_events(u.id):
            continue
        f = index.unit_at(u.id, end, interpolate=False)
        if (f.status, f.status_since, f.incident_id) != (u.status, u.status_since, u.incident_id):
            bad.append(f"unit {u.callsign}")
    return bad


def event_times(app) -> list[datetime]:  # noqa: ANN001
    with app.session() as s:
        rows = s.execute(text("SELECT occurred_at FROM events ORDER BY id")).scalars().all()
    return [datetime.fromisoformat(r) if isinstance(r, str) else r for r in rows]


def _police(app) -> list[int]:  # noqa: ANN001
    return [u.id for u in app.unit_snapshots() if u.status.value == "available" and u.kind.is_police]


def test_ticking_clock_fold_equals_projections(tmp_path, demo_template):
    import shutil

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    clock = TickingClock(NOON_UTC)
    app = bootstrap(Settings(data_dir=tmp_path), clock=clock)
    run_shift(app.services, _police(app)[:6], calls=9)
    assert clock.reads > 100
    assert fold_mismatches(app) == []
    times = event_times(app)
    assert len(times) > 100 and times == sorted(times)
    with app.session() as s:  # the projection carries the instant of its last event
        for inc in queries.recent_closed(s, 100):
            assert inc.closed_at == inc.updated_at
    app.engine.dispose()


def _seats_at_once(app, settings: Settings, seats: int, calls: int) -> None:  # noqa: ANN001
    clock = SystemClock()
    apps = [bootstrap(settings, clock=clock) for _ in range(seats)]
    police = _police(app)
    share = len(police) // seats
    errors = []

    def work(k: int) -> None:
        sv = apps[k].services_for(Actor(f"席位0{k + 1}", f"接警员{k}"))
        try:
            run_shift(sv, police[k * share:(k + 1) * share], calls)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(seats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in apps:
        a.engine.dispose()
    assert errors == []


def test_seats_on_the_real_clock_sqlite(tmp_path, demo_template):
    import shutil

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    settings = Settings(data_dir=tmp_path)
    app = bootstrap(settings, clock=SystemClock())
    _seats_at_once(app, settings, seats=3, calls=4)
    assert fold_mismatches(app) == []
    times = event_times(app)
    assert len(times) > 100 and times == sorted(times)
    app.engine.dispose()


@pytest.mark.postgres
def test_seats_on_the_real_clock_postgresql(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path)
        app = bootstrap(settings, clock=SystemClock())
        _seats_at_once(app, settings, seats=4, calls=4)
        assert fold_mismatches(app) == []
        times = event_times(app)
        assert len(times) > 150 and times == sorted(times)
        app.engine.dispose()

