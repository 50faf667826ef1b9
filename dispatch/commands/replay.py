"""Headless commands of replay: `simulate`, `state --at`, `checkpoints`, `stats`, `bench replay`."""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from dispatch.commands.support import open_app, print_bench, print_json, settings_from_args
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("simulate", help="simulate a shift through the real services")
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="ISO time (naive = local Asia/Shanghai); default: after the log")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between position reports")
    p.add_argument("--idle-interval", type=float, default=60.0,
                   help="seconds between a parked unit's position reports (0: only while driving)")
    p.add_argument("--recommend", action="store_true", help="dispatch the top of the recommendation")
    p.add_argument("--straight", action="store_true", help="straight-line router (no road graph)")
    p.add_argument("--feed", metavar="jt808://HOST:PORT",
                   help="send the units' positions over JT/T 808 (TCP) to a running `avl listen` "
                        "on the same database, instead of writing them directly")
    p.add_argument("--realtime", action="store_true",
                   help="the simulation's clock follows the wall clock from now (cars move live; Ctrl+C stops)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_simulate)

    p = commands.add_parser("state", help="incidents and units as they were at an instant")
    p.add_argument("--at", required=True, help="ISO time (naive = local Asia/Shanghai)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_state)

    p = commands.add_parser("checkpoints", help="bring the replay checkpoints up to the log's end, a slice at a time")
    p.add_argument("--json", action="store_true")
    p.add_argument("--background", action="store_true",
                   help="at the lowest CPU priority (what the console runs hourly beside itself)")
    p.set_defaults(handler=_checkpoints)

    p = commands.add_parser("stats", help="statistics of a period (CSV with --csv)")
    p.add_argument("--from", dest="since", help="ISO time (naive = local)")
    p.add_argument("--to", dest="until", help="ISO time (naive = local)")
    p.add_argument("--csv", metavar="FILE", help="write the tables as CSV")
    p.add_argument("--by", choices=("priority", "category", "grid", "hour"),
                   help="calls and intervals per group (JSON: calls, intervals, groups)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_stats)
    i = commands.add_parser("import-calls", help="import another system's call log (CSV) with a TOML mapping")
    i.add_argument("file", help="the CSV export")
    i.add_argument("--mapping", required=True, metavar="MAPPING.toml", help="columns, time format and zone")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=_import_calls)

    b = bench.add_parser("replay", help="load a 24 h shift for replay; state at random instants")
    b.add_argument("--calls", type=int, default=20000)
    b.add_argument("--hours", type=float, default=24.0)
    b.add_argument("--units", type=int, default=0, help="synthetic units (default: calls / 25)")
    b.add_argument("--samples", type=int, default=300)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--period", type=float, default=24.0,
                   help="hours loaded from checkpoints, ending at the end of the log")
    b.set_defaults(handler=_bench_replay)


EARLIEST, LATEST = 2000, 2100  # years: an instant outside is a typing slip, not a shift of this centre


def parse_instant(text: str, tz: str = "Asia/Shanghai") -> datetime:
    """An ISO 8601 time; without an offset it is local time in `tz`. Returned in UTC.
    DispatchError (in Chinese) when malformed or outside the years EARLIEST..LATEST
    (0001-01-01 would otherwise overflow turning into UTC)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DispatchError(f"时间格式不正确（应为 ISO 8601，如 2026-11-02T09:30:00）: {text}") from None
    if not EARLIEST <= value.year < LATEST:
        raise DispatchError(f"时间 {text} 超出范围（应在 {EARLIEST} 年到 {LATEST} 年之间）")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


def parse_period(since_text: str | None, until_text: str | None,
                 tz: str = "Asia/Shanghai") -> tuple[datetime | None, datetime | None]:
    """--from/--to: each parse_instant's; refused when the end is not after the start."""
    since = parse_instant(since_text, tz) if since_text else None
    until = parse_instant(until_text, tz) if until_text else None
    if since is not None and until is not None and until <= since:
        raise DispatchError(f"结束时间 --to {until_text} 应晚于开始时间 --from {since_text}")
    return since, until


SIMULATION_PURPOSE = "simulation"


def _simulate(args: argparse.Namespace) -> int:
    """A simulated shift, written only into a training copy (--training) or a database named
    with --db that is new or was made by simulate; its clock never passes the real now."""
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.sim_setup import RoadRouter, StraightRouter, places_from_db, places_from_osm
    from dispatch.feeds.simulator import SimConfig, Simulator
    from dispatch.geo.osm import read_osm
    from dispatch.services.clock import ManualClock, SystemClock
    from dispatch.store import eventlog

    if not (args.hours > 0 and args.hours <= 24 * 31) or args.calls < 0 or args.calls > 1_000_000:
        raise DispatchError("模拟时长须在 0 到 744 小时之间，警情数须在 0 到 1000000 之间")
    if not (args.interval >= 1):
        raise DispatchError("位置上报间隔至少 1 秒")
    if not (args.idle_interval == 0 or 10 <= args.idle_interval <= 3600):
        raise DispatchError("停驻上报间隔须为 0（不上报）或 10 到 3600 秒")
    if not getattr(args, "db", None) and not getattr(args, "training", False):
        raise DispatchError("模拟不能写入实战数据库：请用 --training（培训副本）或 --db 指定新的数据库文件")
    realtime = getattr(args, "realtime", False)
    if realtime and args.start:
        raise DispatchError("--realtime 从当前时间开始，不能与 --start 同用")
    feed_addr = None
    if getattr(args, "feed", None):
        from dispatch.feeds.sim_feed import parse_feed_url
        feed_addr = parse_feed_url(args.feed)
    real_now = SystemClock().now().replace(microsecond=0)  # a simulation never runs past it
    settings = settings_from_args(args)
    start = parse_instant(args.start, settings.tz) if args.start else None
    if start is not None and start + timedelta(hours=args.hours) > real_now:
        raise DispatchError("模拟结束时间不能晚于当前时间：请提前 --start 或缩短 --hours")
    clock = ManualClock(start or (real_now if realtime else real_now - timedelta(hours=args.hours)))
    app = bootstrap(settings, clock)  # a new database is loaded "at" the start
    with app.session() as s:
        last_id = eventlog.last_id(s)
        last = eventlog.read(s, since_id=max(0, last_id - 1))
        from sqlalchemy import select

        from dispatch.domain import events as ev
        from dispatch.store.schema import EventRow
        # the roster's own unit.created events are not records of the floor's work
        worked = s.scalar(select(EventRow.id).where(EventRow.kind != ev.UNIT_CREATED).limit(1))
    if worked and not settings.training and app.meta("purpose") != SIMULATION_PURPOSE:
        raise DispatchError("该数据库已有实战记录，模拟只写入培训副本（--training）或新的数据库文件（--db）")
    last_at = last[-1].occurred_at if last else None
    if start is None:
        start = clock.now().replace(microsecond=0)
        if last_at is not None and start <= last_at:
            start = (last_at + timedelta(minutes=1)).replace(microsecond=0)
    elif last_at is not None and start < last_at:
        raise DispatchError(f"模拟开始时间早于日志中最后一个事件（{last_at.isoformat()}），"
                            "日志只能按时间向后追加")
    # in real time the clock follows the wall clock: it never passes the real now either
    hours = args.hours if realtime else min(args.hours, (real_now - start).total_seconds() / 3600)
    if hours <= 0:
        raise DispatchError("日志已记录到当前时间，没有可以模拟的时段")
    if not settings.training:
        app.set_meta("purpose", SIMULATION_PURPOSE)
    clock.set(start)
    places = places_from_db(app.store)
    router: StraightRouter | RoadRouter = StraightRouter()
    if not args.straight or not places:
        try:
            if not args.straight:
                router = RoadRouter(app.roads)
            if not places:
                places = places_from_osm(read_osm(app.roads_osm))
        except DispatchError:
            if not places:
                raise
    cfg = SimConfig(hours=hours, calls=args.calls, seed=args.seed, start=start,
                    position_interval_s=args.interval, tz=settings.tz, use_recommend=args.recommend,
                    idle_report_s=args.idle_interval)
    feed = None
    if feed_addr is not None:
        from dispatch.feeds.sim_feed import Jt808Feed
        feed = Jt808Feed(app.store, *feed_addr, fallback=app.services.report_position)
    t0 = time.perf_counter()
    sim = Simulator(app.services, clock, app.unit_snapshots(), places, cfg, router=router,
                    positions=feed, pace=_wall_clock_pace if realtime else None)
    stopped = False
    try:
        if feed is not None:
            feed.open()
        if realtime:
            sys.stderr.write(f"实时模拟已开始（{_short(app.settings.database_url)}），按 Ctrl+C 结束\n")
            sys.stderr.flush()
        with _sigterm_stops(realtime):
            result = sim.run()
    except KeyboardInterrupt:  # the way a real-time demo ends
        stopped, result = True, sim.result
        result.end = clock.now()
    finally:
        feed_summary = feed.close() if feed is not None else None
    end = result.end or clock.now()
    out = {"calls": result.calls, "dispatched": result.dispatched, "closed": result.closed,
           "positions": result.positions, "start": start.isoformat().replace("+00:00", "Z"),
           "end": end.isoformat().replace("+00:00", "Z"),
           "hours": round((end - start).total_seconds() / 3600, 3) if stopped else round(hours, 3),
           "database": _short(app.settings.database_url), "seconds": round(time.perf_counter() - t0, 2)}
    if feed_summary is not None:
        out["feed"] = feed_summary
    if args.json:
        print_json(out)
    else:
        print(f"模拟完成: {out['calls']} 起警情, 派警 {out['dispatched']}, 结警 {out['closed']}, "
              f"位置 {out['positions']} 条, {out['start']} — {out['end']}，写入 {out['database']}")
    return 0


def _wall_clock_pace(when: datetime) -> None:
    """--realtime: wait until the wall clock reaches the simulation's next instant."""
    from dispatch.services.clock import SystemClock

    while (left := (when - SystemClock().now()).total_seconds()) > 0:
        time.sleep(min(left, 0.5))


@contextlib.contextmanager
def _sigterm_stops(active: bool):  # noqa: ANN202
    """While a real-time simulation runs, SIGTERM ends it like Ctrl+C (cleanly)."""
    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_sig, _frame):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _short(url: str) -> str:
    return url.split("///", 1)[-1] if url.startswith("sqlite") else url.rsplit("@", 1)[-1]


