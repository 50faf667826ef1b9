"""`python main.py bench screen --incidents 1000 --units 2000`: how fast another seat's
action reaches this seat's screens.

A temporary SQLite file holds the demo (its roads, grids and roster), synthetic units up
to --units and --incidents open incidents (located, categorised, a third of them with a
unit dispatched), written with the benches' bulk recorder. An offscreen MainWindow opens
it; a second seat (another bootstrap on the same file) does --actions actions in turn:
dispatch, unit status, note. For each: from the action's commit to the moment the
queue and board models hold the new state (polled in the GUI thread), and — within
that — from the batch reaching the window to the models holding it (the update itself).
The peer, in the same run: the full `reload()` the window did on every event before.
SQLite has no notifications: the follower polls every --poll-ms (the console's 100 ms),
so commit→screen includes up to one poll interval; on PostgreSQL NOTIFY wakes it.
"""
from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from statistics import median
from typing import Any

# in actions: (name, do it -> check that the screen holds it)
Check = Callable[[], bool]


def _ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))] * 1000, 2)


def _populate(app, n_incidents: int, n_units: int) -> None:  # noqa: ANN001 (dispatch.bootstrap.App)
    """Synthetic units up to n_units and n_incidents open incidents, in bulk."""
    from dispatch.domain.units import UnitStatus
    from dispatch.feeds.bulk import BulkRecorder
    from dispatch.feeds.sim_setup import add_synthetic_units, places_from_osm
    from dispatch.geo.osm import read_osm
    from dispatch.services.context import Actor

    places = places_from_osm(read_osm(app.roads_osm))
    have = len(app.unit_snapshots())
    if n_units > have:
        add_synthetic_units(app.store, n_units - have, places, app.clock.now(), seed=11)
    rng = random.Random(11)
    rec = BulkRecorder(app.store, app.clock, Actor("席位01", "压测"))
    free = [u.id for u in app.unit_snapshots() if u.kind.is_police and u.status is UnitStatus.AVAILABLE]
    rng.shuffle(free)
    cats = ("dispute", "theft", "traffic_accident", "fire")
    for k in range(n_incidents):
        iid = rec.open_call(f"139{k:08d}").incident_id
        rec.locate(iid, rng.choice(places))
        rec.categorise(iid, cats[k % len(cats)])
        if k % 3 == 0 and len(free) > n_units // 2:  # keep half the units free for the actions
            rec.dispatch(iid, [free.pop()])
    rec.flush()


@contextlib.contextmanager
def _database(tmp: Path, pg_url: str | None) -> Iterator[str]:
    """The bench's database: a SQLite file in `tmp`, or a new PostgreSQL schema (created
    here, dropped afterwards) reached through the search_path."""
    if not pg_url:
        yield ""
        return
    from sqlalchemy import create_engine, text

    schema = f"screen_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _advance_sequences(engine) -> None:  # noqa: ANN001 (sqlalchemy Engine)
    """PostgreSQL: the bulk recorder writes ids itself; move the tables' sequences past them."""
    from sqlalchemy import text

    with engine.begin() as c:
        for table in ("incidents", "assignments", "events", "units", "positions"):
            seq = c.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
            if seq:
                c.execute(text(f"SELECT setval('{seq}', (SELECT COALESCE(MAX(id), 1) FROM {table}))"))


