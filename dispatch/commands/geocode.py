"""Sub-commands of the geocoder and gazetteer: `geocode`, `gazetteer import-admin |
import-osm | import-csv | evaluate`, and `bench geocode`. The logic is in plain
functions taking an engine, a geocoder or paths; the handlers only wire them to the
app (dispatch.commands.support.open_app)."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from dispatch.commands.geocode_bench import percentile
from dispatch.commands.support import record_id
from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import check_in_china

if TYPE_CHECKING:  # numpy and the store load only when a command runs
    from dispatch.geo.gazetteer import Candidate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_QUERIES = PROJECT_ROOT / "tests" / "data" / "geocode_queries.jsonl"


# ---- plain functions ------------------------------------------------------
def format_candidate(c: Candidate) -> str:
    """One human line: name (≈ and what differs for a partial match), kind label,
    context, qualifier, distance, score."""
    parts = [("≈ " if c.partial else "") + c.name, f"[{c.kind_label}]", c.context or "-"]
    if c.partial:
        parts.append(f"部分匹配：{c.differs or '与所说不完全相同'}")
    if c.qualifier:
        parts.append(f"({c.qualifier})")
    if c.distance_m is not None:
        parts.append(f"{c.distance_m / 1000:.1f}公里" if c.distance_m >= 1000 else f"{c.distance_m:.0f}米")
    parts.append(f"{c.score:.2f}")
    return "  ".join(parts)


def parse_query_line(line: str, number: int = 0) -> tuple[str, tuple[float, float] | None]:
    """A batch line: plain text, or a JSON object {"text": ..., "near": [lon, lat]}.
    Anything else that starts like JSON (an array, a number for near, a text that is
    not a string) is a DispatchError naming the line."""
    s = line.strip()
    where = f"第 {number} 行" if number else "查询行"
    if not s.startswith(("{", "[")):
        return s, None
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):  # (ValueError: also an integer of over 4300 digits)
        raise DispatchError(f"{where}不是有效的 JSON: {s[:60]}") from None
    if not isinstance(obj, dict):
        raise DispatchError(f"{where}应是 JSON 对象 {{\"text\": ..., \"near\": [经度, 纬度]}}")
    text = obj.get("text", "")
    if not isinstance(text, str):
        raise DispatchError(f"{where}的 text 应是文字")
    near = obj.get("near")
    if near is None:
        return text, None
    if (not isinstance(near, list) or len(near) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in near)):
        raise DispatchError(f"{where}的 near 应是 [经度, 纬度]")
    lon, lat = float(near[0]), float(near[1])
    check_in_china(lon, lat, f"{where}的 near 坐标")
    return text, (lon, lat)


def read_batch(path: Path) -> list[tuple[str, tuple[float, float] | None]]:
    """The queries of a batch file, all checked before any is run: a missing or binary
    file, or any bad line, refuses the whole batch (DispatchError naming the line)."""
    if not path.is_file():
        raise DispatchError(f"找不到批量查询文件: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DispatchError(f"批量查询文件不是 UTF-8 文本: {path}") from None
    if "\x00" in text:
        raise DispatchError(f"批量查询文件不是文本（含二进制内容）: {path}")
    return [parse_query_line(ln, n) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]


def run_batch(geocoder, lines: Iterable[str | tuple[str, tuple[float, float] | None]],
              limit: int = 10) -> Iterable[list[dict]]:
    """One list of candidate dicts per line (raw text lines or parsed queries); an
    empty list for a meaningless line."""
    for n, line in enumerate(lines, start=1):
        text, near = parse_query_line(line, n) if isinstance(line, str) else line
        try:
            cands = geocoder.search(text, near=near, limit=limit)
        except DispatchError:
            cands = []
        yield [c.as_json() for c in cands]


def load_queries(path: str | Path) -> list[dict]:
    """The evaluation set: one JSON object a line {text, near?, expect{name,
    admin_contains?}}. Every line is checked before any is used: a missing or binary
    file, a line that is not such an object, or an empty file is a DispatchError
    naming the line."""
    from dispatch.importers.data_files import reading
    path = Path(path)
    out = []
    with reading(path, "查询文件") as f:
        for n, line in enumerate(f, start=1):
            s = line.strip()
            if not s:
                continue
            if not s.startswith("{"):
                raise DispatchError(f"{path.name} 第 {n} 行不是 JSON 对象: {s[:40]}")
            text, near = parse_query_line(s, n)  # JSON, text and near checked there
            obj = json.loads(s)
            expect = obj.get("expect")
            if (not text.strip() or "text" not in obj or not isinstance(expect, dict)
                    or not isinstance(expect.get("name"), str) or not expect["name"]
                    or not isinstance(expect.get("admin_contains", []), list)
                    or not all(isinstance(a, str) for a in expect.get("admin_contains", []))):
                raise DispatchError(f"{path.name} 第 {n} 行应有 text 与 expect "
                                    f"{{\"name\": ..., \"admin_contains\": [...]}}")
            obj["near"] = list(near) if near else None
            out.append(obj)
    if not out:
        raise DispatchError(f"{path.name} 中没有查询")
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
            "p95_ms": round(percentile(times, 0.95), 3), "misses": misses}


# ---- handlers ---------------------------------------------------------------
def _app(args):
    from dispatch.commands.support import open_app
    return open_app(args)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _cmd_geocode(args) -> int:
    """`geocode TEXT` or `geocode --batch FILE` (every line checked before any output:
    a bad line refuses the whole batch with one line naming it, exit 2)."""
    if args.batch and args.text is not None:
        raise DispatchError("请只给出地点文字或 --batch 文件之一")
    if args.batch:
        queries = read_batch(Path(args.batch))
        geo = _app(args).geocoder
        for cands in run_batch(geo, queries, limit=args.limit):
            _print_json(cands)
        return 0
    if args.text is None:
        raise DispatchError("请输入地点：路名、路口、地标或村镇名称")
    from dispatch.geo.coords import parse_lonlat
    near = parse_lonlat(args.near) if args.near else None
    geo = _app(args).geocoder
    cands = geo.search(args.text, near=near, limit=args.limit)
    if args.json:
        _print_json([c.as_json() for c in cands])
    elif not cands:
        print("没有找到匹配的地点")
    else:
        for i, c in enumerate(cands, start=1):
            print(f"{i:>2}. {format_candidate(c)}")
    return 0


def _limit(value: str) -> int:
    """--limit: an integer 1..100."""
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 100:
        raise argparse.ArgumentTypeError(f"候选数量必须是 1 到 100 之间的整数: {value}")
    return n


def _import(args, fn) -> int:
    app = _app(args)
    with app.session() as s:
        n = fn(s)
        s.commit()
    print(f"已导入 {n} 个地点")
    return 0


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"导入行政区划: {done:,}/{total:,} ({done / max(total, 1):.0%})\n")
    sys.stderr.flush()


def _cmd_import_admin(args) -> int:
    """With no file: the national register shipped in resources/national/ (a 管理员's
    action, refused when already imported). GeoNames towns and county centres: the
    shipped ones unless given."""
    if not args.file and not args.geonames and not args.centres:
        from dispatch.services import national_register
        n = national_register.load(_app(args).services.ctx, progress=_progress)
        print(f"已导入 {n} 个地点")
        return 0
    from dispatch.importers.admin_hierarchy import admin_places, write_admin_places
    from dispatch.importers.data_files import COUNTY_CENTRES, GEONAMES_TOWNS, NATIONAL_HIERARCHY
    path = Path(args.file) if args.file else NATIONAL_HIERARCHY
    geonames = Path(args.geonames) if args.geonames else GEONAMES_TOWNS
    centres = Path(args.centres) if args.centres else COUNTY_CENTRES
    places = admin_places(path, geonames, centres, progress=_progress)  # files checked first
    return _import(args, lambda s: write_admin_places(s, places, progress=_progress))


def _cmd_import_osm(args) -> int:
    from dispatch.importers.gazetteer_osm import import_osm_places
    from dispatch.geo.osm import read_osm
    admin = [a.strip() for a in args.admin.replace("，", ",").split(",") if a.strip()]
    osm = read_osm(args.file)
    return _import(args, lambda s: import_osm_places(s, osm, admin=admin, source=args.source))


def _cmd_import_csv(args) -> int:
    from dispatch.geo.gazetteer import write_places
    from dispatch.importers.places_csv import read_places_csv
    places = read_places_csv(args.file)  # every row checked before the database is opened
    return _import(args, lambda s: write_places(s, places))


def _cmd_evaluate(args) -> int:
    queries = load_queries(args.file)  # every line checked before the database is opened
    result = evaluate(_app(args).geocoder, queries)
    if args.json:
        _print_json(result)
    else:
        print(f"查询 {result['queries']} 条: top-1 {result['top1']:.1%}, top-5 {result['top5']:.1%}, "
              f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
        for m in result["misses"]:
            print(f"  未命中: {m['text']} -> 期望 {m['expect']['name']}, 得到 {m['got']}")
    return 0


def _cmd_bench(args) -> int:
    from dispatch.commands.geocode_bench import bench_geocode
    hierarchy = Path(args.hierarchy) if args.hierarchy else None
    if hierarchy is not None and not hierarchy.is_file():
        raise DispatchError(f"找不到行政区划文件: {hierarchy}")
    if args.hostile < 0:
        raise DispatchError("--hostile 不能为负数")
    _print_json(bench_geocode(Path(args.work_dir), Path(args.queries), hierarchy,
                              hostile=args.hostile, peer=not args.no_peer))
    return 0


def _cmd_proposals(args) -> int:
    from dispatch.services.places import proposals
    app = _app(args)
    with app.session() as s:
        rows = proposals(s)
    if args.json:
        _print_json(rows)
    elif not rows:
        print("没有待确认的补录地名")
    else:
        for r in rows:
            print(f"{r['id']:>6}  {r['words']}  {r['lon']:.6f},{r['lat']:.6f}  {r['seat']}/{r['operator']}  "
                  f"{r['proposed_at'][:19]}")
    return 0


def _cmd_confirm(args) -> int:
    app = _app(args)
    app.services.confirm_place(args.id)
    print(f"补录地名 {args.id} 已确认")
    return 0


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    """Add `geocode`, `gazetteer ...` and `bench geocode`."""
    p = commands.add_parser("geocode", help="地点查询：候选地点，最佳在前")
    p.add_argument("text", nargs="?", help="地点文字")
    p.add_argument("--near", help="参考位置 经度,纬度 (WGS-84)")
    p.add_argument("--limit", type=_limit, default=10, help="候选数量 1-100")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", metavar="FILE",
                   help="每行一个查询（文本或 JSON {text, near}）；任一行有误则整批拒绝并指出行号")
    p.set_defaults(handler=_cmd_geocode)

    g = commands.add_parser("gazetteer", help="地名库：导入与评测")
    sub = g.add_subparsers(dest="gazetteer_command", required=True, parser_class=type(g))
    a = sub.add_parser("import-admin", help="导入全国行政区划（不给文件：随程序提供的全国数据）")
    a.add_argument("file", nargs="?", help="行政区划文件（制表符缩进，可为 .xz/.gz）")
    a.add_argument("--geonames")
    a.add_argument("--centres")
    a.set_defaults(handler=_cmd_import_admin)
    o = sub.add_parser("import-osm", help="导入 OSM 道路、路口与命名地物")
    o.add_argument("file", help=".osm XML or .osm.pbf file")
    o.add_argument("--admin", default="上海市,黄浦区")
    o.add_argument("--source", default="OpenStreetMap")
    o.set_defaults(handler=_cmd_import_osm)
    c = sub.add_parser("import-csv", help="导入地点 CSV（标准地址/兴趣点）")
    c.add_argument("file")
    c.set_defaults(handler=_cmd_import_csv)
    pr = sub.add_parser("proposals", help="地名补录：待值班长确认的地名")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(handler=_cmd_proposals)
    cf = sub.add_parser("confirm", help="确认一条补录地名（值班长）")
    cf.add_argument("id", type=record_id)
    cf.set_defaults(handler=_cmd_confirm)
    e = sub.add_parser("evaluate", help="评测 top-1/top-5 准确率")
    e.add_argument("file")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=_cmd_evaluate)

    b = bench.add_parser("geocode", help="地理编码基准（全国行政区划 + 演示数据）")
    b.add_argument("--hierarchy", help="行政区划文件（默认：随程序提供的全国数据）")
    b.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "dispatch-bench-geocode"))
    b.add_argument("--queries", default=str(DEFAULT_QUERIES))
    b.add_argument("--hostile", type=int, default=1000, help="计时的恶意输入条数（0：不测）")
    b.add_argument("--no-peer", action="store_true", help="不测 rapidfuzz 对照")
    b.set_defaults(handler=_cmd_bench)
