"""A centre's own geography: its 网格 from GeoJSON, its posts and roster from CSV
(formats: dispatch.importers.grids_geojson and dispatch.importers.roster).

Each import has a preview — every row with what it would do (新增 / 更新 / 不变 / 删除),
the errors by line and the warnings — that writes nothing, and an apply that checks the
same again inside its one transaction and refuses the whole file (one DispatchError
listing the bad lines) if any row is bad. Grids are replaced as a whole (incidents keep
the grid ids they were recorded with); posts and units are added or updated by name
and callsign (units not in the roster are left as they are). New units are created by
unit.created events, changed ones get a unit.updated event (their status untouched);
loading posts or grids appends stations.imported / grids.imported. A 管理员's action."""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitKind
from dispatch.geo.coords import haversine_m
from dispatch.geo.grids import polygons_of
from dispatch.importers.grids_geojson import GridSpec, Issue, read_grids
from dispatch.importers.roster import (StationSpec, UnitSpec, add_unit, read_roster, read_stations, refuse,
                                       update_unit)
from dispatch.services.context import Context, append_event, ensure_writable, instant, require
from dispatch.settings import RESOURCES
from dispatch.store.schema import GridRow, IncidentRow, MetaRow, StationRow, UnitRow

ADD, UPDATE, SAME, REMOVE = "新增", "更新", "不变", "删除"
MAX_IDS_IN_EVENT = 200
FIELD_LABELS = {"kind": "类型", "station": "驻点", "duty": "值班时段", "leader": "负责人", "phone": "电话",
                "members": "人数", "terminal": "终端号", "auth_code": "鉴权码", "post": "驻点位置",
                "name": "名称", "polygon": "边界", "leader_phone": "网格长电话", "officer": "警格民警"}
WHAT_LABELS = {"grids": "网格", "stations": "驻点", "roster": "警力名册"}


@dataclass(frozen=True)
class PreviewRow:
    line: int  # 0: not in the file (a grid the replace removes)
    key: str  # grid id, post name or callsign
    name: str
    action: str  # 新增 / 更新 / 不变 / 删除
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "name": self.name, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class Preview:
    """What an import would do (or did): the file's rows, its errors and warnings."""

    what: str  # grids / stations / roster
    file: str
    rows: tuple[PreviewRow, ...]
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        c = Counter(r.action for r in self.rows)
        return {a: c[a] for a in (ADD, UPDATE, SAME, REMOVE) if c[a]}

    def summary(self) -> str:
        """One line in Chinese: 网格：新增 3、更新 1、不变 5、删除 2；错误 0、警告 1."""
        parts = "、".join(f"{a} {n}" for a, n in self.counts().items()) or "无变化"
        return f"{WHAT_LABELS[self.what]}：{parts}；错误 {len(self.errors)}、警告 {len(self.warnings)}"

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "file": self.file, "applied": self.applied, "counts": self.counts(),
                "rows": [r.as_json() for r in self.rows],
                "errors": [{"line": e.line, "text": e.text} for e in self.errors],
                "warnings": [{"line": w.line, "text": w.text} for w in self.warnings], "notes": list(self.notes)}


@dataclass
class _Plan:
    preview: Preview
    grids: list[GridSpec] = field(default_factory=list)
    stations: list[StationSpec] = field(default_factory=list)
    units: list[UnitSpec] = field(default_factory=list)


def _labels(changed: list[str]) -> str:
    return "、".join(FIELD_LABELS.get(c, c) for c in changed)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ grids

def _grid_plan(s: Session, path: Path) -> _Plan:
    callsigns = {c: i for i, c in s.execute(select(UnitRow.id, UnitRow.callsign))}
    names = {i: c for c, i in callsigns.items()}
    gf = read_grids(path, set(callsigns))
    current = {g.id: g for g in s.scalars(select(GridRow))}
    rows = []
    for spec in gf.grids:
        old = current.get(spec.id)
        if old is None:
            rows.append(PreviewRow(spec.line, spec.id, spec.name, ADD, f"{len(polygons_of(spec.polygon))} 个多边形"))
            continue
        changed = [k for k, a, b in (
            ("name", old.name, spec.name), ("polygon", polygons_of(old.polygon), polygons_of(spec.polygon)),
            ("leader", old.leader, spec.leader), ("leader_phone", old.leader_phone, spec.leader_phone),
            ("members", old.members or [], spec.members),
            ("officer", names.get(old.police_unit_id or -1, ""), spec.officer)) if a != b]
        rows.append(PreviewRow(spec.line, spec.id, spec.name, UPDATE if changed else SAME, _labels(changed)))
    in_file = {g.id for g in gf.grids}
    removed = sorted(set(current) - in_file) if not gf.errors else []
    if removed:
        used = dict(s.execute(select(IncidentRow.grid_id, func.count()).where(IncidentRow.grid_id.in_(removed))
                              .group_by(IncidentRow.grid_id)).all())
        for gid in removed:
            n = used.get(gid, 0)
            rows.append(PreviewRow(0, gid, current[gid].name, REMOVE,
                                   f"{n} 起警情仍记为此网格编号" if n else "不在新文件中"))
    notes = (f"坐标系 {gf.crs}" + ("（已转换为 WGS-84）" if gf.crs != "WGS-84" else ""),
             "整体替换：导入后网格即为文件中的网格")
    return _Plan(Preview("grids", path.name, tuple(rows), tuple(gf.errors), tuple(gf.warnings), notes), grids=gf.grids)


