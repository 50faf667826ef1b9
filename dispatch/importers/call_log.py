"""A calls-for-service export of another computer-aided dispatch system (CSV) read with a
TOML mapping, for `import-calls FILE --mapping MAPPING.toml`:

    [source]
    name = "seattle-911"            # tags every imported call; optional (default: the file name)

    [columns]                       # the source's column for each field; any may be absent
    id = "CAD Event Number"
    received_at = "Original Time Queued"
    dispatched_at = "First Dispatch Time"
    arrived_at = "First Arrival Time"
    closed_at = "Close Time"
    priority = "Priority"
    category = "Final Call Type"
    result = "Clearance Description"
    lon = "Longitude"
    lat = "Latitude"
    place = "Block Address"

    [time]
    format = "%m/%d/%Y %I:%M:%S %p"  # strftime
    timezone = "America/Los_Angeles" # IANA name; daylight saving handled by zoneinfo

    [values.priority]                # optional: the source's words -> the console's codes
    "1" = "urgent"
    [values.category]
    "ASLT - IP" = "assault"

A value outside the console's own lists is kept in the source's own words. Every row is
checked before anything is written: a bad row is reported with its line number and
reason. Blank times are unknown (a call never reached by a unit has no arrival)."""
from __future__ import annotations

import csv
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.domain.errors import DispatchError
from dispatch.importers.file_errors import decode_error_text
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES, Priority
from dispatch.importers.data_files import csv_rows, reading

FIELDS = ("id", "received_at", "dispatched_at", "arrived_at", "closed_at", "priority", "category",
          "result", "lon", "lat", "place")
TIME_FIELDS = ("received_at", "dispatched_at", "arrived_at", "closed_at")
MAX_ERRORS_SHOWN = 20
MAX_TEXT = 200


@dataclass(frozen=True)
class Mapping:
    source: str
    columns: dict[str, str]
    time_format: str
    zone: ZoneInfo
    values: dict[str, dict[str, str]]


@dataclass(frozen=True)
class ImportedCall:
    """One row of the export, parsed: times in UTC, codes mapped where the mapping says."""

    line: int
    external_id: str
    received_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    priority: str
    category: str
    result: str
    lon: float | None
    lat: float | None
    place: str

    def payload(self, source: str) -> dict[str, Any]:
        iso = lambda t: t.isoformat().replace("+00:00", "Z") if t else None  # noqa: E731
        return {"source": source, "external_id": self.external_id, "received_at": iso(self.received_at),
                "dispatched_at": iso(self.dispatched_at), "arrived_at": iso(self.arrived_at),
                "closed_at": iso(self.closed_at), "priority": self.priority, "category": self.category,
                "result": self.result, "lon": self.lon, "lat": self.lat, "place": self.place}


def _toml_where(message: str) -> str:
    """Where tomllib's (English) message places the error: "第 3 行第 5 列", or "文件末尾"."""
    found = re.search(r"at line (\d+), column (\d+)", message)
    if found:
        return f"第 {found[1]} 行第 {found[2]} 列"
    return "文件末尾" if "end of document" in message else ""


