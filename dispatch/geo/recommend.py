"""Which units to send: ranked by road travel time, with the rules of who may go.

Rules, in the order they are checked for each unit:
  1-2. the one duty rule (dispatch.domain.duty.off_duty_reason): status OFF_DUTY is
     不在线; outside its duty windows in local time (a 联防中队 on 19:00-01:00 is not
     there at noon) a unit not committed to an incident is 不在岗.
  3. fitness for the category: with no category only police units; 群防群治 forces never
     alone to a category with danger; otherwise the unit kind's capabilities must hold
     the category's `needs`.
  4. a committed unit (dispatched ... on scene) is searched too and listed as busy when
     it would arrive before the worst ranked unit; otherwise excluded (已派往警情 N).
  5. a position older than `stale_after_s` (or none) is replaced by the unit's home post
     and flagged stale.
The ranked units are the `limit` available, on-duty, fit units with the shortest ETA
along the roads (see dispatch.geo.routing), snap legs included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

import numpy as np

from dispatch.domain.duty import off_duty_reason
from dispatch.domain.incidents import Category
from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.coords import haversine_m
from dispatch.geo.routing import MODE_ORDER, SnapCache, Targets, search_units, snap_cache, workspace

CAPABILITY_LABELS = {"enforce": "执法", "search": "搜寻", "mediate": "调解",
                     "watch_scene": "看护现场", "rescue": "救援", "traffic": "交通事故处置"}
MODE_LABELS = {Travel.CAR: "驾车", Travel.EBIKE: "电动车", Travel.FOOT: "步行"}


@dataclass(slots=True)
class Ranked:
    """One unit with its ETA and why it stands where it does."""

    unit_id: int
    callsign: str
    kind: UnitKind
    eta_s: float
    route_m: float
    snap_m: float
    stale: bool
    busy: bool
    support_only: bool
    reasons: list[str]
    mode: Travel = Travel.CAR
    straight_m: float = 0.0
    incident_id: int | None = None
    from_lonlat: tuple[float, float] = (0.0, 0.0)
    route: list[tuple[float, float]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"id": self.unit_id, "callsign": self.callsign, "kind": self.kind.value,
                "kind_label": self.kind.label, "mode": self.mode.value,
                "eta_s": round(self.eta_s, 1), "route_m": round(self.route_m, 1),
                "snap_m": round(self.snap_m, 1), "straight_m": round(self.straight_m, 1),
                "stale": self.stale, "busy": self.busy, "support_only": self.support_only,
                "incident_id": self.incident_id, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Excluded:
    unit_id: int
    callsign: str
    reason: str

    def as_json(self) -> dict:
        return {"id": self.unit_id, "callsign": self.callsign, "reason": self.reason}


@dataclass(slots=True)
class Recommendation:
    ranked: list[Ranked]
    busy: list[Ranked]
    excluded: list[Excluded]
    at: tuple[float, float]
    category: Category | None = None

    def as_json(self) -> dict:
        return {"at": list(self.at), "category": self.category.code if self.category else None,
                "ranked": [r.as_json() for r in self.ranked],
                "busy": [r.as_json() for r in self.busy],
                "excluded": [e.as_json() for e in self.excluded]}


def format_eta(seconds: float) -> str:
    """'3 分 10 秒' / '45 秒' / '1 小时 2 分'."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60} 秒"
    return f"{s // 3600} 小时 {(s % 3600) // 60} 分"


def format_distance(meters: float) -> str:
    return f"{meters:.0f} 米" if meters < 1000 else f"{meters / 1000:.1f} 公里"


def fitness(kind: UnitKind, cat: Category | None) -> str | None:
    """None if a unit of this kind may handle the category alone, else the reason."""
    if cat is None:
        return None if kind.is_police else "未选警情类别，仅推荐警力"
    if cat.danger and not kind.is_police:
        return "群防力量不单独处置有危险的警情"
    if cat.needs not in kind.capabilities:
        return f"不具备{CAPABILITY_LABELS.get(cat.needs, cat.needs)}能力"
    return None


@dataclass(slots=True)
class _Picked:
    """The units that passed the rules of one travel mode, with the point used."""

    units: list[UnitSnapshot]
    lon: np.ndarray
    lat: np.ndarray
    stale: np.ndarray
    now: datetime