def preview_grids(ctx: Context, path: str | Path) -> Preview:
    """What importing this GeoJSON would do; writes nothing."""
    with ctx.store.reader() as s:
        return _grid_plan(s, Path(path)).preview


def apply_grids(ctx: Context, path: str | Path) -> Preview:
    """Replace the centre's grids with the file's, in one transaction, or refuse it whole."""
    ensure_writable(ctx)
    require(ctx, "data.import")
    path = Path(path)
    with ctx.store.transaction(appends=True) as s:
        plan = _grid_plan(s, path)
        refuse(list(plan.preview.errors), "网格文件")
        units = {c: i for i, c in s.execute(select(UnitRow.id, UnitRow.callsign))}
        s.execute(delete(GridRow))
        for g in plan.grids:
            s.add(GridRow(id=g.id, name=g.name, polygon=g.polygon, leader=g.leader, leader_phone=g.leader_phone,
                          members=g.members, police_unit_id=units.get(g.officer) if g.officer else None))
        by = {a: [r.key for r in plan.preview.rows if r.action == a][:MAX_IDS_IN_EVENT] for a in (ADD, UPDATE, REMOVE)}
        append_event(ctx, s, ev.GRIDS_IMPORTED, payload={
            "file": path.name, "sha256": _digest(path), "grids": len(plan.grids), "added": by[ADD],
            "changed": by[UPDATE], "removed": by[REMOVE], "warnings": len(plan.preview.warnings)})
    return _applied(plan.preview)


def _applied(p: Preview) -> Preview:
    return Preview(p.what, p.file, p.rows, p.errors, p.warnings, p.notes, applied=True)


# ------------------------------------------------------------------ stations

def _osm_lookup(s: Session) -> Callable[[int], tuple[float, float] | None]:
    """node id -> (lon, lat) from the database's road data, read at the first question."""
    cache: dict[str, Any] = {}

    def lookup(node: int) -> tuple[float, float] | None:
        if "nodes" not in cache:
            from dispatch.geo.osm import read_osm
            row = s.get(MetaRow, "roads_osm")
            value = row.value if row else ""
            osm_path = RESOURCES / value.split(":", 1)[1] if value.startswith("resources:") else Path(value)
            cache["nodes"] = read_osm(osm_path).nodes if value and osm_path.is_file() else {}
        found: tuple[float, float] | None = cache["nodes"].get(node)
        return found
    return lookup


def _station_plan(s: Session, path: Path) -> _Plan:
    specs, errors = read_stations(path, _osm_lookup(s))
    current = {st.name: st for st in s.scalars(select(StationRow))}
    at_post = Counter(s.scalars(select(UnitRow.station)))
    rows = []
    for st in specs:
        old = current.get(st.name)
        if old is None:
            rows.append(PreviewRow(st.line, st.name, st.name, ADD, f"{st.kind} {st.lon:.6f},{st.lat:.6f}"))
            continue
        changed, bits = [], []
        if old.kind != st.kind:
            changed.append("kind")
            bits.append(f"类型 {old.kind}→{st.kind}")
        moved = haversine_m(old.lon, old.lat, st.lon, st.lat)
        if moved >= 0.5:
            bits.append(f"位置移动 {moved:.0f} 米" + (f"，其下 {at_post[st.name]} 个警力随之移动"
                                                   if at_post[st.name] else ""))
        rows.append(PreviewRow(st.line, st.name, st.name, UPDATE if bits else SAME, "；".join(bits)))
    notes = (f"文件外的 {len(set(current) - {st.name for st in specs})} 个驻点保持不变",)
    return _Plan(Preview("stations", path.name, tuple(rows), tuple(errors), (), notes), stations=specs)


def preview_stations(ctx: Context, path: str | Path) -> Preview:
    with ctx.store.reader() as s:
        return _station_plan(s, Path(path)).preview


def apply_stations(ctx: Context, path: str | Path) -> Preview:
    """Add the file's posts and update those already known by name (kind, place; the units
    of a moved post move with it, each with a unit.updated event), or refuse the file whole."""
    ensure_writable(ctx)
    require(ctx, "data.import")
    path = Path(path)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        plan = _station_plan(s, path)
        refuse(list(plan.preview.errors), "驻点文件")
        current = {st.name: st for st in s.scalars(select(StationRow))}
        for st in plan.stations:
            row = current.get(st.name)
            if row is None:
                s.add(StationRow(name=st.name, kind=st.kind, lon=st.lon, lat=st.lat, source=st.source))
                continue
            moved = haversine_m(row.lon, row.lat, st.lon, st.lat) >= 0.5
            row.kind, row.source = st.kind, st.source
            if moved:
                row.lon, row.lat = st.lon, st.lat
                for unit in s.scalars(select(UnitRow).where(UnitRow.station == st.name).order_by(UnitRow.id)):
                    update_unit(s, now, unit, {}, (st.lon, st.lat), seat=ctx.actor.seat,
                                operator=ctx.actor.operator)
        s.flush()
        append_event(ctx, s, ev.STATIONS_IMPORTED, at=now, payload={
            "file": path.name, "sha256": _digest(path), "stations": len(plan.stations),
            "added": [r.key for r in plan.preview.rows if r.action == ADD][:MAX_IDS_IN_EVENT],
            "changed": [r.key for r in plan.preview.rows if r.action == UPDATE][:MAX_IDS_IN_EVENT]})
    return _applied(plan.preview)


