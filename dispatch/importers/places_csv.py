"""A centre's own standard addresses, POIs or landmarks from a CSV file (UTF-8,
header row). Columns:

- name (required): the place name.
- lon, lat (required): the point, WGS-84 unless `crs` says gcj02 or bd09.
- kind: landmark, poi, school, hospital, shopping, address, ... (default poi).
- admin: administrative path broad to narrow, separated by '/' or '>'
  (e.g. 浙江省/宁波市/海曙区); or instead the columns province, city, county, town
  (any subset; ningbo-pois.csv has city and county: the province is added from the
  city when it is known below).
- aliases: other names separated by '|' or ';'.
- precision: default point.
- source: where the point comes from (a URL); default the file name.
- crs: wgs84 (default), gcj02 or bd09.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import bd09_to_gcj02, gcj02_to_wgs84
from dispatch.geo.gazetteer import Place, write_places

# Province of prefecture-level cities that appear in files without a province column.
_CITY_PROVINCE = {"宁波市": "浙江省", "杭州市": "浙江省", "温州市": "浙江省", "绍兴市": "浙江省",
                  "嘉兴市": "浙江省", "湖州市": "浙江省", "舟山市": "浙江省", "台州市": "浙江省",
                  "金华市": "浙江省", "衢州市": "浙江省", "丽水市": "浙江省"}
_MUNICIPALITIES = {"北京市", "上海市", "天津市", "重庆市"}


def _admin_of(row: dict) -> list[str]:
    if row.get("admin"):
        return [p.strip() for p in re.split(r"[/>]", row["admin"]) if p.strip()]
    parts = [(row.get(k) or "").strip() for k in ("province", "city", "county", "town")]
    city = parts[1]
    if not parts[0] and city:
        parts[0] = city if city in _MUNICIPALITIES else _CITY_PROVINCE.get(city, "")
    out: list[str] = []
    for p in parts:
        if p and (not out or out[-1] != p):
            out.append(p)
    return out


def read_places_csv(path: str | Path) -> list[Place]:
    """Places of a CSV file; DispatchError naming the line when a row is unusable."""
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到地点文件: {path}")
    places: list[Place] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"name", "lon", "lat"} - set(reader.fieldnames or [])
        if missing:
            raise DispatchError(f"地点文件缺少列 {', '.join(sorted(missing))}: {path}")
        for line, row in enumerate(reader, start=2):
            name = (row.get("name") or "").strip()
            if not name:
                continue
            try:
                lon, lat = float(row["lon"]), float(row["lat"])
            except (TypeError, ValueError):
                raise DispatchError(f"{path.name} 第 {line} 行坐标无效: {row.get('lon')},{row.get('lat')}") from None
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise DispatchError(f"{path.name} 第 {line} 行坐标超出范围")
            crs = (row.get("crs") or "wgs84").strip().lower()
            if crs == "bd09":
                lon, lat = gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
            elif crs == "gcj02":
                lon, lat = gcj02_to_wgs84(lon, lat)
            aliases = [a.strip() for a in re.split(r"[|;；]", row.get("aliases") or "") if a.strip()]
            places.append(Place(
                name=name, kind=(row.get("kind") or "poi").strip() or "poi", lon=lon, lat=lat,
                admin=_admin_of(row), aliases=aliases,
                precision=(row.get("precision") or "point").strip() or "point",
                source=(row.get("source") or path.name).strip()))
    return places


def import_csv_places(session: Session, path: str | Path) -> int:
    """Write the places of a CSV file (see the module docstring); the caller commits."""
    return write_places(session, read_places_csv(path))
