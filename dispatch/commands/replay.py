"""Headless commands of replay: `simulate`, `state --at`, `stats`, `bench replay`."""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
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
    p.add_argument("--recommend", action="store_true", help="dispatch the top of the recommendation")
    p.add_argument("--straight", action="store_true", help="straight-line router (no road graph)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_simulate)

    p = commands.add_parser("state", help="incidents and units as they were at an instant")
    p.add_argument("--at", required=True, help="ISO time (naive = local Asia/Shanghai)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_state)

    p = commands.add_parser("stats", help="statistics of a period (CSV with --csv)")
    p.add_argument("--from", dest="since", help="ISO time (naive = local)")
    p.add_argument("--to", dest="until", help="ISO time (naive = local)")
    p.add_argument("--csv", metavar="FILE", help="write the tables as CSV")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_stats)

    b = bench.add_parser("replay", help="load a 24 h shift for replay; state at random instants")
    b.add_argument("--calls", type=int, default=20000)
    b.add_argument("--hours", type=float, default=24.0)
    b.add_argument("--units", type=int, default=0, help="synthetic units (default: calls / 25)")
    b.add_argument("--samples", type=int, default=300)
    b.add_argument("--seed", type=int, default=1)
    b.set_defaults(handler=_bench_replay)


def parse_instant(text: str, tz: str = "Asia/Shanghai") -> datetime:
    """An ISO 8601 time; without an offset it is local time in `tz`. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DispatchError(f"时间格式不正确（应为 ISO 8601，如 2026-11-02T09:30:00）: {text}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


SIMULATION_PURPOSE = "simulation"


def _simulate(args: argparse.Namespace) -> int:
    """A simulated shift, written only into a training copy (--training) or a database named
    with --db that is new or was made by simulate; its clock never passes the real now."""
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.sim_setup import RoadRouter, StraightRouter, places_from_db, places_from_osm
    from dispatch.feeds.simulator import SimConfig, Simulator
    from dispatch.importers.osm import read_osm
    from dispatch.services.clock import ManualClock, SystemClock
    from dispatch.store import eventlog

    if not (args.hours > 0 and args.hours <= 24 * 31) or args.calls < 0 or args.calls > 1_000_000:
        raise DispatchError("模拟时长须在 0 到 744 小时之间，警情数须在 0 到 1000000 之间")
    if not (args.interval >= 1):
        raise DispatchError("位置上报间隔至少 1 秒")
    if not getattr(args, "db", None) and not getattr(args, "training", False):
        raise DispatchError("模拟不能写入实战数据库：请用 --training（培训副本）或 --db 指定新的数据库文件")
    real_now = SystemClock().now().replace(microsecond=0)  # a simulation never runs past it
    settings = settings_from_args(args)
    start = parse_instant(args.start, settings.tz) if args.start else None
    if start is not None and start + timedelta(hours=args.hours) > real_now:
        raise DispatchError("模拟结束时间不能晚于当前时间：请提前 --start 或缩短 --hours")
    clock = ManualClock(start or real_now - timedelta(hours=args.hours))
    app = bootstrap(settings, clock)  # a new database is loaded "at" the start
    with app.session() as s:
        last_id = eventlog.last_id(s)
        last = eventlog.read(s, since_id=max(0, last_id - 1))
    if last_id and not settings.training and app.meta("purpose") != SIMULATION_PURPOSE:
        raise DispatchError("该数据库已有实战记录，模拟只写入培训副本（--training）或新的数据库文件（--db）")
    last_at = last[-1].occurred_at if last else None
    if start is None:
        start = clock.now().replace(microsecond=0)
        if last_at is not None and start <= last_at:
            start = (last_at + timedelta(minutes=1)).replace(microsecond=0)
    elif last_at is not None and start < last_at:
        raise DispatchError(f"模拟开始时间早于日志中最后一个事件（{last_at.isoformat()}），"
                            "日志只能按时间向后追加")
    hours = min(args.hours, (real_now - start).total_seconds() / 3600)
    if hours <= 0:
        raise DispatchError("日志已记录到当前时间，没有可以模拟的时段")
    if not settings.training:
        app.set_meta("purpose", SIMULATION_PURPOSE)
    clock.set(start)
    places = places_from_db(app.store)
    router = StraightRouter()
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
                    position_interval_s=args.interval, tz=settings.tz, use_recommend=args.recommend)
    t0 = time.perf_counter()
    result = Simulator(app.services, clock, app.unit_snapshots(), places, cfg, router=router).run()
    out = {"calls": result.calls, "dispatched": result.dispatched, "closed": result.closed,
           "positions": result.positions, "start": start.isoformat().replace("+00:00", "Z"),
           "end": result.end.isoformat().replace("+00:00", "Z"), "hours": round(hours, 3),
           "database": _short(app.settings.database_url), "seconds": round(time.perf_counter() - t0, 2)}
    if args.json:
        print_json(out)
    else:
        print(f"模拟完成: {out['calls']} 起警情, 派警 {out['dispatched']}, 结警 {out['closed']}, "
              f"位置 {out['positions']} 条, {out['start']} — {out['end']}，写入 {out['database']}")
    return 0


def _short(url: str) -> str:
    return url.split("///", 1)[-1] if url.startswith("sqlite") else url.rsplit("@", 1)[-1]


def _state(args: argparse.Namespace) -> int:
    from dispatch.replay.state import ReplayIndex

    app = open_app(args, read_only=True)
    at = parse_instant(args.at, app.settings.tz)
    with app.session() as s:  # a little past `at`: the next fix to interpolate positions towards
        index = ReplayIndex.load(s, until=at + timedelta(minutes=5))
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
    since = parse_instant(args.since, app.settings.tz) if args.since else None
    until = parse_instant(args.until, app.settings.tz) if args.until else None
    with app.session() as s:
        index = ReplayIndex.load(s, until=until)
    stats = compute_stats(index.final_incidents(), app.settings.targets, since, until, app.settings.tz)
    if args.csv:
        write_csv(stats, Path(args.csv))
    if args.json or not args.csv:
        print_json(stats.as_json())
    return 0


def _bench_replay(args: argparse.Namespace) -> int:
    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.bulk import BulkRecorder
    from dispatch.feeds.sim_setup import add_synthetic_units, places_from_osm
    from dispatch.feeds.simulator import SimConfig, Simulator
    from dispatch.importers.demo import DEMO_OSM
    from dispatch.importers.osm import read_osm
    from dispatch.replay.state import ReplayIndex
    from dispatch.services.clock import ManualClock
    from dispatch.services.context import Actor
    from dispatch.settings import Settings

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
        t0, c0 = time.perf_counter(), time.process_time()
        with fresh.session() as s:
            index = ReplayIndex.load(s)
        load_s, load_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        rng = random.Random(args.seed)
        span = (index.end - index.start).total_seconds()
        times = []
        for _ in range(args.samples):
            at = index.start + timedelta(seconds=rng.uniform(0, span))
            t0 = time.perf_counter()
            index.state_at(at)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        fresh.engine.dispose()
    print_bench("replay", calls=args.calls, hours=args.hours, **counts, load_s=round(load_s, 3),
                load_cpu_s=round(load_cpu_s, 3),
                p50_ms=round(statistics.median(times), 3),
                p95_ms=round(times[int(0.95 * (len(times) - 1))], 3), generate_s=round(gen_s, 2))
    return 0