def read_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到映射文件: {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DispatchError(f"映射文件{decode_error_text(exc)}: {path.name}") from None
    except tomllib.TOMLDecodeError as exc:
        where = _toml_where(str(exc))
        raise DispatchError(f"映射文件不是有效的 TOML（{where}有格式错误）: {path.name}") from None
    except (ValueError, RecursionError):  # an integer of over 4300 digits, arrays nested too deep
        raise DispatchError(f"映射文件不是有效的 TOML（含超长数字或嵌套过深）: {path.name}") from None
    unknown = set(doc) - {"source", "columns", "time", "values"}
    if unknown:
        raise DispatchError(f"映射文件有未知的表: {'、'.join(sorted(unknown))}")
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise DispatchError("映射文件缺少 [columns] 表")
    bad = [k for k in columns if k not in FIELDS]
    if bad:
        raise DispatchError(f"[columns] 有未知字段: {'、'.join(bad)}；可用: {'、'.join(FIELDS)}")
    if not all(isinstance(v, str) and v.strip() for v in columns.values()):
        raise DispatchError("[columns] 的每一项应为源文件的列名（非空文字）")
    if "received_at" not in columns:
        raise DispatchError("[columns] 须给出 received_at（接警时间）的列")
    t = doc.get("time")
    if not isinstance(t, dict) or not isinstance(t.get("format"), str) or not isinstance(t.get("timezone"), str):
        raise DispatchError("映射文件须有 [time] 表，含 format（strftime）与 timezone（IANA 名称）")
    try:
        zone = ZoneInfo(t["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise DispatchError(f"未知的时区: {t['timezone']!r}（应为 IANA 名称，如 Asia/Shanghai）") from None
    values = doc.get("values", {})
    if not isinstance(values, dict) or not all(
            k in ("priority", "category", "result") and isinstance(v, dict)
            and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items()) for k, v in values.items()):
        raise DispatchError("[values] 只能有 priority、category、result 三个表，每项为 \"源值\" = \"代码\"")
    for field_name, known in (("priority", {p.value for p in Priority}), ("category", set(CATEGORY_BY_CODE)),
                              ("result", set(RESULT_CODES))):
        wrong = [b for b in values.get(field_name, {}).values() if b not in known]
        if wrong:
            raise DispatchError(f"[values.{field_name}] 映射到未知代码: {'、'.join(wrong)}")
    source = doc.get("source", {}).get("name") if isinstance(doc.get("source"), dict) else None
    return Mapping(str(source or "").strip()[:64], {k: v.strip() for k, v in columns.items()},
                   t["format"], zone, {k: dict(v) for k, v in values.items()})


def _times(text: str, m: Mapping) -> tuple[datetime, datetime] | None:
    """The instant(s) a wall time may mean, in UTC: (first occurrence, second occurrence);
    both the same except in the hour a daylight-saving change repeats."""
    text = text.strip()
    if not text:
        return None
    local = datetime.strptime(text, m.time_format)  # ValueError names the mismatch
    if local.tzinfo is not None:  # the format carried an offset (%z)
        t = local.astimezone(timezone.utc)
        return t, t
    return (local.replace(tzinfo=m.zone, fold=0).astimezone(timezone.utc),
            local.replace(tzinfo=m.zone, fold=1).astimezone(timezone.utc))


def _coord(text: str, lo: float, hi: float, name: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    v = float(text)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} 超出范围: {text}")
    return v


def _row(line: int, row: dict[str, str], m: Mapping) -> ImportedCall:
    def get(f: str) -> str:
        col = m.columns.get(f)
        return (row.get(col) or "").strip() if col else ""

    raw: dict[str, tuple[datetime, datetime] | None] = {}
    for f in TIME_FIELDS:
        try:
            raw[f] = _times(get(f), m)
        except ValueError:
            raise ValueError(f"{f} 时间格式不符（{get(f)!r}，应为 {m.time_format}）") from None
    first = raw["received_at"]
    if first is None:
        raise ValueError("缺少接警时间 received_at")
    rec = first[0]
    times: dict[str, datetime | None] = {"received_at": rec}
    before = rec
    for f in TIME_FIELDS[1:]:  # in the repeated hour: the first reading unless it goes back in the row
        pair = raw[f]
        if pair is not None:
            times[f] = before = pair[0] if pair[0] >= before else pair[1]
        else:
            times[f] = None
    for f in TIME_FIELDS[1:]:
        t = times[f]
        if t is not None and not rec - timedelta(minutes=1) <= t <= rec + timedelta(days=30):
            raise ValueError(f"{f} 不在接警时间之后 30 天内（{get(f)}）")
    lon = _coord(get("lon"), -180, 180, "经度")
    lat = _coord(get("lat"), -90, 90, "纬度")
    if (lon is None) != (lat is None) or (lon == 0 and lat == 0):
        lon = lat = None  # half a point, or the 0,0 of a blank geocode: no location
    mapped = {f: m.values.get(f, {}).get(get(f), get(f))[:MAX_TEXT] for f in ("priority", "category", "result")}
    return ImportedCall(line, get("id")[:64] or f"line-{line}", rec, times["dispatched_at"], times["arrived_at"],
                        times["closed_at"], mapped["priority"], mapped["category"], mapped["result"],
                        lon, lat, get("place")[:MAX_TEXT])


def read_call_log(path: str | Path, mapping: Mapping) -> list[ImportedCall]:
    """Every row parsed, or one DispatchError listing the bad rows (line: reason). Duplicate
    ids within the file are refused: an id names one call."""
    path = Path(path)
    out: list[ImportedCall] = []
    errors: list[str] = []
    with reading(path, "通话记录文件") as f:
        reader = csv.DictReader(f, strict=True)
        header = reader.fieldnames or []
        missing = [c for c in _source_columns(mapping) if c not in header]
        if missing:
            raise DispatchError(f"源文件缺少映射中的列: {'、'.join(missing)}（文件的列: {'、'.join(header[:20])}）")
        seen: dict[str, int] = {}
        for row in csv_rows(reader, "通话记录文件"):
            line = reader.line_num
            if None in row:  # more fields than the header
                errors.append(f"第 {line} 行: 字段数多于表头")
                continue
            try:
                call = _row(line, row, mapping)
            except ValueError as exc:
                errors.append(f"第 {line} 行: {exc}")
                continue
            if call.external_id in seen:
                errors.append(f"第 {line} 行: 编号 {call.external_id} 与第 {seen[call.external_id]} 行重复")
                continue
            seen[call.external_id] = line
            out.append(call)
    if errors:
        more = f"（另有 {len(errors) - MAX_ERRORS_SHOWN} 行）" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise DispatchError(f"{len(errors)} 行无法导入，未导入任何记录：\n" +
                            "\n".join(errors[:MAX_ERRORS_SHOWN]) + more)
    if not out:
        raise DispatchError(f"文件中没有记录: {path.name}")
    return out


def _source_columns(m: Mapping) -> list[str]:
    return list(dict.fromkeys(m.columns.values()))
