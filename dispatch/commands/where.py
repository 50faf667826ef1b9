"""`where --at LON,LAT [--json]`: name a point (nearest junction or road, distance,
direction, admin path, grid), as a map click is named in the console."""
from __future__ import annotations

import argparse

from dispatch.domain.errors import DispatchError


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("where", help="name a point: nearest intersection or road (逆地理编码)")
    p.add_argument("--at", required=True, metavar="LON,LAT", help="the point (WGS-84)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_where)


def _where(args: argparse.Namespace) -> int:
    from dispatch.commands.support import open_app, print_json
    from dispatch.geo.coords import parse_lonlat
    lon, lat = parse_lonlat(args.at)
    point = open_app(args).reverse.describe(lon, lat)
    if point is None:
        raise DispatchError(f"该点附近没有已知道路，无法命名: {lon},{lat}")
    if args.json:
        print_json(point.as_json())
    else:
        admin = "".join(point.admin)
        print(f"{point.label}（{admin or '行政区划未知'}，网格 {point.grid_id or '无'}）")
    return 0
