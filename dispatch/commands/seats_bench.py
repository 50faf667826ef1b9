"""`bench seats --seats N --seconds S [--pace-ms MS] [--db URL]`: N seats as separate processes on one
database, each taking calls through the services while a follower (the console's,
dispatch.feeds.follower) in each seat delivers every event of the log.

Each seat is a process (`python -m dispatch.commands.seats_bench CONFIG`) with its own
App on the same URL, logged in as the demo call-taker at its own seat. It loops: open
the call, locate it at a demo place, categorise, recommend and dispatch the first
ranked unit, en route, on scene, available, close; as fast as the services answer (a
stress far above a real room) or with a pause of mean --pace-ms before each action.
Seats pick from a few places and take the first unit ranked, so they race for the same
nearest units on purpose: a refused dispatch (the unit was taken first) is counted in
`refused`, then the seat recommends again. Every service call is timed (p50/p95).

`visible`: the time from a seat's service call returning (its events committed) to
another seat's follower delivering those event ids (CLOCK_MONOTONIC is one clock for
every process on the machine; unit.recommended is not timed: recommend() returns no
event id). `missed`: events in the log at the end that a follower
never delivered, summed over the followers. `double_dispatch`: a unit with two open
assignments at once, in the log (dispatched again before it was released) or in the
assignments table at the end. `fold_equal`: the fold of the log equals the projections. `seat_cpu_ms_per_call`: the
CPU time of the seat processes (service calls and followers) per service call, a figure
that a busy machine disturbs less than the latencies (`service_calls` of them;
`calls` counts the seats' cycles through a call). `pg_cpu_ms_per_call`: the same for the
PostgreSQL backends of the seats, when the server runs on this machine (read from /proc).
On PostgreSQL, `lock_wait_*` and
`lock_hold_*`: per action, the time its append-lock statement took (the queue) and the
time from the lock to the end of its commit (what the others queue for).

The parent talks to each seat by lines on the seat's stdin/stdout: seat `ready`, parent
`go T0 END`, seat `written`, parent `drain LAST_ID`, seat `done` (results in a file).
Without --db the bench runs on a scratch SQLite file with the demo; with --db (PostgreSQL
only) on a fresh schema it creates and drops. It never writes into a live database.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from dispatch.commands.support import _int_between, print_bench
from dispatch.domain.errors import DispatchError

TAG = "@seats"
PLACES = 4  # few places: seats often want the same nearest units at once
CATEGORIES = ("dispute", "theft", "public_order", "missing_person")


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = bench.add_parser("seats", help="N seats as processes on one database: service latency, "
                                       "every follower sees every event, no double dispatch")
    p.add_argument("--seats", type=_bounded(1, 64, "席位数"), default=4, help="seat processes (1-64)")
    p.add_argument("--seconds", type=_bounded(1, 3600, "秒数"), default=20, help="run time (1-3600 s)")
    p.add_argument("--pace-ms", type=_bounded(0, 60000, "间隔毫秒数"), default=0,
                   help="a seat's mean pause between two actions (0: as fast as the services answer)")
    p.add_argument("--db", dest="bench_db", metavar="URL",
                   help="postgresql://... to run on PostgreSQL (in a scratch schema, dropped after); "
                        "otherwise a scratch SQLite file with the demo. Never a live database.")
    p.set_defaults(handler=run)


def _bounded(low: int, high: int, what: str):  # noqa: ANN202
    return lambda text: _int_between(text, low, high, what)


def _say(*words: object) -> None:
    print(TAG, *words, flush=True)


def _note(text: str) -> None:
    sys.stderr.write(f"bench seats: {text}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- the parent

def run(args: argparse.Namespace) -> int:
    url = getattr(args, "bench_db", None) or getattr(args, "db", None)
    if url and not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise DispatchError("bench seats 的 --db 只接受 postgresql:// 地址（在新建的临时 schema 中运行，结束后删除）；"
                            "不给 --db 则使用临时 SQLite 文件")
    with tempfile.TemporaryDirectory(prefix="seats-bench-") as scratch:
        with _database(url, Path(scratch)) as (db_url, dialect):
            figures = _bench(db_url, Path(scratch), args.seats, args.seconds, args.pace_ms)
    print_bench("seats", db=dialect, seconds=args.seconds, pace_ms=args.pace_ms, **figures)
    return 0


@contextlib.contextmanager
def _database(url: str | None, scratch: Path) -> Iterator[tuple[str, str]]:
    """The scratch SQLite file, or a new schema on the PostgreSQL server (dropped after)."""
    if not url:
        yield f"sqlite:///{scratch / 'bench.sqlite3'}", "sqlite"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from dispatch.store.db import describe_db_error
    schema = f"seats_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
    except ArgumentError as exc:
        raise DispatchError(f"数据库地址格式不正确: {url}（{exc}）") from None
    except DBAPIError as exc:
        raise DispatchError(describe_db_error(exc)) from None
    try:
        yield (f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
               f"&application_name={schema}"), "postgresql"  # the name finds the bench's backends
    finally:
        try:
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        except DBAPIError as exc:  # the figures stand; say what is left behind
            _note(f"未能删除临时 schema {schema}: {describe_db_error(exc)}")
        admin.dispose()


def _bench(db_url: str, scratch: Path, seats: int, seconds: int, pace_ms: int = 0) -> dict:
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.sim_setup import places_from_db
    from dispatch.geo.warmup import compile_kernels
    from dispatch.settings import Settings
    from dispatch.store import eventlog

    _note(f"准备数据库与演示数据（{db_url.split(':', 1)[0]}）…")
    settings = Settings(db_url=db_url, data_dir=scratch / "data", seat="席位-bench")
    app = bootstrap(settings)
    try:
        compile_kernels(app.roads)  # the road cache and the kernels once, for every seat
        points = places_from_db(app.store)
        step = max(1, len(points) // PLACES)
        places = [p.payload() for p in points[::step][:PLACES]]
        if not places:
            raise DispatchError("演示数据中没有可用的地点")
        with app.session() as s:
            base = eventlog.last_id(s)
        procs = _start_seats(seats, {"db_url": db_url, "data_dir": str(settings.data_dir),
                                     "base": base, "places": places, "pace_s": pace_ms / 1000}, scratch)
        try:
            for k, p in enumerate(procs):
                _expect(p, k, "ready", 300)
            _note(f"{seats} 个席位就绪，运行 {seconds} 秒…")
            t0 = time.monotonic() + 0.3
            server = _ServerCpu(app)
            for p in procs:
                _send(p, f"go {t0!r} {t0 + seconds!r}")
            for k, p in enumerate(procs):
                _expect(p, k, "written", seconds + 120 + 25 * pace_ms / 1000)
            server_cpu_s = server.used_s()
            with app.session() as s:
                last = eventlog.last_id(s)
            for p in procs:
                _send(p, f"drain {last}")
            for k, p in enumerate(procs):
                _expect(p, k, "done", 120)
                p.wait(60)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        _note("校验日志与投影…")
        results = [json.loads((scratch / f"seat{k}.json").read_text()) for k in range(seats)]
        figures = _figures(app, results, base, t0, seats)
        if server_cpu_s is not None:
            figures["pg_cpu_ms_per_call"] = round(1000 * server_cpu_s / max(figures["service_calls"], 1), 2)
        return figures
    finally:
        app.engine.dispose()


class _ServerCpu:
    """PostgreSQL on this machine: the CPU time of the bench's server backends (the seats'
    pooled connections and listeners, found by the application_name the bench gives its
    URL) from the start of the run, read from /proc; None when they cannot be read (a
    remote server). A backend that connects and ends within the run is not counted."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self._app = app
        self._start = self._sample()

    def _sample(self) -> dict[int, float] | None:
        from sqlalchemy import text
        if self._app.engine.dialect.name != "postgresql":
            return None
        with self._app.store.read_connection() as c:
            pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                  "current_setting('application_name') AND pid <> pg_backend_pid()")).scalars().all()
        tick, used = os.sysconf("SC_CLK_TCK"), {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return used or None

    def used_s(self) -> float | None:
        end = self._sample()
        if self._start is None or end is None:
            return None
        return sum(t - self._start.get(pid, 0.0) for pid, t in end.items())


def _start_seats(n: int, common: dict, scratch: Path) -> list[subprocess.Popen]:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    procs = []
    for k in range(n):
        cfg = scratch / f"seat{k}.config.json"
        cfg.write_text(json.dumps(common | {"seat": k, "out": str(scratch / f"seat{k}.json")}))
        procs.append(subprocess.Popen([sys.executable, "-m", "dispatch.commands.seats_bench", str(cfg)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env))
    return procs


def _send(p: subprocess.Popen, line: str) -> None:
    assert p.stdin is not None
    try:
        p.stdin.write(line + "\n")
        p.stdin.flush()
    except OSError:  # a broken pipe: the seat has died
        raise DispatchError(f"席位进程意外退出（返回码 {p.wait()}），见上方错误输出") from None


def _expect(p: subprocess.Popen, k: int, word: str, timeout: float) -> None:
    assert p.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            raise DispatchError(f"席位{k + 1:02d} 在 {timeout:.0f} 秒内没有回应（等待 {word}）")
        line = p.stdout.readline()
        if not line:
            raise DispatchError(f"席位{k + 1:02d} 进程意外退出（返回码 {p.wait()}），见上方错误输出")
        if line.split()[:2] == [TAG, word]:
            return


def _quantile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1)


def _figures(app, results: list[dict], base: int, t0: float, seats: int) -> dict:  # noqa: ANN001
    from sqlalchemy import select

    from dispatch.store.schema import EventRow
    with app.session() as s:
        log_ids = set(s.scalars(select(EventRow.id).where(EventRow.id > base)))
    durations = [d for r in results for _name, d in r["calls"]]
    by_service: dict[str, list[float]] = {}
    for r in results:
        for name, d in r["calls"]:
            by_service.setdefault(name, []).append(d)
    committed = {int(e): (r["seat"], t) for r in results for e, t in r["committed"].items()}
    visible, missed = [], 0
    for r in results:
        delivered = {int(e): t for e, t in r["delivered"].items()}
        missed += len(log_ids - delivered.keys())
        visible += [delivered[e] - t for e, (seat, t) in committed.items() if seat != r["seat"] and e in delivered]
    wall = max(r["written_at"] for r in results) - t0
    return {"seats": seats, "events": len(log_ids), "events_per_s": round(len(log_ids) / max(wall, 1e-9), 1),
            "p50_ms": _quantile_ms(durations, 0.5), "p95_ms": _quantile_ms(durations, 0.95),
            "missed": missed, "double_dispatch": _double_dispatches(app),
            "visible_p95_ms": _quantile_ms(visible, 0.95), "fold_equal": _fold_equal(app),
            "visible_p50_ms": _quantile_ms(visible, 0.5), "visible_n": len(visible),
            "delivered_twice": sum(r["twice"] for r in results),
            "calls": sum(r["cycles"] for r in results), "service_calls": len(durations),
            "refused": sum(r["refused"] for r in results),
            "errors": sum(len(r["errors"]) for r in results),
            "p95_ms_by_service": {k: _quantile_ms(v, 0.95) for k, v in sorted(by_service.items())},
            "seat_cpu_ms_per_call": round(1000 * sum(r["cpu_s"] for r in results) / max(len(durations), 1), 2),
            **_lock_figures(results),
            "wall_s": round(wall, 2), "loadavg_1m": round(os.getloadavg()[0], 2)}


def _lock_figures(results: list[dict]) -> dict:
    """PostgreSQL: the append lock's wait and hold per action, over every seat."""
    waits = [w for r in results for w in r.get("lock_waits", [])]
    holds = [h for r in results for h in r.get("lock_holds", [])]
    if not waits:
        return {}
    return {"lock_wait_p50_ms": _quantile_ms(waits, 0.5), "lock_wait_p95_ms": _quantile_ms(waits, 0.95),
            "lock_hold_p50_ms": _quantile_ms(holds, 0.5), "lock_hold_p95_ms": _quantile_ms(holds, 0.95)}


def _double_dispatches(app) -> int:  # noqa: ANN001
    """Units dispatched while still committed to an incident (in the log), plus units with
    more than one open assignment in the projection at the end."""
    from sqlalchemy import func, select

    from dispatch.domain import events as ev
    from dispatch.domain.units import UnitStatus
    from dispatch.store.schema import AssignmentRow, EventRow
    doubles, committed = 0, set()
    with app.session() as s:
        rows = s.execute(select(EventRow.kind, EventRow.unit_id, EventRow.payload)
                         .where(EventRow.unit_id.is_not(None)).order_by(EventRow.id))
        for kind, unit, payload in rows:
            if kind == ev.UNIT_DISPATCHED:
                doubles += unit in committed
                committed.add(unit)
            elif kind in (ev.UNIT_STATUS, ev.UNIT_ACKNOWLEDGED) and (payload or {}).get("to"):
                if not UnitStatus(payload["to"]).committed:
                    committed.discard(unit)
        open_counts = s.execute(select(AssignmentRow.unit_id, func.count()).where(AssignmentRow.cleared_at.is_(None))
                                .group_by(AssignmentRow.unit_id).having(func.count() > 1)).all()
    return doubles + len(open_counts)


def _fold_equal(app) -> bool:  # noqa: ANN001
    bad = _fold_mismatches(app)
    if bad:
        _note(f"日志折叠与投影不一致: {', '.join(bad[:10])}{' …' if len(bad) > 10 else ''}")
    return not bad


def _fold_mismatches(app) -> list[str]:  # noqa: ANN001
    """Where the fold of the whole log differs from the projections: incidents fully,
    units by status, status_since and incident (as tests/integration/test_one_instant.py)."""
    from dispatch.replay.state import ReplayIndex
    from dispatch.services import queries
    with app.session() as s:
        index = ReplayIndex.load(s)
        live = {i.id: i for i in queries.open_incidents(s) + queries.recent_closed(s, 10**9)}
        units = queries.unit_snapshots(s)
    folded = {i.id: i for i in index.final_incidents()}
    bad = [f"incident {i}" for i in sorted(set(live) | set(folded)) if live.get(i) != folded.get(i)]
    for u in units:
        if index.unit_events(u.id) and index.end is not None:
            f = index.unit_at(u.id, index.end, interpolate=False)
            if (f.status, f.status_since, f.incident_id) != (u.status, u.status_since, u.incident_id):
                bad.append(f"unit {u.callsign}")
    return bad


# ---------------------------------------------------------------- one seat (a process)

class _Delivery(threading.Thread):
    """The seat's follower, as the console runs it: woken by NOTIFY on PostgreSQL (a timed
    read as safety net), polling on SQLite; records when each event id was delivered."""

    def __init__(self, store, base: int) -> None:  # noqa: ANN001
        from dispatch.feeds.follower import Follower
        super().__init__(name="seat-follower", daemon=True)
        self.follower = Follower(store, cursor=base)
        self.delivered: dict[int, float] = {}
        self.twice = 0
        self.read_errors = 0
        self._target: int | None = None
        self._stopping = threading.Event()

    def begin(self) -> None:
        self.follower.listen()
        if self.follower.listener is not None:
            self.follower.listener.connected.wait(30)
        self.start()

    def run(self) -> None:
        from dispatch.feeds.follower import PG_FALLBACK_S, SQLITE_POLL_S
        interval = PG_FALLBACK_S if self.follower.can_listen else SQLITE_POLL_S
        while not self._stopping.is_set():
            target = self._target
            if target is not None and self.follower.cursor >= target:
                return
            self.follower.wait(interval if target is None else 0.05)
            try:
                new = self.follower.read_new()
            except DispatchError:
                self.read_errors += 1
                continue
            now = time.monotonic()
            for e in new:
                if e.id in self.delivered:
                    self.twice += 1
                else:
                    self.delivered[e.id] = now

    def drain(self, last_id: int, timeout: float = 30.0) -> None:
        """Follow until the cursor reaches `last_id` (every seat has stopped writing)."""
        self._target = last_id
        self.join(timeout)
        self._stopping.set()
        self.join()
        self.follower.close()


class _Seat:
    """One call-taker going through calls: as fast as the services answer, or with a
    random pause of mean `pace_s` before each action."""

    def __init__(self, services, places: list, k: int, pace_s: float = 0.0) -> None:  # noqa: ANN001
        self.sv, self.places, self.k, self.pace_s = services, places, k, pace_s
        self.rng = random.Random(k)
        self.calls: list[tuple[str, float]] = []
        self.committed: dict[int, float] = {}
        self.cycles = self.refused = 0
        self.errors: list[str] = []

    def _call(self, name: str, fn, *args):  # noqa: ANN001, ANN202
        from dispatch.services.context import Changes
        if self.pace_s:
            time.sleep(self.rng.uniform(0, 2 * self.pace_s))
        t = time.monotonic()
        try:
            result = fn(*args)
        finally:
            done = time.monotonic()
            self.calls.append((name, done - t))
        if isinstance(result, Changes):
            for eid in result.event_ids:
                self.committed[eid] = done
        return result

    def run(self, end: float) -> None:
        while time.monotonic() < end:
            try:
                self.cycle()
            except DispatchError as exc:
                self.errors.append(str(exc))
                if len(self.errors) <= 3:
                    _note(f"席位{self.k + 1:02d}: {exc}")
            self.cycles += 1

    def cycle(self) -> None:
        sv, n = self.sv, self.cycles
        iid = self._call("open_call", sv.open_call, f"1380{self.k:03d}{n:04d}", "").incident_id
        self._call("locate", sv.locate, iid, self.places[self.rng.randrange(len(self.places))])
        self._call("categorise", sv.categorise, iid, CATEGORIES[n % len(CATEGORIES)], None, "席位压测")
        unit = self._dispatch(iid)
        if unit is None:
            self._call("close", sv.close, iid, "invalid", "无可派警力")
            return
        for status in ("en_route", "on_scene", "available"):
            self._call("set_unit_status", sv.set_unit_status, unit, status)
        self._call("close", sv.close, iid, "handled", "")

    def _dispatch(self, iid: int) -> int | None:
        """Recommend and send the first ranked unit; when another seat took it first
        (refused: counted), recommend again."""
        for _ in range(8):
            ranked = self._call("recommend", self.sv.recommend, iid).ranked
            if not ranked:
                time.sleep(0.01)
                continue
            r = ranked[0]
            try:
                self._call("dispatch", self.sv.dispatch, iid, [r.unit_id], {r.unit_id: (r.eta_s, r.route_m)})
                return r.unit_id
            except DispatchError:
                self.refused += 1
        return None


class _LockTimes:
    """PostgreSQL: how long this seat's actions waited for the append lock (its statement)
    and held it (from the lock to the end of the commit or rollback), per action."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.waits: list[float] = []
        self.holds: list[float] = []
        self._sent: dict[int, float] = {}
        self._locked: dict[int, float] = {}

        def before(_conn, _cur, statement, *_a) -> None:  # noqa: ANN001
            if "pg_advisory_xact_lock" in statement:
                self._sent[threading.get_ident()] = time.monotonic()

        def after(_conn, _cur, statement, *_a) -> None:  # noqa: ANN001
            sent = self._sent.pop(threading.get_ident(), None)
            if sent is not None:
                now = time.monotonic()
                self.waits.append(now - sent)
                self._locked[threading.get_ident()] = now

        def ended(*_a) -> None:  # noqa: ANN002
            locked = self._locked.pop(threading.get_ident(), None)
            if locked is not None:
                self.holds.append(time.monotonic() - locked)
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        event.listen(Session, "after_commit", ended)
        event.listen(Session, "after_rollback", ended)


def _seat_main(config_path: str) -> int:
    from dispatch.bootstrap import bootstrap
    from dispatch.geo.warmup import compile_kernels
    from dispatch.services.accounts import demo_login
    from dispatch.services.locations import Location
    from dispatch.settings import Settings

    cfg = json.loads(Path(config_path).read_text())
    k = cfg["seat"]
    settings = Settings(db_url=cfg["db_url"], data_dir=Path(cfg["data_dir"]), seat=f"席位{k + 1:02d}",
                        load_demo=False)
    app = bootstrap(settings)
    login = demo_login(app.store)
    if login is not None:
        app.login(*login)
    compile_kernels(app.roads)
    _ = app.grid_index
    delivery = _Delivery(app.store, cfg["base"])
    delivery.begin()
    seat = _Seat(app.services, [Location(**p) for p in cfg["places"]], k, cfg["pace_s"])
    lock = _LockTimes(app.engine)
    _say("ready")
    go = sys.stdin.readline().split()
    if go[:1] != ["go"]:
        return 1
    t0, end = float(go[1]), float(go[2])
    time.sleep(max(0.0, t0 - time.monotonic()))
    cpu0 = time.process_time()
    seat.run(end)
    written_at = time.monotonic()
    cpu_s = time.process_time() - cpu0  # the seat and its follower, while writing
    _say("written")
    drain = sys.stdin.readline().split()
    if drain[:1] != ["drain"]:
        return 1
    delivery.drain(int(drain[1]))
    Path(cfg["out"]).write_text(json.dumps({
        "seat": k, "calls": seat.calls, "committed": seat.committed, "delivered": delivery.delivered,
        "twice": delivery.twice, "read_errors": delivery.read_errors, "cycles": seat.cycles,
        "refused": seat.refused, "errors": seat.errors, "written_at": written_at, "cpu_s": cpu_s,
        "lock_waits": lock.waits, "lock_holds": lock.holds}))
    app.engine.dispose()
    _say("done")
    return 0


if __name__ == "__main__":
    sys.exit(_seat_main(sys.argv[1]))