def recommend(graph, units: Sequence[UnitSnapshot], at: tuple[float, float],
              category: Category | None, now: datetime, limit: int = 5,
              stale_after_s: float = 300, tz: str = "Asia/Shanghai",
              snaps: SnapCache | None = None) -> Recommendation:
    """Rank the units for an incident at `at` (lon, lat); see the module docstring.

    `now` is an aware UTC datetime (the injected clock); duty windows are read in `tz`.
    `snaps` keeps each unit's road node between calls (default: the graph's own cache).
    """
    fit = {k: fitness(k, category) for k in UnitKind}
    code_of_kind = {k: MODE_ORDER.index(k.travel) for k in UnitKind}
    # the duty rule reads a unit's status and duty windows only: one call per distinct pair
    duty_memo: dict[tuple, str | None] = {}
    excluded: list[Excluded] = []
    sel: list[UnitSnapshot] = []
    for u in units:
        key = (u.status, u.duty)
        off = duty_memo[key] if key in duty_memo else duty_memo.setdefault(key, off_duty_reason(u, now, tz))
        if off is not None:
            excluded.append(Excluded(u.id, u.callsign, off))
        elif (unfit := fit[u.kind]) is not None:
            excluded.append(Excluded(u.id, u.callsign, unfit))
        else:
            sel.append(u)
    n = len(sel)
    cutoff = now - timedelta(seconds=stale_after_s)
    lon = np.array([u.lon for u in sel], np.float64).reshape(n)
    lat = np.array([u.lat for u in sel], np.float64).reshape(n)
    fresh = np.fromiter((u.position_at is not None and u.position_at >= cutoff for u in sel), np.bool_, n)
    stale = np.logical_not(fresh) | np.isnan(lon) | np.isnan(lat)
    lon = np.where(stale, np.array([u.home_lon for u in sel], np.float64).reshape(n), lon)
    lat = np.where(stale, np.array([u.home_lat for u in sel], np.float64).reshape(n), lat)
    nowhere = np.isnan(lon) | np.isnan(lat)
    ids = np.array([u.id for u in sel], np.int64).reshape(n)
    mode_code = np.array([code_of_kind[u.kind] for u in sel], np.int64).reshape(n)
    available = np.array([u.status is UnitStatus.AVAILABLE for u in sel], bool).reshape(n)
    ok = np.flatnonzero(~nowhere)
    snap_node = np.zeros(n, np.int64)
    snap_dist = np.zeros(n)
    snap_node[ok], snap_dist[ok] = (snaps if snaps is not None else snap_cache(graph)).snap(
        graph, ids[ok], mode_code[ok], lon[ok], lat[ok])
    here = [c for c in range(len(MODE_ORDER)) if (mode_code == c).any()]
    at_nodes, at_dist = graph.snap_modes(np.array(here, np.int64), np.full(len(here), float(at[0])),
                                         np.full(len(here), float(at[1])))
    at_snaps = {MODE_ORDER[c]: (int(at_nodes[k]), float(at_dist[k])) for k, c in enumerate(here)}
    picked: dict[Travel, _Picked] = {}
    targets: dict[Travel, Targets] = {}
    for code, mode in enumerate(MODE_ORDER):
        ix = np.flatnonzero((mode_code == code) & ~nowhere)
        if not len(ix):
            continue
        picked[mode] = _Picked([sel[i] for i in ix], lon[ix], lat[ix], stale[ix], now)
        targets[mode] = Targets(snap_node[ix], snap_dist[ix] / graph.modes[mode].approach_mps,
                                available[ix], snap_dist[ix])
    for i in np.flatnonzero(nowhere):
        excluded.append(Excluded(sel[i].id, sel[i].callsign, "不在线（无位置）"))
    with graph.lock:
        return _rank(graph, picked, targets, search_units(graph, at, targets, limit, at_snaps),
                     excluded, at, category, limit)


def _rank(graph, picked: dict[Travel, _Picked], targets: dict[Travel, Targets], result,
          excluded: list[Excluded], at, category, limit: int) -> Recommendation:
    """Best available first, then committed units arriving before the worst of them."""
    avail: list[tuple[float, Travel, int]] = []
    busy: list[tuple[float, Travel, int]] = []
    for mode, reach in result.reach.items():
        eta, t = reach.eta_s, targets[mode]
        for i in np.flatnonzero(np.isfinite(eta)):
            (avail if t.counts[i] else busy).append((float(eta[i]), mode, int(i)))
    avail.sort(key=lambda e: e[0])
    top = avail[:limit]
    worst = top[-1][0] if len(top) >= limit else math.inf
    busy = sorted((b for b in busy if b[0] < worst), key=lambda e: e[0])
    shown = {(m, i) for _e, m, i in busy}
    for mode, p in picked.items():
        for i in np.flatnonzero(~targets[mode].counts):
            if (mode, int(i)) not in shown:
                u = p.units[i]
                excluded.append(Excluded(u.id, u.callsign, _committed_text(u)))

    def build(entry, rank: int, is_busy: bool) -> Ranked:
        eta_s, mode, i = entry
        p, reach = picked[mode], result.reach[mode]
        u, lon, lat = p.units[i], float(p.lon[i]), float(p.lat[i])
        path = workspace(graph, mode).path(int(targets[mode].nodes[i]), reach.at_node)
        snap_m = float(targets[mode].snap_m[i])
        route_m = graph.path_meters(path) + snap_m + reach.at_snap_m
        straight = haversine_m(lon, lat, at[0], at[1])
        reasons = [f"{MODE_LABELS[mode]}路程 {format_distance(route_m)}，预计 {format_eta(eta_s)}",
                   f"直线距离 {format_distance(straight)}"]
        if is_busy:
            reasons.insert(0, _committed_text(u) + "，但比推荐末位更近")
        else:
            reasons.insert(0, "最快到达" if rank == 0 else f"第 {rank + 1} 快到达")
        if p.stale[i]:
            reasons.append("无位置上报，按驻点计算" if u.position_at is None else
                           f"位置已过期 {int((p.now - u.position_at).total_seconds() // 60)} 分钟，按驻点计算")
        if snap_m > 50:
            reasons.append(f"距最近道路 {snap_m:.0f} 米")
        coords = [(lon, lat)] + [(float(graph.lon[n]), float(graph.lat[n])) for n in path]
        coords.append((float(at[0]), float(at[1])))
        return Ranked(u.id, u.callsign, u.kind, eta_s, route_m, snap_m, bool(p.stale[i]),
                      is_busy, False, reasons, mode, straight, u.incident_id, (lon, lat), coords)

    return Recommendation([build(e, k, False) for k, e in enumerate(top)],
                          [build(e, k, True) for k, e in enumerate(busy)],
                          excluded, (float(at[0]), float(at[1])), category)


def _committed_text(u: UnitSnapshot) -> str:
    if u.incident_id is not None:
        return f"已派往警情 {u.incident_id}（{u.status.label}）"
    return f"执行任务中（{u.status.label}）"
