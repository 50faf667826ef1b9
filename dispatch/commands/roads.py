"""Sub-commands of the road graph: `roads import-osm`, `recommend`, `bench recommend`."""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus

DEMO_OSM = Path(__file__).resolve().parents[2] / "resources" / "demo" / "shanghai-huangpu.osm"


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    roads = commands.add_parser("roads", help="road graph (路网)")
    sub = roads.add_subparsers(dest="roads_command", required=True, parser_class=type(roads))
    imp = sub.add_parser("import-osm", help="build and cache the road graph of an OSM file")
    imp.add_argument("file", help=".osm XML file")
    imp.set_defaults(handler=_import_osm)

    rec = commands.add_parser("recommend", help="units best first by road travel time")
    rec.add_argument("--at", required=True, metavar="LON,LAT", help="incident point (WGS-84)")
    rec.add_argument("--category", help="警情类别 code or label (default: police units only)")
    rec.add_argument("--limit", type=int, default=5)
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=_recommend)

    b = bench.add_parser("recommend", help="recommendation latency (demo and generated city)")
    b.add_argument("--nodes", type=int, help="generated graph size (default: run the 3 standard cases)")
    b.add_argument("--units", type=int, help="number of units on the generated graph")
    b.add_argument("--queries", type=int, default=200)
    b.add_argument("--cache-dir", help="where generated graphs are cached")
    b.set_defaults(handler=_bench)


# ---- roads import-osm -------------------------------------------------------------
def import_osm(osm_path: str | Path, cache_dir: str | Path) -> dict:
    """Build the graph of an OSM file into the cache (always rebuilt); its figures."""
    from dispatch.geo.roads import cache_key, load_or_build
    from dispatch.importers.osm import read_osm
    from dispatch.domain.units import Travel
    t0 = time.perf_counter()
    graph = load_or_build(osm_path, cache_dir, rebuild=True)
    osm = read_osm(osm_path)
    used = {n for w in osm.drivable_ways() for n in w.node_ids if n in osm.nodes}
    return {"file": str(osm_path), "cache": str(Path(cache_dir) / cache_key(osm_path)),
            "osm_nodes": len(used), "nodes": graph.node_count,
            "edges": {m.value: graph.edge_count(m) for m in Travel},
            "scc_kept": round(graph.node_count / max(1, len(used)), 3),
            "seconds": round(time.perf_counter() - t0, 2)}


def _cache_dir(app) -> Path:
    return app.settings.cache_dir


def _import_osm(args: argparse.Namespace) -> int:
    from dispatch.commands.support import open_app
    app = open_app(args)
    r = import_osm(args.file, _cache_dir(app))
    app.set_meta("roads_osm", str(Path(args.file).resolve()))  # the console now routes on it
    print(f"路网已导入: {r['nodes']} 个节点 (OSM 道路节点 {r['osm_nodes']}，保留最大强连通分量 "
          f"{r['scc_kept'] * 100:.1f}%)，有向边 驾车 {r['edges']['car']} / 电动车 {r['edges']['ebike']}"
          f" / 步行 {r['edges']['foot']}，缓存 {r['cache']}")
    return 0


# ---- recommend --------------------------------------------------------------------
def recommend_lines(rec) -> list[str]:
    """Human output: one line per unit."""
    from dispatch.geo.recommend import format_distance, format_eta
    lines = []
    for k, r in enumerate(rec.ranked, 1):
        lines.append(f"{k}. {r.callsign} ({r.kind.label}) 预计 {format_eta(r.eta_s)} "
                     f"路程 {format_distance(r.route_m)}" + (" [位置过期]" if r.stale else "")
                     + " — " + "；".join(r.reasons))
    for r in rec.busy:
        lines.append(f"忙 {r.callsign} ({r.kind.label}) 预计 {format_eta(r.eta_s)} — " + "；".join(r.reasons))
    for e in rec.excluded:
        lines.append(f"排除 {e.callsign}: {e.reason}")
    return lines


def _recommend(args: argparse.Namespace) -> int:
    from dispatch.commands.support import open_app, print_json
    from dispatch.domain.incidents import category
    from dispatch.geo.coords import parse_lonlat
    from dispatch.geo.recommend import recommend
    at = parse_lonlat(args.at)
    if args.limit < 1:
        raise DispatchError("--limit 至少为 1")
    cat = category(args.category) if args.category else None
    app = open_app(args)
    settings = app.settings
    rec = recommend(app.roads, app.unit_snapshots(), at, cat, app.clock.now(), limit=args.limit,
                    stale_after_s=getattr(settings, "stale_position_s", 300),
                    tz=getattr(settings, "tz", "Asia/Shanghai"))
    if args.json:
        print_json([r.as_json() for r in rec.ranked] + [r.as_json() for r in rec.busy])
    else:
        if not rec.ranked:
            print("没有可推荐的警力")
        for line in recommend_lines(rec):
            print(line)
    return 0


# ---- bench recommend --------------------------------------------------------------
_POLICE_MIX = ([UnitKind.PATROL_CAR] * 5 + [UnitKind.SPECIAL_PATROL, UnitKind.TRAFFIC]
               + [UnitKind.EBIKE_PATROL] * 2 + [UnitKind.COMMUNITY, UnitKind.FOOT_PATROL])
