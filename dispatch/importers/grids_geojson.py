"""A centre's 网格 from GeoJSON, for `import-grids FILE`:

    {"type": "FeatureCollection",
     "crs": {"type": "name", "properties": {"name": "GCJ-02"}},   # optional; default WGS-84
     "features": [
       {"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[121.48, 31.23], ...]]},  # or MultiPolygon
        "properties": {"id": "HP-01", "name": "外滩网格", "leader": "王芳", "leader_phone": "13800000001",
                       "officer": "黄社01",                        # 警格: a unit's callsign
                       "members": [{"name": "李强", "role": "网格员", "phone": "13800000002"}]}}]}

`members` may also be one string, entries separated by "；" (or ";"), each entry
`姓名/角色/电话` with role and phone optional (role defaults to 网格员). `crs` names
WGS-84 (EPSG:4326, CRS84), GCJ-02 (converted to WGS-84 here) or BD-09.

Every feature is checked before anything is written; an error names the feature by its
number and the line it starts on. Rings must be closed, have at least 4 positions, finite
coordinates inside China's bounds, no crossing edges and some area. Overlaps between
grids are warnings, not errors (see dispatch.geo.grids.overlapping_pairs)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch.domain.errors import DispatchError
from dispatch.importers.file_errors import decode_error_text, json_error_text, os_error_text
from dispatch.geo.coords import bd09_to_gcj02, gcj02_to_wgs84, in_china
from dispatch.geo.grids import overlapping_pairs, ring_area_m2, ring_self_crosses, stored_shape

MAX_BYTES = 64 * 1024 * 1024
WIDTHS = {"id": 32, "name": 64, "leader": 64, "leader_phone": 32}
MIN_AREA_M2 = 1.0


@dataclass(frozen=True)
class Issue:
    """An error or warning about one feature (line 0: the file as a whole)."""

    line: int
    text: str

    def __str__(self) -> str:
        return f"第 {self.line} 行: {self.text}" if self.line else self.text


@dataclass
class GridSpec:
    line: int
    number: int  # 1-based position in the features array
    id: str
    name: str
    polygon: list[Any]  # as stored in GridRow.polygon (WGS-84)
    leader: str
    leader_phone: str
    members: list[dict[str, str]]
    officer: str  # a callsign, "" = none


@dataclass
class GridFile:
    grids: list[GridSpec] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    crs: str = "WGS-84"


def _features_with_lines(text: str) -> list[tuple[int, Any]] | None:
    """The features of a top-level object, each with the line it starts on, or None
    when there is no top-level "features" array. The text is valid JSON already."""
    dec = json.JSONDecoder()
    i = len(text) - len(text.lstrip())
    if text[i:i + 1] != "{":
        return None
    i += 1

    def ws(k: int) -> int:
        while k < len(text) and text[k] in " \t\r\n":
            k += 1
        return k

    while True:
        i = ws(i)
        if text[i] == "}":
            return None
        key, i = dec.raw_decode(text, i)
        i = ws(i) + 1  # the colon
        i = ws(i)
        if key == "features" and text[i] == "[":
            out = []
            i = ws(i + 1)
            while text[i] != "]":
                value, end = dec.raw_decode(text, i)
                out.append((text.count("\n", 0, i) + 1, value))
                i = ws(end)
                if text[i] == ",":
                    i = ws(i + 1)
            return out
        _, i = dec.raw_decode(text, i)
        i = ws(i)
        if text[i] == ",":
            i += 1


def _crs_converter(doc: dict[str, Any]) -> tuple[str, Any]:
    crs = doc.get("crs")
    if crs is None:
        return "WGS-84", None
    name = crs if isinstance(crs, str) else (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str):
        raise DispatchError("crs 应为坐标系名称，如 {\"type\": \"name\", \"properties\": {\"name\": \"GCJ-02\"}}")
    key = "".join(c for c in name.upper() if c.isalnum())
    if "GCJ" in key:
        return "GCJ-02", gcj02_to_wgs84
    if "BD09" in key:
        return "BD-09", lambda lon, lat: gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    if any(k in key for k in ("WGS84", "EPSG4326", "CRS84")):
        return "WGS-84", None
    raise DispatchError(f"不支持的坐标系 {name!r}：应为 WGS-84（EPSG:4326）、GCJ-02 或 BD-09")


def _ring(raw: Any, where: str, convert: Any) -> list[list[float]]:
    if not isinstance(raw, list) or not all(isinstance(p, list) for p in raw):
        raise ValueError(f"{where}不是坐标数组")
    if len(raw) < 4:
        raise ValueError(f"{where}只有 {len(raw)} 个点（闭合环至少 4 个点）")
    ring = []
    for p in raw:
        if len(p) < 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p[:2]):
            raise ValueError(f"{where}有不是 [经度, 纬度] 的点: {json.dumps(p)[:40]}")
        lon, lat = float(p[0]), float(p[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError(f"{where}有非有限坐标")
        if not in_china(lon, lat):
            raise ValueError(f"{where}的点 {lon:g},{lat:g} 不在中国境内（经纬度是否写反，或不是经纬度坐标？）")
        ring.append([lon, lat])
    if ring[0] != ring[-1]:
        raise ValueError(f"{where}未闭合（首尾两点应相同）")
    if convert is not None:
        ring = [[round(v, 7) for v in convert(lon, lat)] for lon, lat in ring]
        ring[-1] = list(ring[0])
    if ring_self_crosses(ring):
        raise ValueError(f"{where}自相交")
    if ring_area_m2(ring) < MIN_AREA_M2:
        raise ValueError(f"{where}面积为零")
    return ring


def _geometry(geom: Any, convert: Any) -> list[Any]:
    if not isinstance(geom, dict):
        raise ValueError("缺少 geometry")
    kind, coords = geom.get("type"), geom.get("coordinates")
    polys: list[Any] | None
    if kind == "Polygon":
        polys = [coords]
    elif kind == "MultiPolygon":
        polys = coords if isinstance(coords, list) else None
    else:
        raise ValueError(f"geometry 类型 {kind!r} 不是 Polygon 或 MultiPolygon")
    if not polys or not all(isinstance(p, list) and p for p in polys):
        raise ValueError("geometry 没有多边形")
    out = []
    for k, poly in enumerate(polys):
        if not all(isinstance(r, list) for r in poly):
            raise ValueError("多边形应为环的数组")
        part = f"第 {k + 1} 部分" if len(polys) > 1 else ""
        out.append([_ring(r, f"{part}{'外环' if j == 0 else f'第 {j} 个内环'}", convert) for j, r in enumerate(poly)])
    return stored_shape(out)


def _text(props: dict[str, Any], key: str) -> str:
    v = props.get(key)
    if v is None:
        return ""
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise ValueError(f"{key} 应为文字")
    text = str(v).strip()
    if len(text) > WIDTHS.get(key, 64):
        raise ValueError(f"{key} 超过 {WIDTHS.get(key, 64)} 个字符")
    return text


def _phone(text: str, what: str) -> str:
    if text and not all(c.isdigit() or c in "+- " for c in text):
        raise ValueError(f"{what}电话 {text!r} 应为数字")
    return text


def parse_members(value: Any) -> list[dict[str, str]]:
    """members as a list of {name, role, phone}, or a "；"-separated string of 姓名/角色/电话."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        entries = [e.strip() for e in value.replace(";", "；").split("；") if e.strip()]
        items: list[Any] = []
        for e in entries:
            parts = [p.strip() for p in e.split("/")]
            if len(parts) > 3:
                raise ValueError(f"成员 {e!r} 应为 姓名/角色/电话")
            parts += [""] * (3 - len(parts))
            items.append({"name": parts[0], "role": parts[1], "phone": parts[2]})
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError("members 应为列表或以“；”分隔的文字")
    out = []
    for m in items:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not m["name"].strip():
            raise ValueError(f"成员 {json.dumps(m, ensure_ascii=False)[:40]} 缺少姓名")
        role = str(m.get("role") or "网格员").strip()[:32]
        phone = _phone(str(m.get("phone") or "").strip()[:32], f"成员 {m['name'].strip()} 的")
        out.append({"name": m["name"].strip()[:64], "role": role, "phone": phone})
    return out


