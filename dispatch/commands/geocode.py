"""Sub-commands of the geocoder and gazetteer: `geocode`, `gazetteer import-admin |
import-osm | import-csv | evaluate`, and `bench geocode`. The logic is in plain
functions taking an engine, a geocoder or paths; the handlers only wire them to the
app (dispatch.commands.support.open_app)."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import parse_lonlat
from dispatch.geo.gazetteer import Candidate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = PROJECT_ROOT / "resources" / "demo"
DEFAULT_QUERIES = PROJECT_ROOT / "tests" / "data" / "geocode_queries.jsonl"


# ---- plain functions ------------------------------------------------------
def format_candidate(c: Candidate) -> str:
    """One human line: name, kind label, context, qualifier, distance, score."""
    parts = [c.name, f"[{c.kind_label}]", c.context or "-"]
    if c.qualifier:
        parts.append(f"({c.qualifier})")
    if c.distance_m is not None:
        parts.append(f"{c.distance_m / 1000:.1f}公里" if c.distance_m >= 1000 else f"{c.distance_m:.0f}米")
    parts.append(f"{c.score:.2f}")
    return "  ".join(parts)


def parse_query_line(line: str) -> tuple[str, tuple[float, float] | None]:
    """A batch line: plain text, or JSON {"text": ..., "near": [lon, lat]}."""
    s = line.strip()
    if s.startswith("{"):
        try:
            obj = json.loads(s)
        except json.JSONDecodeError:
            raise DispatchError(f"无法解析的 JSON 行: {s[:60]}") from None
        near = obj.get("near")
        return str(obj.get("text", "")), (float(near[0]), float(near[1])) if near else None
    return s, None


def run_batch(geocoder, lines: Iterable[str], limit: int = 10) -> Iterable[list[dict]]:
    """One list of candidate dicts per line; an empty list for a meaningless line."""
    for line in lines:
        text, near = parse_query_line(line)
        try:
            cands = geocoder.search(text, near=near, limit=limit)
        except DispatchError:
            cands = []
        yield [c.as_json() for c in cands]


def load_queries(path: str | Path) -> list[dict]:
    """The evaluation set: one JSON object a line {text, near?, expect{name, admin_contains?}}."""
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到查询文件: {path}")
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    raise DispatchError(f"{path.name} 第 {n} 行不是 JSON") from None
    return out


def matches(c: Candidate, expect: dict) -> bool:
    """True if the candidate is the expected place (name and admin names)."""
    return c.name == expect["name"] and all(a in c.admin for a in expect.get("admin_contains", []))


def evaluate(geocoder, queries: list[dict]) -> dict:
    """Top-1 and top-5 accuracy over the query set, with the misses listed."""
    top1 = top5 = 0
    misses = []
    times = []
    for q in queries:
        near = tuple(q["near"]) if q.get("near") else None
        t0 = time.perf_counter()
        cands = geocoder.search(q["text"], near=near, limit=5)
        times.append((time.perf_counter() - t0) * 1000)
        hit = [i for i, c in enumerate(cands) if matches(c, q["expect"])]
        if hit and hit[0] == 0:
            top1 += 1
        if hit:
            top5 += 1
        else:
            misses.append({"text": q["text"], "expect": q["expect"],
                           "got": [f"{c.name} {'/'.join(c.admin)}" for c in cands[:3]]})
    n = len(queries) or 1
    return {"queries": len(queries), "top1": round(top1 / n, 4), "top5": round(top5 / n, 4),
            "p50_ms": round(statistics.median(times), 3) if times else 0.0,
            "p95_ms": round(_p95(times), 3), "misses": misses}


def _p95(times: list[float]) -> float:
    if not times:
        return 0.0
    s = sorted(times)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def default_admin_inputs(hierarchy: Path) -> tuple[Path | None, Path | None]:
    """GeoNames and county-centre files beside the hierarchy file (shared data layout)."""
    geonames = hierarchy.parent.parent / "geonames" / "cn-places-1000.csv"
    centres = hierarchy.parent / "county-centres.csv"
    return (geonames if geonames.is_file() else None, centres if centres.is_file() else None)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_geocode(hierarchy: Path, work_dir: Path, queries_path: Path = DEFAULT_QUERIES) -> dict:
    """Load the national hierarchy + the demo into a SQLite file in work_dir (once),
    then time a fresh index build, a cache load and every query of the set."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from dispatch.geo.geocoder import CACHE_NAME, load_geocoder
    from dispatch.importers.admin_hierarchy import import_admin
    from dispatch.importers.gazetteer_osm import import_osm_places
    from dispatch.importers.osm import read_osm
    from dispatch.importers.places_csv import import_csv_places
    from dispatch.store.schema import Base, PlaceRow

    work_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{work_dir / 'geocode-bench.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        if not s.scalar(select(func.count()).select_from(PlaceRow)):
            geonames, centres = default_admin_inputs(hierarchy)
            import_admin(s, hierarchy, geonames, centres)
            import_osm_places(s, read_osm(DEMO_DIR / "shanghai-huangpu.osm"),
                              admin=["上海市", "黄浦区"], source="OpenStreetMap")
            import_csv_places(s, DEMO_DIR / "landmarks.csv")
            s.commit()
    cache_dir = work_dir / "cache"
    (cache_dir / CACHE_NAME).unlink(missing_ok=True)
    t0 = time.perf_counter()
    load_geocoder(engine, cache_dir)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    geo = load_geocoder(engine, cache_dir)
    cache_load_s = time.perf_counter() - t0
    queries = load_queries(queries_path) if queries_path.is_file() else [{"text": "和平村", "expect": {"name": "和平村"}}]
    times = []
    for _ in range(3):
        for q in queries:
            near = tuple(q["near"]) if q.get("near") else None
            t = time.perf_counter()
            geo.search(q["text"], near=near)
            times.append((time.perf_counter() - t) * 1000)
    return {"bench": "geocode", "entries": len(geo), "queries": len(times),
            "p50_ms": round(statistics.median(times), 3), "p95_ms": round(_p95(times), 3),
            "build_s": round(build_s, 2), "cache_load_s": round(cache_load_s, 2),
            "loaded_from_cache": geo.loaded_from_cache, "rss_mb": round(_rss_mb(), 1)}


# ---- handlers ---------------------------------------------------------------
def _app(args):
    from dispatch.commands.support import open_app
    return open_app(args)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _cmd_geocode(args) -> int:
    app = _app(args)
    geo = app.geocoder
    if args.batch:
        path = Path(args.batch)
        if not path.is_file():
            raise DispatchError(f"找不到批量查询文件: {path}")
        with path.open(encoding="utf-8") as f:
            lines = [ln for ln in f if ln.strip()]
        for cands in run_batch(geo, lines, limit=args.limit):
            _print_json(cands)
        return 0
    if args.text is None:
        raise DispatchError("请输入地点：路名、路口、地标或村镇名称")
    near = parse_lonlat(args.near) if args.near else None
    cands = geo.search(args.text, near=near, limit=args.limit)
    if args.json:
        _print_json([c.as_json() for c in cands])
    elif not cands:
        print("没有找到匹配的地点")
    else:
        for i, c in enumerate(cands, start=1):
            print(f"{i:>2}. {format_candidate(c)}")
    return 0


def _import(args, fn) -> int:
    app = _app(args)
    with app.session() as s:
        n = fn(s)
        s.commit()
    print(f"已导入 {n} 个地点")
    return 0


def _cmd_import_admin(args) -> int:
    from dispatch.importers.admin_hierarchy import import_admin
    path = Path(args.file)
    geonames, centres = default_admin_inputs(path)
    geonames = Path(args.geonames) if args.geonames else geonames
    centres = Path(args.centres) if args.centres else centres
    return _import(args, lambda s: import_admin(s, path, geonames, centres))


def _cmd_import_osm(args) -> int:
    from dispatch.importers.gazetteer_osm import import_osm_places
    from dispatch.importers.osm import read_osm
    admin = [a.strip() for a in args.admin.replace("，", ",").split(",") if a.strip()]
    osm = read_osm(args.file)
    return _import(args, lambda s: import_osm_places(s, osm, admin=admin, source=args.source))


def _cmd_import_csv(args) -> int:
    from dispatch.importers.places_csv import import_csv_places
    return _import(args, lambda s: import_csv_places(s, args.file))


def _cmd_evaluate(args) -> int:
    app = _app(args)
    result = evaluate(app.geocoder, load_queries(args.file))
    if args.json:
        _print_json(result)
    else:
        print(f"查询 {result['queries']} 条: top-1 {result['top1']:.1%}, top-5 {result['top5']:.1%}, "
              f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
        for m in result["misses"]:
            print(f"  未命中: {m['text']} -> 期望 {m['expect']['name']}, 得到 {m['got']}")
    return 0


def _cmd_bench(args) -> int:
    hierarchy = Path(args.hierarchy)
    if not hierarchy.is_file():
        raise DispatchError(f"找不到行政区划文件: {hierarchy}（用 --hierarchy 指定）")
    _print_json(bench_geocode(hierarchy, Path(args.work_dir), Path(args.queries)))
    return 0


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    """Add `geocode`, `gazetteer ...` and `bench geocode`."""
    p = commands.add_parser("geocode", help="地点查询：候选地点，最佳在前")
    p.add_argument("text", nargs="?", help="地点文字")
    p.add_argument("--near", help="参考位置 经度,纬度 (WGS-84)")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", metavar="FILE", help="每行一个查询（文本或 JSON {text, near}）")
    p.set_defaults(handler=_cmd_geocode)

    g = commands.add_parser("gazetteer", help="地名库：导入与评测")
    sub = g.add_subparsers(dest="gazetteer_command", required=True, parser_class=type(g))
    a = sub.add_parser("import-admin", help="导入全国行政区划")
    a.add_argument("file")
    a.add_argument("--geonames")
    a.add_argument("--centres")
    a.set_defaults(handler=_cmd_import_admin)
    o = sub.add_parser("import-osm", help="导入 OSM 道路、路口与命名地物")
    o.add_argument("file")
    o.add_argument("--admin", default="上海市,黄浦区")
    o.add_argument("--source", default="OpenStreetMap")
    o.set_defaults(handler=_cmd_import_osm)
    c = sub.add_parser("import-csv", help="导入地点 CSV（标准地址/兴趣点）")
    c.add_argument("file")
    c.set_defaults(handler=_cmd_import_csv)
    e = sub.add_parser("evaluate", help="评测 top-1/top-5 准确率")
    e.add_argument("file")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=_cmd_evaluate)

    b = bench.add_parser("geocode", help="地理编码基准（全国行政区划 + 演示数据）")
    b.add_argument("--hierarchy", default=str(PROJECT_ROOT.parent / "shared" / "data" / "admin"
                                              / "china-admin-hierarchy.txt"))
    b.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "dispatch-bench-geocode"))
    b.add_argument("--queries", default=str(DEFAULT_QUERIES))
    b.set_defaults(handler=_cmd_bench)
