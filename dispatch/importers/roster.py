"""Stations and the unit roster from CSV files (`import-stations`, `import-roster`, the demo).

stations.csv — one post a row:
    name      the post's name (unique; the roster's `station` refers to it)
    kind      派出所 / 警务室 / 岗亭 / 群防驻点
    lon, lat  where it stands (WGS-84; a `crs` column may say gcj02 for a row), or
    osm_node  the OpenStreetMap node it stands at (its coordinates come from the road data)
    note      optional
roster.csv — one unit a row:
    callsign  unique (黄巡01)
    kind      a UnitKind value: patrol_car, special_patrol, traffic, ebike_patrol, foot_patrol,
              community, volunteer_patrol, joint_defence, peace_volunteer, village_team
    station   a post's name (in the file being loaded with it or already in the database)
    duty      daily windows like '07:00-19:00', ';'-separated (may cross midnight); empty = always
    leader, phone   optional
    members   head count (1–99; empty = 1)
    terminal  the 12-digit JT/T 808 terminal number of its vehicle or handset; empty = none
    auth_code the terminal's authentication code (required with a terminal)

The readers check every row and return the good rows and the bad rows' errors by line
number; nothing is written by them.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import unit_created_payload
from dispatch.domain.units import DutyWindow, UnitKind, UnitStatus
from dispatch.geo.coords import gcj02_to_wgs84, in_china
from dispatch.geo.osm import OsmData
from dispatch.importers.data_files import csv_rows, reading
from dispatch.importers.grids_geojson import Issue
from dispatch.store import eventlog
from dispatch.store.schema import StationRow, UnitRow

IMPORT_OPERATOR = "import"  # the operator of the unit.created events a roster load appends
STATION_KINDS = ("派出所", "警务室", "岗亭", "群防驻点")
TERMINAL_DIGITS = 12
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class StationSpec:
    line: int
    name: str
    kind: str
    lon: float
    lat: float
    source: str


@dataclass(frozen=True)
class UnitSpec:
    line: int
    callsign: str
    kind: str
    station: str
    duty: list[str]
    leader: str
    phone: str
    members: int
    terminal: str | None
    auth_code: str

    def fields(self) -> dict[str, Any]:
        """The unit's roster fields as UnitRow names them."""
        return {"kind": self.kind, "station": self.station, "duty": list(self.duty), "leader": self.leader,
                "phone": self.phone, "members": self.members, "terminal": self.terminal,
                "auth_code": self.auth_code}


def refuse(errors: list[Issue], what: str) -> None:
    """One DispatchError listing the bad rows (line: reason), if any."""
    if errors:
        more = f"（另有 {len(errors) - MAX_ERRORS_SHOWN} 处）" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise DispatchError(f"{what}有 {len(errors)} 处错误，未导入任何数据：\n" +
                            "\n".join(str(e) for e in errors[:MAX_ERRORS_SHOWN]) + more)