def _feature(line: int, number: int, feat: Any, convert: Any) -> GridSpec:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise ValueError("不是 GeoJSON Feature")
    props = feat.get("properties")
    if not isinstance(props, dict):
        raise ValueError("缺少 properties")
    gid = _text(props, "id") or (str(feat["id"]).strip() if isinstance(feat.get("id"), (str, int)) else "")
    if not gid:
        raise ValueError("缺少网格编号 id")
    polygon = _geometry(feat.get("geometry"), convert)
    return GridSpec(line, number, gid, _text(props, "name") or gid, polygon, _text(props, "leader"),
                    _phone(_text(props, "leader_phone"), "网格长"), parse_members(props.get("members")),
                    _text(props, "officer"))


def read_grids(path: str | Path, known_callsigns: set[str] | None = None) -> GridFile:
    """Every feature parsed and checked; errors and warnings collected, never raised per
    feature. A file that is not a GeoJSON FeatureCollection raises one DispatchError.
    `known_callsigns`: the units an officer may name (None: not checked)."""
    path = Path(path)
    if path.is_dir():
        raise DispatchError(f"网格文件应是一个文件，{path} 是目录")
    if not path.is_file():
        raise DispatchError(f"找不到网格文件: {path}")
    if path.stat().st_size > MAX_BYTES:
        raise DispatchError(f"网格文件过大（超过 {MAX_BYTES // 1024 // 1024} MB）: {path.name}")
    try:
        text = path.read_text(encoding="utf-8-sig")
        doc = json.loads(text)
    except UnicodeDecodeError as exc:
        raise DispatchError(f"网格文件{decode_error_text(exc)}: {path.name}") from None
    except OSError as exc:
        raise DispatchError(f"网格文件无法读取（{os_error_text(exc)}）: {path.name}") from None
    except json.JSONDecodeError as exc:
        raise DispatchError(f"网格文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列: "
                            f"{json_error_text(exc.msg)}）: {path.name}") from None
    except RecursionError:  # e.g. 100,000 "[": nested deeper than any GeoJSON
        raise DispatchError(f"网格文件嵌套层数过深，不是有效的 GeoJSON: {path.name}") from None
    except ValueError:  # e.g. an integer of over 4300 digits (int() refuses to convert it)
        raise DispatchError(f"网格文件含超长数字，不是有效的 GeoJSON: {path.name}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise DispatchError("网格文件应为 GeoJSON FeatureCollection（含 features 数组）")
    crs_name, convert = _crs_converter(doc)
    located = _features_with_lines(text) or [(0, f) for f in doc["features"]]
    out = GridFile(crs=crs_name)
    seen: dict[str, int] = {}
    for number, (line, feat) in enumerate(located, start=1):
        try:
            spec = _feature(line, number, feat, convert)
        except ValueError as exc:
            out.errors.append(Issue(line, f"第 {number} 个要素: {exc}"))
            continue
        if spec.id in seen:
            out.errors.append(Issue(line, f"网格编号 {spec.id} 与第 {seen[spec.id]} 行重复"))
            continue
        seen[spec.id] = line
        if known_callsigns is not None and spec.officer and spec.officer not in known_callsigns:
            out.errors.append(Issue(line, f"网格 {spec.id} 的警格民警 {spec.officer} 不在警力名册中"))
            continue
        out.grids.append(spec)
    if not located:
        out.errors.append(Issue(0, f"文件中没有网格: {path.name}"))
    lines = {g.id: g.line for g in out.grids}
    for a, b in overlapping_pairs([(g.id, g.polygon) for g in out.grids]):
        out.warnings.append(Issue(lines[a], f"网格 {a} 与网格 {b}（第 {lines[b]} 行）有重叠"))
    return out
