"""A centre's own standard addresses, POIs or landmarks from a CSV file (UTF-8,
header row; plain or compressed .xz/.gz/.bz2). Columns:

- name (required): the place name.
- lon, lat (required): the point, WGS-84 unless `crs` says gcj02 or bd09.
- kind: landmark, poi, school, hospital, shopping, address, ... (default poi).
- admin: administrative path broad to narrow, separated by '/' or '>'
  (e.g. 浙江省/宁波市/海曙区); or instead the columns province, city, county, town
  (any subset; ningbo-pois.csv has city and county: the province of a city is found
  in the shipped register of county centres).
- aliases: other names separated by '|' or ';'.
- precision: default point.
- source: where the point comes from (a URL); default the file name.
- crs: wgs84 (default), gcj02 or bd09.
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import NOT_IN_CHINA, bd09_to_gcj02, gcj02_to_wgs84, in_china
from dispatch.geo.gazetteer import Place, write_places
from dispatch.importers.data_files import COUNTY_CENTRES, csv_rows, open_text, reading


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@lru_cache(maxsize=1)
def province_of_city() -> dict[str, str]:
    """Province of every province-level and prefecture-level name in the shipped county
    centres (12-digit codes: PP0000000000 a province, PPCC00000000 a prefecture);
    a province (and a municipality such as 上海市) maps to itself; a name found in two
    provinces is left out."""
    provinces: dict[str, str] = {}
    cities: list[tuple[str, str]] = []
    with open_text(COUNTY_CENTRES, "县级中心点文件") as f:
        for row in csv.DictReader(f):
            code, name = (row.get("adcode") or ""), (row.get("name") or "").strip()
            if len(code) != 12 or not code.endswith("00000000"):
                continue
            if code[2:4] == "00":
                provinces[code[:2]] = name
            else:
                cities.append((code[:2], name))
    out = {name: name for name in provinces.values()}
    ambiguous: set[str] = set()
    for pcode, name in cities:
        province = provinces.get(pcode, "")
        if name in out and out[name] != province:
            ambiguous.add(name)
        out.setdefault(name, province)
    return {k: v for k, v in out.items() if k not in ambiguous and v}


def _admin_of(row: dict) -> list[str]:
    if row.get("admin"):
        return [p.strip() for p in re.split(r"[/>]", row["admin"]) if p.strip()]
    parts = [(row.get(k) or "").strip() for k in ("province", "city", "county", "town")]
    city = parts[1]
    if not parts[0] and city:
        parts[0] = province_of_city().get(city, "")
    out: list[str] = []
    for p in parts:
        if p and (not out or out[-1] != p):
            out.append(p)
    return out


def read_places_csv(path: str | Path) -> list[Place]:
    """Places of a CSV file; DispatchError naming the line when a row is unusable."""
    path = Path(path)
    places: list[Place] = []
    with reading(path, "地点文件") as f:
        reader = csv.DictReader(f, strict=True)
        missing = {"name", "lon", "lat"} - set(reader.fieldnames or [])
        if missing:
            raise DispatchError(f"地点文件缺少列 {', '.join(sorted(missing))}: {path}")
        for row in csv_rows(reader, "地点文件"):
            line = reader.line_num
            name = (row.get("name") or "").strip()
            if not name:
                continue
            if _CONTROL.search(name) or len(name) > 128:
                raise DispatchError(f"{path.name} 第 {line} 行地名含控制字符或过长: {name[:20]!r}")
            try:
                lon, lat = float(row["lon"]), float(row["lat"])
            except (TypeError, ValueError):
                raise DispatchError(f"{path.name} 第 {line} 行坐标无效: {row.get('lon')},{row.get('lat')}") from None
            if not in_china(lon, lat):  # also nan
                raise DispatchError(f"{path.name} 第 {line} 行坐标 {lon:g},{lat:g} {NOT_IN_CHINA}")
            crs = (row.get("crs") or "wgs84").strip().lower()
            if crs == "bd09":
                lon, lat = gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
            elif crs == "gcj02":
                lon, lat = gcj02_to_wgs84(lon, lat)
            elif crs != "wgs84":
                raise DispatchError(f"{path.name} 第 {line} 行坐标系未知: {crs}（可用 wgs84、gcj02、bd09）")
            aliases = [a.strip() for a in re.split(r"[|;；]", row.get("aliases") or "") if a.strip()]
            places.append(Place(
                name=name, kind=(row.get("kind") or "poi").strip() or "poi", lon=lon, lat=lat,
                admin=_admin_of(row), aliases=aliases,
                precision=(row.get("precision") or "point").strip() or "point",
                source=(row.get("source") or path.name).strip()))
    if not places:
        raise DispatchError(f"地点文件中没有地点: {path.name}")
    return places


def import_csv_places(session: Session, path: str | Path) -> int:
    """Write the places of a CSV file (see the module docstring); the caller commits."""
    return write_places(session, read_places_csv(path))
