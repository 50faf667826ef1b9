"""Sub-commands of the road graph: `roads import-osm`, `roads build-hierarchy`,
`recommend`, `bench recommend`."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dispatch.domain.errors import DispatchError

DEMO_OSM = Path(__file__).resolve().parents[2] / "resources" / "demo" / "shanghai-huangpu.osm"


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    roads = commands.add_parser("roads", help="road graph (路网)")
    sub = roads.add_subparsers(dest="roads_command", required=True, parser_class=type(roads))
    imp = sub.add_parser("import-osm", help="build and cache the road graph of an OSM file")
    imp.add_argument("file", help=".osm XML or .osm.pbf file")
    imp.set_defaults(handler=_import_osm)
    ch = sub.add_parser("build-hierarchy", help="build the contraction hierarchy of the current road "
                        "graph into the cache (minutes for a city; the console only loads it)")
    ch.add_argument("--rebuild", action="store_true", help="build it again even when cached")
    ch.set_defaults(handler=_build_hierarchy)

    rec = commands.add_parser("recommend", help="units best first by road travel time")
    rec.add_argument("--at", required=True, metavar="LON,LAT", help="incident point (WGS-84)")
    rec.add_argument("--category", help="警情类别 code or label (default: police units only)")
    rec.add_argument("--limit", type=int, default=5, help="number of units 1-50")
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=_recommend)

    b = bench.add_parser("recommend", help="recommendation latency (demo and generated city) beside "
                         "scipy's Dijkstra (ratio = scipy_p95_ms / p95_ms), and F5 end to end (e2e)")
    b.add_argument("--nodes", type=int, help="generated graph size (default: run the 3 standard cases)")
    b.add_argument("--units", type=int, help="number of units on the generated graph")
    b.add_argument("--queries", type=int, default=200)
    b.add_argument("--cache-dir", help="where generated graphs are cached")
    b.set_defaults(handler=_bench)


# ---- roads import-osm -------------------------------------------------------------
def import_osm(osm_path: str | Path, cache_dir: str | Path) -> dict:
    """Build the graph of an OSM file into the cache (always rebuilt); its figures."""
    from dispatch.geo.roads import cache_key, load_or_build
    from dispatch.geo.osm import read_osm
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
    from dispatch.geo.contraction import CH_MIN_NODES
    app = open_app(args)
    r = import_osm(args.file, _cache_dir(app))
    app.set_meta("roads_osm", str(Path(args.file).resolve()))  # the console now routes on it
    print(f"路网已导入: {r['nodes']} 个节点 (OSM 道路节点 {r['osm_nodes']}，保留最大强连通分量 "
          f"{r['scc_kept'] * 100:.1f}%)，有向边 驾车 {r['edges']['car']} / 电动车 {r['edges']['ebike']}"
          f" / 步行 {r['edges']['foot']}，缓存 {r['cache']}")
    if r["nodes"] >= CH_MIN_NODES:
        print("路网较大：运行 roads build-hierarchy（或 setup）构建分层索引，推荐更快；未构建时推荐照常可用")
    return 0


# ---- roads build-hierarchy ----------------------------------------------------------
def build_hierarchy(graph, cache_dir: str | Path, rebuild: bool = False) -> dict:  # noqa: ANN001
    """Load or build the graph's contraction hierarchy into the cache; its figures
    (`built` False and `ch` False for a graph too small to use one)."""
    from dispatch.domain.units import Travel
    from dispatch.geo.contraction import CH_MIN_NODES, ensure_hierarchy, hierarchy_path
    out: dict = {"nodes": graph.node_count, "min_nodes": CH_MIN_NODES}
    if graph.node_count < CH_MIN_NODES:
        return out | {"ch": False, "built": False}
    cached = hierarchy_path(graph, cache_dir).is_file() and not rebuild
    t, c = time.perf_counter(), time.process_time()
    ensure_hierarchy(graph, cache_dir, rebuild=rebuild)
    ch = graph.modes[Travel.CAR].ch
    return out | {"ch": True, "built": not cached, "cache": str(hierarchy_path(graph, cache_dir)),
                  "shortcuts": ch.shortcuts, "seconds": round(time.perf_counter() - t, 2),
                  "cpu_s": round(time.process_time() - c, 2)}


def _build_hierarchy(args: argparse.Namespace) -> int:
    from dispatch.commands.support import open_app
    from dispatch.domain.units import Travel
    from dispatch.geo.contraction import CH_MIN_NODES
    app = open_app(args)
    graph = app.roads  # with its hierarchy when cached
    if graph.node_count >= CH_MIN_NODES and (args.rebuild or graph.modes[Travel.CAR].ch is None):
        sys.stderr.write("正在构建路网分层索引（城市路网需数分钟）…\n")
    r = build_hierarchy(graph, _cache_dir(app), rebuild=args.rebuild)
    if not r["ch"]:
        print(f"路网只有 {r['nodes']} 个节点（少于 {r['min_nodes']}），推荐不使用分层索引，无需构建")
    elif r["built"]:
        print(f"路网分层索引已构建: {r['nodes']} 个节点，捷径 {r['shortcuts']} 条，用时 {r['seconds']} 秒"
              f"（CPU {r['cpu_s']} 秒），缓存 {r['cache']}")
    else:
        print(f"路网分层索引已是最新: {r['cache']}")
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
    if not 1 <= args.limit <= 50:  # as `act recommend`; a huge limit would exhaust memory
        raise DispatchError("--limit 应在 1 到 50 之间")
    cat = category(args.category) if args.category else None
    app = open_app(args)
    settings = app.settings
    rec = recommend(app.roads, app.unit_snapshots(), at, cat, app.clock.now(), limit=args.limit,
                    stale_after_s=settings.stale_position_s,
                    tz=getattr(settings, "tz", "Asia/Shanghai"))
    if args.json:
        print_json([r.as_json() for r in rec.ranked] + [r.as_json() for r in rec.busy])
    else:
        if not rec.ranked:
            print("没有可推荐的警力")
        for line in recommend_lines(rec):
            print(line)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from dispatch.commands.roads_bench import run  # numpy and the benches load only here
    return run(args)