_DEMO_MIX = _POLICE_MIX + [UnitKind.VOLUNTEER_PATROL, UnitKind.JOINT_DEFENCE,
                           UnitKind.PEACE_VOLUNTEER]


def bench_units(graph, count: int, seed: int, now: datetime, kinds=_POLICE_MIX) -> list[UnitSnapshot]:
    """Units at random road nodes: mixed kinds, 85% available, 10% committed, 5% off duty,
    10% with a position older than 5 minutes, 联防中队 on 19:00-01:00."""
    rng = random.Random(seed)
    nodes = np.random.default_rng(seed).integers(0, graph.node_count, count)
    units = []
    for i, n in enumerate(nodes):
        kind = rng.choice(kinds)
        lon, lat = float(graph.lon[n]) + rng.uniform(-2e-4, 2e-4), float(graph.lat[n]) + rng.uniform(-2e-4, 2e-4)
        r = rng.random()
        status = UnitStatus.AVAILABLE if r < 0.85 else UnitStatus.EN_ROUTE if r < 0.95 else UnitStatus.OFF_DUTY
        age = 600 if rng.random() < 0.1 else 20
        duty = (DutyWindow.parse("19:00-01:00"),) if kind is UnitKind.JOINT_DEFENCE else ()
        units.append(UnitSnapshot(i + 1, f"B{i + 1:04d}", kind, status, lon, lat,
                                  now - timedelta(seconds=age), lon, lat, duty=duty,
                                  incident_id=1 if status is UnitStatus.EN_ROUTE else None))
    return units


def bench_case(graph, units: list[UnitSnapshot], queries: int, seed: int, now: datetime,
               categories=(None,)) -> dict:
    """Time `recommend` at random road points; figures in milliseconds (wall clock;
    cpu_p95_ms is the thread's CPU time, which a busy machine does not inflate as much)."""
    from dispatch.geo.recommend import recommend
    rng = np.random.default_rng(seed + 1)
    pts = rng.integers(0, graph.node_count, queries + 5)
    cats = [categories[i % len(categories)] for i in range(len(pts))]
    times, cpu = [], []
    for k, n in enumerate(pts):
        at = (float(graph.lon[n]) + 1e-4, float(graph.lat[n]) + 1e-4)
        t, c = time.perf_counter(), time.thread_time()
        rec = recommend(graph, units, at, cats[k], now, limit=5)
        dt, dc = time.perf_counter() - t, time.thread_time() - c
        if k >= 5:  # warm-up (JIT, work arrays)
            times.append(dt * 1000)
            cpu.append(dc * 1000)
        if not rec.ranked:
            raise DispatchError("基准测试: 没有推荐结果")
    a = np.array(times)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2), "queries": len(a),
            "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 2)}


def _bench_cache(args) -> Path:
    if args.cache_dir:
        return Path(args.cache_dir)
    import platformdirs
    return Path(platformdirs.user_cache_dir("dispatch-console")) / "bench"


def bench_synthetic(nodes: int, units: int, queries: int, cache_dir: Path) -> dict:
    from dispatch.geo.roads import FORMAT_VERSION, RoadGraph
    from dispatch.geo.synthetic_roads import generate_city
    path = cache_dir / f"synthetic-{nodes}-v{FORMAT_VERSION}.roads.npz"
    build_s = None
    if not path.is_file():
        t = time.perf_counter()
        cache_dir.mkdir(parents=True, exist_ok=True)
        generate_city(nodes).save(path)
        build_s = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    graph = RoadGraph.load(path)
    load_s = time.perf_counter() - t
    now = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
    figures = bench_case(graph, bench_units(graph, units, 11, now), queries, 11, now)
    out = {"bench": "recommend", "graph": "synthetic", "nodes": graph.node_count,
           "edges": graph.edge_count(), "units": units, **figures,
           "cache_load_s": round(load_s, 3)}
    if build_s is not None:
        out["build_s"] = build_s
    return out


def bench_demo(queries: int, cache_dir: Path, units: int = 60) -> dict:
    from dispatch.domain.incidents import CATEGORIES
    from dispatch.geo.roads import RoadGraph, cache_key, load_or_build
    load_or_build(DEMO_OSM, cache_dir)
    t = time.perf_counter()
    graph = RoadGraph.load(cache_dir / cache_key(DEMO_OSM))
    load_s = time.perf_counter() - t
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # 20:00 in Shanghai
    us = bench_units(graph, units, 5, now, _DEMO_MIX)
    figures = bench_case(graph, us, queries, 5, now, categories=(None,) + CATEGORIES)
    return {"bench": "recommend", "graph": "demo", "nodes": graph.node_count,
            "edges": graph.edge_count(), "units": units, **figures,
            "cache_load_s": round(load_s, 3)}


def _bench(args: argparse.Namespace) -> int:
    cache = _bench_cache(args)
    if args.nodes is None and args.units is None:
        cases = [("demo", None, None), ("synthetic", 1_000_000, 2000), ("synthetic", 1_000_000, 50)]
    else:
        cases = [("synthetic", args.nodes or 1_000_000, args.units or 2000)]
    for kind, nodes, units in cases:
        out = bench_demo(args.queries, cache) if kind == "demo" else \
            bench_synthetic(nodes, units, args.queries, cache)
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0