def _checkpoints(args: argparse.Namespace) -> int:
    """Fold the log into the replay cache up to its end (nightly, or before the first replay
    of a long log): a slice of at most replay.state.STEP_EVENTS events at a time."""
    import math

    from dispatch.replay.checkpoints import CheckpointStore
    from dispatch.replay.state import catch_up

    if args.background and hasattr(os, "nice"):
        os.nice(19)  # (the console's seat keeps the processor)
    app = open_app(args, read_only=True)
    store = CheckpointStore(app.settings.cache_dir / "replay")
    t0 = time.perf_counter()
    with app.session() as s:
        folded, newest = catch_up(s, store, math.inf, to_the_end=True)
    seconds = round(time.perf_counter() - t0, 2)
    if newest is None:
        if args.json:
            print_json({"slices": folded, "checkpoint": None, "events_before": 0, "seconds": seconds})
        else:
            print("日志不足一小时，没有可用的回放检查点")
        return 0
    at = datetime.fromtimestamp(newest.at, timezone.utc)
    if args.json:
        print_json({"slices": folded, "checkpoint": at.isoformat().replace("+00:00", "Z"),
                    "events_before": newest.count, "seconds": seconds})
        return 0
    local = at.astimezone(ZoneInfo(app.settings.tz))
    print(f"回放检查点已更新：本次折叠 {folded} 段，用时 {seconds} 秒；最新检查点 {local:%Y-%m-%d %H:%M}（本地），"
          f"其前 {newest.count} 条事件")
    return 0


