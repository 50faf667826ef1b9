"""A centre's own data headless: `import-grids FILE`, `import-stations FILE`,
`import-roster FILE`, `import-city FILE` (a whole city's OSM extract, .osm or .osm.pbf),
each with `--preview` (what would change and the errors; writes nothing) and `--json`.
A file with any bad row imports nothing: exit 2 with the bad lines."""
from __future__ import annotations

import argparse
import sys

from dispatch.commands.support import open_app, print_json

COMMANDS = {
    "import-grids": ("grids", "replace the centre's 网格 with a GeoJSON FeatureCollection"),
    "import-stations": ("stations", "add or update posts from a stations CSV (lon,lat or osm_node)"),
    "import-roster": ("roster", "add or update units from a roster CSV (unit.created / unit.updated events)"),
}


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    for name, (what, text) in COMMANDS.items():
        p = commands.add_parser(name, help=text)
        p.add_argument("file")
        p.add_argument("--preview", action="store_true", help="show what would change and the errors; write nothing")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=_run, what=what)
    c = commands.add_parser("import-city", help="a whole city's OpenStreetMap extract (.osm or .osm.pbf): "
                            "the road network and the gazetteer's streets, squares and POIs in one step")
    c.add_argument("file")
    c.add_argument("--admin", help="administrative path of the extract's places, e.g. 上海市 "
                   "(default: that of the OSM places now in the gazetteer)")
    c.add_argument("--preview", action="store_true", help="counts and problems by element; write nothing")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=_run_city)


def _run_city(args: argparse.Namespace) -> int:
    from dispatch.services import city_import
    from dispatch.services.data_import import check_file

    path = check_file(args.file)
    admin = [a.strip() for a in args.admin.replace("，", ",").split(",") if a.strip()] if args.admin else None
    app = open_app(args)
    ctx = app.services.ctx

    def say(text: str) -> None:
        if not args.json:
            sys.stderr.write(text + "\n")
    if args.preview:
        p = city_import.preview_city(ctx, path, admin, progress=say)
    else:
        p = city_import.apply_city(ctx, path, app.settings.cache_dir, admin, progress=say)
    if args.json:
        print_json(p.as_json())
    else:
        head = "已导入" if p.applied else "预览（未写入）"
        print(f"{head} {p.file}（{p.format}，行政区划 {'/'.join(p.admin) or '无'}）：{p.summary()}；{p.bounds_text()}")
        if p.applied:
            print(f"  替换原有 OSM 地名 {p.replaced_places} 个；控制台下次启动时地图随之更新")
        for issue in p.errors:
            print(f"  错误 {issue}")
        for issue in p.warnings:
            print(f"  警告 {issue}")
        if p.warning_total > len(p.warnings):
            print(f"  …共 {p.warning_total} 处警告")
    if not p.ok:
        sys.stderr.write(f"错误: {p.error_total} 处错误，导入时将整体拒绝\n")
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    from dispatch.services import data_import as di

    path = di.check_file(args.file)
    app = open_app(args)
    ctx = app.services.ctx
    if args.preview:
        preview = {"grids": di.preview_grids, "stations": di.preview_stations,
                   "roster": di.preview_roster}[args.what](ctx, path)
        if args.json:
            print_json(preview.as_json())
        else:
            _print(preview)
        if preview.errors:
            sys.stderr.write(f"错误: {len(preview.errors)} 处错误，导入时将整体拒绝：\n" +
                             "\n".join(str(e) for e in preview.errors) + "\n")
            return 2
        return 0
    result = {"grids": di.apply_grids, "stations": di.apply_stations, "roster": di.apply_roster}[args.what](ctx, path)
    if args.json:
        print_json(result.as_json())
    else:
        print(f"已导入 {result.file}：{result.summary()}")
        for w in result.warnings:
            print(f"警告 {w}")
    return 0


def _print(preview) -> None:  # noqa: ANN001 (dispatch.services.data_import.Preview)
    print(f"预览 {preview.file}（未写入）：{preview.summary()}")
    for note in preview.notes:
        print(f"  {note}")
    for r in preview.rows:
        if r.action != "不变":
            where = f"第 {r.line} 行" if r.line else "文件外"
            words = [r.action, r.key, r.name if r.name != r.key else "", r.detail]
            print("  " + " ".join(w for w in words if w) + f"（{where}）")
    for w in preview.warnings:
        print(f"  警告 {w}")