# ------------------------------------------------------------------ roster

def _unit_diff(row: UnitRow, u: UnitSpec, post: tuple[float, float]) -> list[str]:
    changed = [k for k, v in u.fields().items() if (list(row.duty or []) if k == "duty" else getattr(row, k)) != v]
    if (round(row.home_lon, 7), round(row.home_lat, 7)) != (round(post[0], 7), round(post[1], 7)):
        changed.append("post")
    return changed


def _roster_plan(s: Session, path: Path) -> _Plan:
    posts = {st.name: (st.lon, st.lat) for st in s.scalars(select(StationRow))}
    specs, errors = read_roster(path, set(posts))
    current = {u.callsign: u for u in s.scalars(select(UnitRow))}
    in_file = {u.callsign for u in specs}
    others = {u.terminal.lstrip("0"): u.callsign for u in current.values() if u.terminal and u.callsign not in in_file}
    rows, good = [], []
    for u in specs:
        holder = others.get(u.terminal.lstrip("0")) if u.terminal else None
        if holder is not None:
            errors.append(Issue(u.line, f"{u.callsign} 的终端号 {u.terminal} 已属于名册外的警力 {holder}"))
            continue
        good.append(u)
        old = current.get(u.callsign)
        if old is None:
            duty = "、".join(u.duty) or "全天"
            rows.append(PreviewRow(u.line, u.callsign, UnitKind(u.kind).label, ADD, f"{u.station}，{duty}"))
            continue
        changed = _unit_diff(old, u, posts[u.station])
        bits = [f"驻点 {old.station}→{u.station}" if c == "station" else FIELD_LABELS[c] for c in changed
                if c != "post" or "station" not in changed]
        rows.append(PreviewRow(u.line, u.callsign, UnitKind(u.kind).label, UPDATE if changed else SAME,
                               "、".join(bits) + ("（状态不变）" if changed else "")))
    errors.sort(key=lambda e: e.line)
    notes = (f"名册外的 {len(set(current) - in_file)} 个警力保持不变",)
    return _Plan(Preview("roster", path.name, tuple(rows), tuple(errors), (), notes), units=good)


def preview_roster(ctx: Context, path: str | Path) -> Preview:
    with ctx.store.reader() as s:
        return _roster_plan(s, Path(path)).preview


def apply_roster(ctx: Context, path: str | Path) -> Preview:
    """Add the roster's new units (unit.created each) and update the known ones (unit.updated
    for each that changed; status untouched), or refuse the file whole."""
    ensure_writable(ctx)
    require(ctx, "data.import")
    path = Path(path)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        plan = _roster_plan(s, path)
        refuse(list(plan.preview.errors), "警力名册")
        posts = {st.name: (st.lon, st.lat) for st in s.scalars(select(StationRow))}
        current = {u.callsign: u for u in s.scalars(select(UnitRow))}
        before: dict[str, dict[str, Any]] = {}
        for u in plan.units:  # terminals passed between units: cleared first (the column is unique)
            row = current.get(u.callsign)
            if row is not None and row.terminal != u.terminal and row.terminal is not None:
                before[u.callsign] = {"terminal": row.terminal}
                row.terminal = None
        s.flush()
        for u in plan.units:
            row = current.get(u.callsign)
            if row is None:
                lon, lat = posts[u.station]
                add_unit(s, now, callsign=u.callsign, lon=lon, lat=lat, seat=ctx.actor.seat,
                         operator=ctx.actor.operator, **u.fields())
            else:
                update_unit(s, now, row, u.fields(), posts[u.station], seat=ctx.actor.seat,
                            operator=ctx.actor.operator, before=before.get(u.callsign))
    return _applied(plan.preview)


def check_file(path: str | Path) -> Path:
    """The path, if it names a readable file."""
    p = Path(path)
    if p.is_dir():
        raise DispatchError(f"应给出一个文件，{p} 是目录")
    if not p.exists():
        raise DispatchError(f"找不到文件: {p}")
    if not p.is_file():  # a device or a pipe: /dev/null reads as an empty file
        if p.samefile(os.devnull):
            raise DispatchError(f"文件是空的，没有可导入的内容: {p}")
        raise DispatchError(f"应给出一个普通文件，{p} 是设备或管道")
    if p.stat().st_size == 0:
        raise DispatchError(f"文件是空的，没有可导入的内容: {p}")
    return p