def _state(args: argparse.Namespace) -> int:
    from dispatch.replay.state import ReplayIndex

    app = open_app(args, read_only=True)
    at = parse_instant(args.at, app.settings.tz)
    with app.session() as s:  # a little past `at`: the next fix to interpolate positions towards
        # from the last checkpoint before `at` (the database's replay cache): the period, not the log
        index = ReplayIndex.load(s, since=at, until=at + timedelta(minutes=5),
                                 cache=app.settings.cache_dir / "replay")
    state = index.state_at(at)
    if args.json:
        print_json(state.as_json())
        return 0
    local = at.astimezone(ZoneInfo(app.settings.tz))
    print(f"时刻 {local:%Y-%m-%d %H:%M:%S} (本地)  未结警情 {len(state.incidents)} 起")
    for i in state.incidents:
        units = ",".join(a.callsign for a in i.assignments if a.open) or "-"
        cat = CATEGORY_BY_CODE[i.category].label if i.category in CATEGORY_BY_CODE else "未定性"
        print(f"  警情 {i.id:>5} {i.status.label} {cat} {i.place_name or '(未定位)'} 警力:{units}")
    for u in state.units:
        inc = f" 警情{u.incident_id}" if u.incident_id else ""
        print(f"  {u.callsign:<8} {u.status.label:<4}{inc} {u.lon:.6f},{u.lat:.6f}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from dispatch.replay.state import ReplayIndex
    from dispatch.replay.stats import compute_stats, write_csv

    if args.csv:
        from dispatch.replay.stats import check_output_path
        check_output_path(args.csv)
    app = open_app(args, read_only=True)
    since, until = parse_period(args.since, args.until, app.settings.tz)
    from dispatch.services.callbacks import callback_summary
    from dispatch.services.fraud import fraud_summary
    from dispatch.services.joint_response import ack_summary, notifications
    from dispatch.services.referrals import referral_summary
    from dispatch.services.call_import import imported_moments
    from dispatch.services.screen_queries import incidents_by_ids
    with app.session() as s:
        index = ReplayIndex.load(s, until=until)
        incidents = index.final_incidents()
        # imported calls enter the log when imported, after the period they belong to
        moments = imported_moments(s)
        seen = {i.id for i in incidents}
        incidents += incidents_by_ids(s, [i for i in sorted(moments) if i not in seen])
        ids = [i.id for i in incidents if (since is None or i.received_at >= since)
               and (until is None or i.received_at < until)]
        told = [n for per in notifications(s, ids).values() for n in per]
        called = callback_summary(s, since or datetime.min.replace(tzinfo=timezone.utc),
                                  until or datetime.max.replace(tzinfo=timezone.utc))
        stop_payment = fraud_summary(s, since, until)
        referred = referral_summary(s, app.clock.now(), app.settings.tz)
    if args.by:
        from dispatch.replay.grouped_stats import grouped_stats, moments as live_moments
        print_json(grouped_stats(incidents, args.by, app.settings.tz, since, until,
                                 lambda v: moments.get(v.id) or live_moments(v)))
        return 0
    stats = compute_stats(incidents, app.settings.targets, since, until, app.settings.tz)
    if args.csv:
        write_csv(stats, Path(args.csv))
    if args.json or not args.csv:
        print_json(stats.as_json() | {"joint_response": ack_summary(told), "callbacks": called,
                                      "stop_payment": stop_payment, "referrals": referred})
    return 0


def _import_calls(args: argparse.Namespace) -> int:
    from dispatch.services.call_import import import_file
    app = open_app(args)
    result = import_file(app.services.ctx, args.file, args.mapping)
    if args.json:
        print_json(result.as_json())
    else:
        print(f"已导入 {result.added} 条（共 {result.rows} 行，{result.skipped} 条此前已导入），来源 {result.source}")
    return 0


def _bench_replay(args: argparse.Namespace) -> int:
    """A generated shift in a temporary SQLite file, folded once to write its checkpoints;
    then, in a fresh process (commands.replay_probe), the period (--period hours up to the
    log's end) loaded from the checkpoints cold and again warm, state_at at random
    instants of the period (cold and warm passes) and the whole log folded from the start
    (the peer) in the same run, the states of both compared at some of the instants."""
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.bulk import BulkRecorder
    from dispatch.feeds.sim_setup import add_synthetic_units, places_from_osm
    from dispatch.feeds.simulator import SimConfig, Simulator
    from dispatch.importers.demo import DEMO_OSM
    from dispatch.geo.osm import read_osm
    from dispatch.replay.state import ReplayIndex
    from dispatch.services.clock import ManualClock
    from dispatch.services.context import Actor
    from dispatch.settings import Settings

    if not args.period > 0 or args.samples < 1 or args.calls < 1 or not args.hours > 0 or args.units < 0:
        raise DispatchError("--calls、--samples 至少为 1，--hours、--period 须大于 0，--units 不能为负")
    start = datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)  # 00:00 in Shanghai
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        clock = ManualClock(start)
        app = bootstrap(Settings(data_dir=Path(tmp), load_demo=False), clock)
        places = places_from_osm(read_osm(DEMO_OSM))
        add_synthetic_units(app.store, args.units or max(20, args.calls // 25), places, start, args.seed)
        t0 = time.perf_counter()
        rec = BulkRecorder(app.store, clock, Actor("席位01", "模拟"))
        cfg = SimConfig(hours=args.hours, calls=args.calls, seed=args.seed, start=start,
                        position_interval_s=30.0)
        Simulator(rec, clock, app.unit_snapshots(), places, cfg).run()
        rec.flush()
        gen_s = time.perf_counter() - t0
        counts = {"events": len(rec.events), "positions": len(rec.positions), "units": len(rec.units)}
        del rec
        app.engine.dispose()
        gc.collect()

        fresh = bootstrap(Settings(data_dir=Path(tmp), load_demo=False), read_only=True)
        cache = Path(tmp) / "checkpoints"
        t0 = time.perf_counter()
        with fresh.session() as s:  # the full fold once, writing its checkpoints
            index = ReplayIndex.load(s, cache=cache)
        write_s, written, end = time.perf_counter() - t0, len(index.checkpoints), index.end
        if end is None:
            raise DispatchError("生成的班次没有事件")
        del index
        fresh.engine.dispose()
        gc.collect()
        since = max(start, end - timedelta(hours=args.period))
        # measured in a fresh process: its first load is cold, its second warm
        import json
        import subprocess
        probe = subprocess.run([sys.executable, "-m", "dispatch.commands.replay_probe", tmp, str(cache),
                                since.isoformat(), str(args.samples), str(args.seed)],
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            raise DispatchError(f"回放测量进程失败：{probe.stderr.strip()[-2000:]}")
        figures = json.loads(probe.stdout.strip().splitlines()[-1])
    print_bench("replay", calls=args.calls, hours=args.hours, period_h=args.period, **counts,
                checkpoints=written, checkpoint_write_s=round(write_s, 3), **figures,
                generate_s=round(gen_s, 2))
    return 0
