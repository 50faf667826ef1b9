"""The national administrative hierarchy as gazetteer places.

Input: a tab-indented text file (depth = leading tabs: 0 province, 1 prefecture,
2 county, 3 town/street, 4 village/community; provinces to counties carry
`name<TAB>code<TAB>short name`). Points:

- province/prefecture/county: the centre of county-centres.csv by code (GCJ-02,
  converted to WGS-84), precision = its level;
- town: a GeoNames place (cn-places-1000.csv) of the same province whose romanised
  name equals the pinyin of the town's name and lies within 60 km of its county
  centre (precision 'town'), otherwise the county centre (precision 'county');
- village: the point of its town, with the town's precision.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import gcj02_to_wgs84, haversine_m
from dispatch.geo.gazetteer import Place, write_places
from dispatch.geo.pinyin_keys import canonical, typed_keys
from dispatch.geo.text import core_name

LEVELS = ("province", "prefecture", "county", "town", "village")
SOURCE = "国家统计局区划代码 (jionlp)"
MAX_TOWN_DISTANCE_M = 60_000
_GEONAMES_PROVINCE = {"inner": "内蒙古自治区", "tibet": "西藏自治区", "shaanxi": "陕西省",
                      "shanxi": "山西省"}


@dataclass(slots=True)
class AdminLine:
    depth: int
    name: str
    code: str
    short: str


def read_hierarchy(path: str | Path) -> Iterator[AdminLine]:
    """Lines of the hierarchy file with their depth."""
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到行政区划文件: {path}")
    with path.open(encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip("\t"))
            parts = line.strip("\t").split("\t")
            if depth > 4:
                raise DispatchError(f"行政区划文件层级超过 4: {line.strip()}")
            parts += ["", ""]
            yield AdminLine(depth, parts[0].strip(), parts[1].strip(), parts[2].strip())


def read_centres(path: str | Path | None) -> dict[str, tuple[float, float]]:
    """6-digit code -> WGS-84 centre, from county-centres.csv (GCJ-02)."""
    out: dict[str, tuple[float, float]] = {}
    if not path or not Path(path).is_file():
        return out
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            try:
                lon, lat = float(row["longitude"]), float(row["latitude"])
            except (KeyError, TypeError, ValueError):
                continue
            out[row["adcode"][:6]] = gcj02_to_wgs84(lon, lat)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def read_geonames(path: str | Path | None, provinces: list[str]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(province name, pinyin slug) -> points of GeoNames places with that name."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    if not path or not Path(path).is_file():
        return out
    by_key = {canonical(core_name(p)): p for p in provinces}
    by_key.update({k: v for k, v in _GEONAMES_PROVINCE.items()})
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            first = (row.get("admin1") or "").split(" ")[0].lower()
            prov = _GEONAMES_PROVINCE.get(first) or by_key.get(first)
            if not prov:
                continue
            try:
                pt = (float(row["lon"]), float(row["lat"]))
            except (TypeError, ValueError):
                continue
            out.setdefault((prov, _slug(row["name"])), []).append(pt)
    return out


def _town_point(name: str, province: str, county_pt, geonames) -> tuple[float, float] | None:
    core = core_name(name)
    keys = {canonical(core), canonical(name)}
    keys |= {v for v in typed_keys(core) if len(v) > len(core)}
    best = None
    for key in keys:
        for pt in geonames.get((province, key), ()):
            d = haversine_m(*pt, *county_pt) if county_pt else 0.0
            if d <= MAX_TOWN_DISTANCE_M and (best is None or d < best[0]):
                best = (d, pt)
    return best[1] if best else None


def admin_places(hierarchy_path, geonames_path=None, centres_path=None) -> Iterator[Place]:
    """Places of every level of the hierarchy, with the best point available."""
    lines = list(read_hierarchy(hierarchy_path))
    provinces = [ln.name for ln in lines if ln.depth == 0]
    centres = read_centres(centres_path)
    geonames = read_geonames(geonames_path, provinces)
    names: list[str] = [""] * 5
    points: list[tuple[tuple[float, float] | None, str]] = [(None, "none")] * 5
    for ln in lines:
        d = ln.depth
        names[d] = ln.name
        path = []
        for n in names[:d]:
            if n and (not path or path[-1] != n):
                path.append(n)
        parent_pt, parent_prec = points[d - 1] if d else (None, "none")
        if d <= 2:
            pt = centres.get(ln.code[:6]) if ln.code else None
            prec = LEVELS[d] if pt else parent_prec
            pt = pt or parent_pt
        elif d == 3:
            county_pt = points[2][0]
            pt = _town_point(ln.name, names[0], county_pt, geonames) if geonames else None
            prec = "town" if pt else points[2][1]
            pt = pt or county_pt
        else:
            pt, prec = parent_pt, parent_prec
        points[d] = (pt, prec)
        if d == 1 and ln.name == names[0]:
            continue  # municipality: the prefecture line repeats the province
        aliases = [ln.short] if ln.short and ln.short != ln.name else []
        extra = {"code": ln.code} if ln.code else {}
        yield Place(name=ln.name, kind=LEVELS[d], lon=pt[0] if pt else None,
                    lat=pt[1] if pt else None, admin=path, aliases=aliases,
                    precision=prec if pt else "none", source=SOURCE, extra=extra)


def import_admin(session: Session, hierarchy_path, geonames_path=None, county_centres_path=None) -> int:
    """Write the hierarchy as places (bulk insert); returns the count. The caller commits."""
    return write_places(session, admin_places(hierarchy_path, geonames_path, county_centres_path))