def _table(path: Path, what: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their line numbers (values stripped)."""
    out = []
    with reading(path, what) as fh:
        reader = csv.DictReader(fh, strict=True)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise DispatchError(f"{what}缺少列: {'、'.join(missing)}（文件的列: {'、'.join(header[:20]) or '无'}）")
        for r in csv_rows(reader, what):
            if None in r:
                out.append((reader.line_num, {"__extra__": "1"}))
                continue
            out.append((reader.line_num, {k: (v or "").strip() for k, v in r.items()}))
    if not out:
        raise DispatchError(f"{what}中没有数据行: {path.name}")
    return out


def _width(r: dict[str, str], key: str, n: int) -> str:
    v = r.get(key, "")
    if len(v) > n:
        raise ValueError(f"{key} 超过 {n} 个字符")
    return v


def _station(r: dict[str, str], osm_node: Callable[[int], tuple[float, float] | None] | None) -> StationSpec:
    name = _width(r, "name", 64)
    if not name:
        raise ValueError("缺少驻点名称 name")
    kind = r.get("kind", "")
    if kind not in STATION_KINDS:
        raise ValueError(f"驻点类型 {kind!r} 应为 {'/'.join(STATION_KINDS)} 之一")
    note = r.get("note", "")
    if r.get("lon") or r.get("lat"):
        try:
            lon, lat = float(r.get("lon", "")), float(r.get("lat", ""))
        except ValueError:
            raise ValueError(f"经纬度应为数字: {r.get('lon')!r},{r.get('lat')!r}") from None
        if not in_china(lon, lat):
            raise ValueError(f"经纬度 {lon:g},{lat:g} 不在中国境内（是否写反？）")
        crs = r.get("crs", "").lower().replace("-", "")
        if crs not in ("", "wgs84", "gcj02"):
            raise ValueError(f"crs {r.get('crs')!r} 应为 wgs84 或 gcj02")
        if crs == "gcj02":
            lon, lat = gcj02_to_wgs84(lon, lat)
        return StationSpec(0, name, kind, round(lon, 7), round(lat, 7), note or "驻点表经纬度")
    if not r.get("osm_node"):
        raise ValueError("应给出 lon,lat 或 osm_node")
    try:
        node = int(r["osm_node"])
    except ValueError:
        raise ValueError(f"osm_node 应为整数: {r['osm_node']!r}") from None
    where = osm_node(node) if osm_node else None
    if where is None:
        raise ValueError(f"OSM 节点 {node} 不在路网数据中（可改用 lon,lat 列）")
    return StationSpec(0, name, kind, where[0], where[1], f"OpenStreetMap node {node}（{note}）")


T = TypeVar("T")


def _parsed(rows: Iterable[tuple[int, dict[str, str]]], parse: Callable[[dict[str, str]], T],
            errors: list[Issue]) -> Iterator[tuple[int, T]]:
    """(line, parsed row) for the rows `parse` accepts; the others become errors with their
    line (a row with more fields than the header, or `parse`'s ValueError)."""
    for line, r in rows:
        try:
            if "__extra__" in r:
                raise ValueError("字段数多于表头")
            yield line, parse(r)
        except ValueError as exc:
            errors.append(Issue(line, str(exc)))


def read_stations(path: str | Path, osm_node: Callable[[int], tuple[float, float] | None] | None = None
                  ) -> tuple[list[StationSpec], list[Issue]]:
    """The posts of a stations.csv and the errors of its bad rows. `osm_node`: node id ->
    (lon, lat), asked only for rows without lon,lat."""
    specs: list[StationSpec] = []
    errors: list[Issue] = []
    seen: dict[str, int] = {}
    rows = _table(Path(path), "驻点文件", ("name", "kind"))
    for line, spec in _parsed(rows, lambda r: _station(r, osm_node), errors):
        if spec.name in seen:
            errors.append(Issue(line, f"驻点 {spec.name} 与第 {seen[spec.name]} 行重复"))
            continue
        seen[spec.name] = line
        specs.append(replace(spec, line=line))
    return specs, errors


def _duty(text: str) -> list[str]:
    out = []
    for w in (x.strip() for x in text.replace("；", ";").split(";")):
        if not w:
            continue
        try:
            a, b = (p.strip() for p in w.split("-"))
            hm = [tuple(int(v) for v in t.split(":")) for t in (a, b)]
            if not all(len(t) == 2 and 0 <= t[0] <= 23 and 0 <= t[1] <= 59 for t in hm):
                raise ValueError
        except ValueError:
            raise ValueError(f"值班时段 {w!r} 应为 HH:MM-HH:MM（如 07:00-19:00）") from None
        window = DutyWindow.parse(w)
        if window.start_min == window.end_min:
            raise ValueError(f"值班时段 {w!r} 起止相同（全天值班请留空）")
        out.append(str(window))
    return out


def _unit(r: dict[str, str], stations: set[str] | None) -> UnitSpec:
    callsign = _width(r, "callsign", 32)
    if not callsign:
        raise ValueError("缺少呼号 callsign")
    try:
        kind = UnitKind(r.get("kind", "")).value
    except ValueError:
        raise ValueError(f"{callsign} 的警力类型 {r.get('kind')!r} 未知（可用: "
                         f"{'、'.join(k.value for k in UnitKind)}）") from None
    station = _width(r, "station", 64)
    if not station:
        raise ValueError(f"{callsign} 缺少驻点 station")
    if stations is not None and station not in stations:
        raise ValueError(f"{callsign} 的驻点 {station} 不存在（先导入驻点表）")
    duty = _duty(r.get("duty", ""))
    members_text = r.get("members", "") or "1"
    if not members_text.isdigit() or not 1 <= int(members_text) <= 99:
        raise ValueError(f"{callsign} 的人数 {members_text!r} 应为 1–99 的整数")
    phone = _width(r, "phone", 32)
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        raise ValueError(f"{callsign} 的电话 {phone!r} 应为数字")
    terminal = r.get("terminal", "") or None
    if terminal is not None and not (terminal.isdigit() and len(terminal) == TERMINAL_DIGITS):
        raise ValueError(f"{callsign} 的终端号 {terminal} 应为 {TERMINAL_DIGITS} 位数字")
    auth_code = _width(r, "auth_code", 64) if terminal else ""
    if terminal is not None and not auth_code:
        raise ValueError(f"{callsign} 有终端号 {terminal} 但没有鉴权码 auth_code")
    return UnitSpec(0, callsign, kind, station, duty, _width(r, "leader", 64), phone, int(members_text),
                    terminal, auth_code)


def read_roster(path: str | Path, stations: set[str] | None = None) -> tuple[list[UnitSpec], list[Issue]]:
    """The units of a roster.csv and the errors of its bad rows (unknown post, duplicate
    callsign or terminal, bad duty window or terminal). `stations`: the posts a unit may
    name (None: not checked)."""
    specs: list[UnitSpec] = []
    errors: list[Issue] = []
    callsigns: dict[str, int] = {}
    terminals: dict[str, int] = {}
    rows = _table(Path(path), "警力名册", ("callsign", "kind", "station"))
    for line, spec in _parsed(rows, lambda r: _unit(r, stations), errors):
        if spec.callsign in callsigns:
            errors.append(Issue(line, f"呼号 {spec.callsign} 与第 {callsigns[spec.callsign]} 行重复"))
            continue
        term = spec.terminal.lstrip("0") if spec.terminal else None
        if term is not None and term in terminals:
            errors.append(Issue(line, f"{spec.callsign} 的终端号 {spec.terminal} 与第 {terminals[term]} 行重复"))
            continue
        callsigns[spec.callsign] = line
        if term is not None:
            terminals[term] = line
        specs.append(replace(spec, line=line))
    return specs, errors


def import_stations(session: Session, path: Path, osm: OsmData) -> dict[str, tuple[float, float]]:
    """Add the stations (the demo's load); returns name -> (lon, lat)."""
    specs, errors = read_stations(path, lambda node: osm.nodes.get(node))
    refuse(errors, "驻点文件")
    for st in specs:
        session.add(StationRow(name=st.name, kind=st.kind, lon=st.lon, lat=st.lat, source=st.source))
    return {st.name: (st.lon, st.lat) for st in specs}


def import_roster(session: Session, path: Path, stations: dict[str, tuple[float, float]],
                  now: datetime) -> int:
    """Add the units (the demo's load), each at its station, available, with its duty windows."""
    specs, errors = read_roster(path, set(stations))
    refuse(errors, "警力名册")
    for u in specs:
        lon, lat = stations[u.station]
        add_unit(session, now, callsign=u.callsign, lon=lon, lat=lat, **u.fields())
    return len(specs)


def add_unit(session: Session, now: datetime, *, callsign: str, kind: str, lon: float, lat: float,
             station: str, duty: list[str], leader: str = "", phone: str = "", members: int = 1,
             terminal: str | None = None, auth_code: str = "", seat: str = "",
             operator: str = IMPORT_OPERATOR) -> UnitRow:
    """A new unit at its post, available, and its unit.created event (what it is, where
    its post is: replay knows the unit from then on)."""
    row = UnitRow(callsign=callsign, kind=kind, status=UnitStatus.AVAILABLE.value, status_since=now,
                  lon=lon, lat=lat, position_at=now, home_lon=lon, home_lat=lat, station=station,
                  duty=duty, leader=leader, phone=phone, members=members, terminal=terminal,
                  auth_code=auth_code, position_source="post")
    session.add(row)
    session.flush()
    eventlog.append(session, at=now, seat=seat, operator=operator, kind=ev.UNIT_CREATED, unit_id=row.id,
                    payload=unit_created_payload(callsign, kind, station, lon, lat, duty=duty, leader=leader,
                                                 phone=phone, members=members, terminal=terminal))
    return row


def update_unit(session: Session, now: datetime, row: UnitRow, fields: dict[str, Any],
                post: tuple[float, float], *, seat: str = "", operator: str = IMPORT_OPERATOR,
                before: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change a unit's roster fields (kind, post, duty, leader, phone, members, terminal)
    and append its unit.updated event; its status is never touched. A unit whose position
    is its post moves with the post. Returns the changes {field: [old, new]} ({} = none:
    nothing written). auth_code changes are recorded without the codes. `before`: values the
    caller already cleared (a terminal passed between two units), as they were."""
    changes: dict[str, Any] = {}
    for name, new in fields.items():
        old = (before or {}).get(name, getattr(row, name))
        if (list(old or []) if name == "duty" else old) != new:
            changes[name] = ["***", "***"] if name == "auth_code" else [old, new]
    moved = (round(row.home_lon, 7), round(row.home_lat, 7)) != (round(post[0], 7), round(post[1], 7))
    if moved:
        changes["post"] = [[row.home_lon, row.home_lat], [post[0], post[1]]]
    if not changes:
        return {}
    for name in fields:
        if name in changes:
            setattr(row, name, fields[name])
    if moved:
        row.home_lon, row.home_lat = post
        if row.position_source == "post":
            row.lon, row.lat, row.position_at = post[0], post[1], now
    session.flush()
    eventlog.append(session, at=now, seat=seat, operator=operator, kind=ev.UNIT_UPDATED, unit_id=row.id,
                    payload={"callsign": row.callsign, "station": row.station, "post_lon": row.home_lon,
                             "post_lat": row.home_lat, "changes": changes})
    return changes