def bench_screen(n_incidents: int, n_units: int, actions: int = 60, poll_ms: int | None = None,
                 reloads: int = 5, pg_url: str | None = None) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    import PySide6.QtWebEngineWidgets  # noqa: F401 (before the QApplication)
    from PySide6.QtWidgets import QApplication

    from dispatch.bootstrap import bootstrap
    from dispatch.domain.units import UnitStatus
    from dispatch.services.context import Actor
    from dispatch.settings import Settings
    from ui.main_window import MainWindow

    from PySide6.QtCore import QEventLoop

    app_ = QApplication.instance() or QApplication(["bench-screen"])
    # QCoreApplication.processEvents() of PySide6 6.12 drops a reference to None on every
    # call (the process aborts after ~10^4 calls); a QEventLoop's own does not
    qt = QEventLoop()
    with tempfile.TemporaryDirectory(prefix="screen-bench-") as tmp, _database(Path(tmp), pg_url) as url:
        t0 = time.perf_counter()
        app = bootstrap(Settings(data_dir=Path(tmp), db_url=url))
        _populate(app, n_incidents, n_units)
        if url:
            _advance_sequences(app.engine)
        setup_s = time.perf_counter() - t0
        peer_app = bootstrap(Settings(data_dir=Path(tmp), db_url=url, seat="席位09", operator="压测"))
        peer = peer_app.services_for(Actor("席位09", "压测"))

        w = MainWindow(app)
        w.resize(1920, 1080)
        w.show()
        if poll_ms is not None:
            w.follower.interval_ms = poll_ms
        poll_ms = w.follower.interval_ms  # SQLite: the poll; PostgreSQL: the safety net
        shown_incidents, shown_units = w.queue.model.rowCount(), w.board.model.rowCount()

        stamp: dict[str, float] = {}
        w.follower.changed.disconnect(w.updates.on_events)

        waiting: list[Check] = []  # the check of the action in flight

        def on_events(events: list) -> None:  # the window's own handler, timed
            received, c0 = time.perf_counter(), time.thread_time()
            w.updates.on_events(events)
            applied, cpu_s = time.perf_counter(), time.thread_time() - c0
            if waiting and "held" not in stamp and waiting[0]():  # this batch brought the new state
                stamp.update(received=received, applied=applied, cpu=cpu_s, held=time.perf_counter())

        w.follower.changed.connect(on_events)
        deadline = time.time() + 60
        while (not w.map.is_ready) and time.time() < deadline:
            qt.processEvents()
            time.sleep(0.005)

        def queue_view(iid: int):  # noqa: ANN202
            m = w.queue.model
            return m.incident_at(m.row_of(iid))

        pending = [v.id for v in w._incidents if not v.assignments]
        free = [u.id for u in w._units if u.kind.is_police and u.status is UnitStatus.AVAILABLE]
        dispatched: list[int] = []
        rng = random.Random(7)

        def do_dispatch() -> Check:
            iid, uid = pending.pop(), free.pop()
            peer.dispatch(iid, [uid])
            dispatched.append(uid)
            return lambda: (w.board.model.unit(uid).status is UnitStatus.DISPATCHED
                            and any(a.unit_id == uid for a in queue_view(iid).assignments))

        def do_status() -> Check:
            uid = dispatched.pop(0)
            peer.set_unit_status(uid, UnitStatus.EN_ROUTE)
            iid = w.board.model.unit(uid).incident_id
            return lambda: (w.board.model.unit(uid).status is UnitStatus.EN_ROUTE
                            and any(a.en_route_at is not None for a in queue_view(iid).assignments
                                    if a.unit_id == uid))

        def do_note() -> Check:
            iid = rng.choice(w._incidents).id
            was = queue_view(iid).version
            peer.add_note(iid, "补充：现场情况有变化")
            return lambda: queue_view(iid).version > was

        kinds = {"dispatch": do_dispatch, "status": do_status, "note": do_note}
        e2e: dict[str, list[float]] = {k: [] for k in kinds}
        update: list[float] = []
        delivery: list[float] = []  # commit -> the batch reaching the window (poll or NOTIFY)
        cpu: list[float] = []
        to_idle: list[float] = []  # commit -> the event loop free again (the rows repainted)
        missed = 0
        full_before = sum(w.updates.full_reloads.values())
        for k in range(actions):
            name = ("dispatch", "status", "note")[k % 3]
            gap = time.perf_counter() + rng.uniform(0.0, 0.2)  # actions come at random, not in step
            while time.perf_counter() < gap:  # with the follower's poll or the NOTIFY coalescing
                qt.processEvents()
            stamp.clear()
            waiting.clear()
            check = kinds[name]()
            committed = time.perf_counter()
            waiting.append(check)
            end = committed + 5
            while "held" not in stamp and time.perf_counter() < end:
                qt.processEvents()
            idle = time.perf_counter()
            if "held" not in stamp:
                missed += 1
                continue
            e2e[name].append(stamp["held"] - committed)
            to_idle.append(idle - committed)
            update.append(stamp["applied"] - stamp["received"])
            delivery.append(stamp["received"] - committed)
            cpu.append(stamp["cpu"])
        waiting.clear()
        everything = [x for v in e2e.values() for x in v]

        full = []  # the peer: the whole re-read and reset, as every event did before
        for _ in range(reloads):
            t = time.perf_counter()
            w.reload()
            full.append(time.perf_counter() - t)
        result = {
            "db": app.engine.dialect.name, "open_incidents": shown_incidents, "units": shown_units, "actions": actions,
            "poll_ms": poll_ms, "setup_s": round(setup_s, 1),
            "commit_to_models_p50_ms": _ms(everything, 0.5), "commit_to_models_p95_ms": _ms(everything, 0.95),
            "commit_to_loop_idle_p95_ms": _ms(to_idle, 0.95),
            "delivery_p50_ms": _ms(delivery, 0.5), "delivery_p95_ms": _ms(delivery, 0.95),
            "update_p50_ms": _ms(update, 0.5), "update_p95_ms": _ms(update, 0.95),
            "update_cpu_p50_ms": _ms(cpu, 0.5),
            "by_action_p95_ms": {k: _ms(v, 0.95) for k, v in e2e.items()},
            "full_reload_p50_ms": round(median(full) * 1000, 1), "full_reload_max_ms": round(max(full) * 1000, 1),
            "full_reloads_during_actions": sum(w.updates.full_reloads.values()) - full_before,
            "missed": missed, "budget_ms": 50,
            "within_budget": bool(everything) and not missed and _ms(everything, 0.95) <= 50,
        }
        w.close()
        w.deleteLater()
        qt.processEvents()
        del app_
        peer_app.engine.dispose()
        app.engine.dispose()
    return result


def register(bench) -> None:  # noqa: ANN001 (argparse._SubParsersAction)
    """`bench screen` (called from ui.commands.register)."""
    from dispatch.commands.support import positive_int

    p = bench.add_parser("screen", help="another seat's action to this seat's queue and board, beside a full reload")
    p.add_argument("--incidents", type=positive_int, default=1000)
    p.add_argument("--units", type=positive_int, default=2000)
    p.add_argument("--actions", type=positive_int, default=60)
    p.add_argument("--poll-ms", type=positive_int, help="the follower's timer (console: SQLite 100, PostgreSQL 2000)")
    p.add_argument("--pg", metavar="URL", help="run on PostgreSQL: a new schema in this database, dropped afterwards")
    p.set_defaults(handler=_run)


def _run(args) -> int:  # noqa: ANN001 (argparse.Namespace)
    from dispatch.commands.support import print_bench

    figures = bench_screen(args.incidents, args.units, args.actions, args.poll_ms, pg_url=args.pg)
    print_bench("screen", **figures)
    return 0
