"""The national administrative hierarchy as gazetteer places.

Input: a tab-indented text file, plain or compressed (the national one is shipped in
resources/national/) (depth = leading tabs: 0 province, 1 prefecture,
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
from typing import Callable, Iterable, Iterator

from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import gcj02_to_wgs84, haversine_m
from dispatch.geo.gazetteer import Place, write_places
from dispatch.geo.pinyin_keys import canonical, typed_keys
from dispatch.geo.text import core_name
from dispatch.importers.data_files import COUNTY_CENTRES, GEONAMES_TOWNS, NATIONAL_HIERARCHY, reading

LEVELS = ("province", "prefecture", "county", "town", "village")
SOURCE = "国家统计局区划代码 (jionlp)"
MAX_TOWN_DISTANCE_M = 60_000
_GEONAMES_PROVINCE = {"inner": "内蒙古自治区", "tibet": "西藏自治区", "shaanxi": "陕西省",
                      "shanxi": "山西省"}
_HAN = re.compile(r"[\u3400-\u9fff]")
_NOT_IN_NAMES = re.compile(r"[,，。;；:：!！=<>{}\[\]\"\\/|]")  # "?" occurs: characters lost upstream
MAX_NAME_CHARS = 40
PROGRESS_STEP = 50_000
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class AdminLine:
    depth: int
    name: str
    code: str
    short: str


def read_hierarchy(path: str | Path) -> list[AdminLine]:
    """Lines of the hierarchy file with their depth. DispatchError naming the line when
    the file is not such a hierarchy (not text, no Chinese name, a level skipped, a
    code that is not 6 digits) or holds no line at all."""
    path = Path(path)
    out: list[AdminLine] = []
    prev = -1
    with reading(path, "行政区划文件") as f:
        for n, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip("\t"))
            parts = [p.strip() for p in line.strip("\t").split("\t")] + ["", ""]
            name, code, short = parts[0], parts[1], parts[2]
            if depth > 4 or depth > prev + 1:
                raise DispatchError(f"{path.name} 第 {n} 行不是行政区划：层级（行首制表符）不对")
            if (not _HAN.search(name) or len(name) > MAX_NAME_CHARS or _NOT_IN_NAMES.search(name)
                    or (code and not re.fullmatch(r"\d{6}(\d{6})?", code))):
                raise DispatchError(f"{path.name} 第 {n} 行不是行政区划：{line.strip()[:30]}")
            out.append(AdminLine(depth, name, code, short))
            prev = depth
    if not out:
        raise DispatchError(f"{path.name} 中没有行政区划")
    return out


def read_centres(path: str | Path | None) -> dict[str, tuple[float, float]]:
    """6-digit code -> WGS-84 centre, from county-centres.csv (GCJ-02)."""
    out: dict[str, tuple[float, float]] = {}
    if not path:
        return out
    with reading(path, "县级中心点文件") as f:
        for row in csv.DictReader(f):
            try:
                lon, lat = float(row["longitude"]), float(row["latitude"])
            except (KeyError, TypeError, ValueError):
                continue
            out[(row.get("adcode") or "")[:6]] = gcj02_to_wgs84(lon, lat)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def read_geonames(path: str | Path | None, provinces: list[str]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(province name, pinyin slug) -> points of GeoNames places with that name."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    if not path:
        return out
    by_key = {canonical(core_name(p)): p for p in provinces}
    by_key.update({k: v for k, v in _GEONAMES_PROVINCE.items()})
    with reading(path, "GeoNames 文件") as f:
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


def admin_places(hierarchy_path: str | Path = NATIONAL_HIERARCHY,
                 geonames_path: str | Path | None = GEONAMES_TOWNS,
                 centres_path: str | Path | None = COUNTY_CENTRES,
                 progress: Progress | None = None) -> Iterator[Place]:
    """Places of every level of the hierarchy, with the best point available. Every file
    is read and checked now (DispatchError before anything is given); the places come
    lazily. progress(done, total) is called every PROGRESS_STEP lines."""
    lines = read_hierarchy(hierarchy_path)
    provinces = [ln.name for ln in lines if ln.depth == 0]
    centres = read_centres(centres_path)
    geonames = read_geonames(geonames_path, provinces)
    return _places(lines, centres, geonames, progress)


def _places(lines: list[AdminLine], centres: dict[str, tuple[float, float]], geonames: dict,
            progress: Progress | None) -> Iterator[Place]:
    names: list[str] = [""] * 5
    points: list[tuple[tuple[float, float] | None, str]] = [(None, "none")] * 5
    for i, ln in enumerate(lines):
        if progress and i and i % PROGRESS_STEP == 0:
            progress(i, len(lines))
        d = ln.depth
        names[d] = ln.name
        path: list[str] = []
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


def import_admin(session: Session, hierarchy_path: str | Path = NATIONAL_HIERARCHY,
                 geonames_path: str | Path | None = GEONAMES_TOWNS,
                 county_centres_path: str | Path | None = COUNTY_CENTRES,
                 progress: Progress | None = None) -> int:
    """Write the hierarchy as places (bulk insert); returns the count. With no paths,
    the national register shipped in resources/national/. The caller commits."""
    return write_admin_places(session, admin_places(hierarchy_path, geonames_path, county_centres_path,
                                                    progress), progress)


def write_admin_places(session: Session, places: Iterable[Place], progress: Progress | None = None) -> int:
    """Write places read by admin_places; progress(n, n) at the end. The caller commits."""
    n = write_places(session, places)
    if progress:
        progress(n, n)
    return n
