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
  5. a position older than its unit kind's limit (domain.units.STALE_AFTER_S, or one `stale_after_s`
     for every kind), or none, is replaced by the unit's home post
     and flagged stale.
The ranked units are the `limit` available, on-duty, fit units with the shortest ETA
along the roads (see dispatch.geo.routing), snap legs included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

import numpy as np

from dispatch.domain.duty import off_duty_reason
from dispatch.domain.incidents import Category
from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.domain.units import stale_after_s as limit_s
from dispatch.geo.coords import haversine_m
from dispatch.geo.routing import MODE_ORDER, SnapCache, Targets, search_units, snap_cache

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
    hierarchy: tuple[Travel, ...] = ()  # travel modes answered on the contraction hierarchy

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


class UnitColumns:
    """The units as columns: what the recommendation reads of each, in one list per
    field (no object per unit). `position_at` holds aware datetimes or None, or, with
    `naive_utc`, naive ones meaning UTC (as SQLite returns them: not converted one by one
    on every F5). Made from snapshots (`of`), a column is read from them when first used."""

    FIELDS = {"ids": "id", "callsigns": "callsign", "kinds": "kind", "statuses": "status", "lon": "lon",
              "lat": "lat", "position_at": "position_at", "home_lon": "home_lon", "home_lat": "home_lat",
              "duty": "duty", "incident_id": "incident_id"}
    ids: list[int]
    callsigns: list[str]
    kinds: list[UnitKind]
    statuses: list[UnitStatus]
    lon: list[float]
    lat: list[float]
    position_at: list
    home_lon: list[float]
    home_lat: list[float]
    duty: list[tuple]
    incident_id: list[int | None]

    def __init__(self, ids: list[int], callsigns: list[str], kinds: list[UnitKind], statuses: list[UnitStatus],
                 lon: list[float], lat: list[float], position_at: list, home_lon: list[float],
                 home_lat: list[float], duty: list[tuple], incident_id: list[int | None],
                 naive_utc: bool = False) -> None:
        self._units: Sequence[UnitSnapshot] = ()
        self.naive_utc = naive_utc
        self.ids, self.callsigns, self.kinds, self.statuses = ids, callsigns, kinds, statuses
        self.lon, self.lat, self.position_at = lon, lat, position_at
        self.home_lon, self.home_lat, self.duty, self.incident_id = home_lon, home_lat, duty, incident_id

    @classmethod
    def of(cls, units: Sequence[UnitSnapshot]) -> "UnitColumns":
        cols = cls.__new__(cls)
        cols._units = units
        cols.naive_utc = False
        return cols

    def __getattr__(self, name: str):
        attr = UnitColumns.FIELDS.get(name)
        if attr is None:
            raise AttributeError(name)
        column = list(map(attrgetter(attr), self._units))
        setattr(self, name, column)
        return column

    def __len__(self) -> int:
        return len(self._units) if "ids" not in self.__dict__ else len(self.ids)

    def take(self, name: str, rows: list[int]) -> list:
        """Column `name` at `rows` only (from snapshots: read off those units alone)."""
        column = self.__dict__.get(name)
        if column is not None:
            return list(map(column.__getitem__, rows))
        return list(map(attrgetter(UnitColumns.FIELDS[name]), map(self._units.__getitem__, rows)))

    def snapshot(self, i: int) -> UnitSnapshot:
        """Unit i as a snapshot (for the few units a recommendation names)."""
        if self._units:
            return self._units[i]
        seen = self.position_at[i]
        if self.naive_utc and seen is not None:
            seen = seen.replace(tzinfo=timezone.utc)
        return UnitSnapshot(self.ids[i], self.callsigns[i], self.kinds[i], self.statuses[i], self.lon[i],
                            self.lat[i], seen, self.home_lon[i], self.home_lat[i],
                            duty=self.duty[i], incident_id=self.incident_id[i])


def _identity_codes(values: list, members: Iterable = ()) -> tuple[np.ndarray, int]:
    """Each value's code by the object's identity (equal codes: the same object), and
    how many codes: the index of `members` (an Enum's singletons: one comparison per
    member over the column), else of the distinct objects."""
    ident = np.fromiter(map(id, values), np.int64, len(values))
    members = list(members)
    if members:
        code = np.full(len(values), -1, np.int64)
        for k, m in enumerate(members):
            code[ident == id(m)] = k
        if (code >= 0).all():
            return code, len(members)
    _u, code = np.unique(ident, return_inverse=True)
    return code.reshape(len(values)), max(len(_u), 1)


@dataclass(slots=True)
class _Rules:
    """The rules 1-3 and the staleness limit read a unit's status, duty windows and kind
    only: one verdict per distinct triple (a slot). `slot` gives each unit's; per slot:
    why excluded (None: fit), fit, travel mode code, available, the cutoff of a fresh
    fix (a datetime)."""

    slot: np.ndarray
    why: list[str | None]
    ok: np.ndarray
    mode: np.ndarray
    available: np.ndarray
    cutoff: np.ndarray

    @classmethod
    def of(cls, cols: UnitColumns, now: datetime, tz: str, category: Category | None,
           stale_after_s: float | None) -> "_Rules":
        # grouped by the objects' identities with numpy (an Enum's hash is a Python
        # call; its members are singletons; duty tuples are shared per text in the
        # columns F5 reads), then one verdict by value per distinct object triple
        total = len(cols)
        statuses, duty, kinds = cols.statuses, cols.duty, cols.kinds
        status_ix, n_status = _identity_codes(statuses, UnitStatus)
        kind_ix, n_kind = _identity_codes(kinds, UnitKind)
        duty_ix, n_duty = _identity_codes(duty)
        triple = (status_ix * n_kind + kind_ix) * n_duty + duty_ix
        _u, first, slot = np.unique(triple, return_index=True, return_inverse=True)
        verdicts: dict[tuple, str | None] = {}
        why: list[str | None] = []
        for i in first.tolist():
            key = (statuses[i], duty[i], kinds[i])
            if key not in verdicts:
                probe = UnitSnapshot(0, "", kinds[i], statuses[i], 0.0, 0.0, None, 0.0, 0.0, duty=duty[i])
                verdicts[key] = off_duty_reason(probe, now, tz) or fitness(kinds[i], category)
            why.append(verdicts[key])
        cutoff = np.empty(len(first), object)
        cutoff[:] = [now - timedelta(seconds=limit_s(kinds[i], stale_after_s)) for i in first.tolist()]
        return cls(slot.reshape(total), why, np.array([w is None for w in why], bool),
                   np.array([MODE_ORDER.index(kinds[i].travel) for i in first.tolist()], np.int64),
                   np.array([statuses[i] is UnitStatus.AVAILABLE for i in first.tolist()], bool), cutoff)


def _floats(values: list) -> np.ndarray:
    """A list of floats (None: nan) as an array."""
    try:
        return np.fromiter(values, np.float64, len(values))  # no dtype discovery over the list
    except TypeError:  # a None
        return np.array(values, np.float64).reshape(len(values))


def recommend(graph, units: Sequence[UnitSnapshot] | UnitColumns, at: tuple[float, float],
              category: Category | None, now: datetime, limit: int = 5,
              stale_after_s: float | None = None, tz: str = "Asia/Shanghai",
              snaps: SnapCache | None = None) -> Recommendation:
    """Rank the units for an incident at `at` (lon, lat); see the module docstring.

    `now` is an aware UTC datetime (the injected clock); duty windows are read in `tz`.
    `snaps` keeps each unit's road node between calls (default: the graph's own cache).
    The units may come as snapshots or as columns (UnitColumns: no object per unit).
    """
    cols = units if isinstance(units, UnitColumns) else UnitColumns.of(units)
    total = len(cols)
    rules = _Rules.of(cols, now, tz, category, stale_after_s)
    slot = rules.slot
    ok_row = rules.ok[slot]
    out = np.flatnonzero(~ok_row).tolist()
    excluded = list(map(Excluded, cols.take("ids", out), cols.take("callsigns", out),
                        [rules.why[k] or "" for k in slot[out].tolist()]))
    sel = np.flatnonzero(ok_row)
    n = len(sel)
    # rule 5: a fix at or after its kind's cutoff is fresh (datetimes compared by numpy
    # over object arrays: the same comparisons, no Python loop)
    seen = np.fromiter(cols.position_at, object, total)[sel]
    known = seen != None  # noqa: E711  (elementwise: the units with a fix)
    fresh = np.zeros(n, bool)
    cutoff = rules.cutoff
    if cols.naive_utc:  # one naive cutoff per rule slot, not one aware fix per unit
        cutoff = np.array([c.astimezone(timezone.utc).replace(tzinfo=None) for c in cutoff.tolist()], object)
    fresh[known] = seen[known] >= cutoff[slot[sel[known]]]
    lon = _floats(cols.lon)[sel]
    lat = _floats(cols.lat)[sel]
    stale = np.logical_not(fresh) | np.isnan(lon) | np.isnan(lat)
    if stale.any():  # the home post (read for those units only)
        home = sel[stale].tolist()
        lon[stale] = _floats(cols.take("home_lon", home))
        lat[stale] = _floats(cols.take("home_lat", home))
    nowhere = np.isnan(lon) | np.isnan(lat)
    ids = np.fromiter(cols.ids, np.int64, total)[sel]
    mode_code = rules.mode[slot[sel]]
    available = rules.available[slot[sel]]
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
        picked[mode] = _Picked(sel[ix], lon[ix], lat[ix], stale[ix])
        targets[mode] = Targets(snap_node[ix], snap_dist[ix] / graph.modes[mode].approach_mps,
                                available[ix], snap_dist[ix])
    lost = sel[nowhere].tolist()
    excluded += map(Excluded, cols.take("ids", lost), cols.take("callsigns", lost), ["不在线（无位置）"] * len(lost))
    with graph.lock:
        return _rank(graph, cols, picked, targets, search_units(graph, at, targets, limit, at_snaps),
                     excluded, at, category, limit, now)


@dataclass(slots=True)
class _Picked:
    """The units that passed the rules of one travel mode (their rows in the columns),
    with the point used."""

    rows: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    stale: np.ndarray


def _rank(graph, cols: UnitColumns, picked: dict[Travel, _Picked], targets: dict[Travel, Targets], result,
          excluded: list[Excluded], at, category, limit: int, now: datetime) -> Recommendation:
    """Best available first, then committed units arriving before the worst of them
    (ties in the order of the modes, then of the units)."""
    modes = list(result.reach)
    eta = np.concatenate([result.reach[m].eta_s for m in modes]) if modes else np.zeros(0)
    mode_ix = np.concatenate([np.full(len(result.reach[m].eta_s), k) for k, m in enumerate(modes)]) \
        if modes else np.zeros(0, np.int64)
    unit_ix = np.concatenate([np.arange(len(result.reach[m].eta_s)) for m in modes]) \
        if modes else np.zeros(0, np.int64)
    counts = np.concatenate([targets[m].counts for m in modes]) if modes else np.zeros(0, bool)
    finite = np.isfinite(eta)
    avail = np.flatnonzero(finite & counts)
    top = avail[np.argsort(eta[avail], kind="stable")[:limit]]
    worst = float(eta[top[-1]]) if len(top) >= limit else math.inf
    busy = np.flatnonzero(finite & ~counts & (eta < worst))
    busy = busy[np.argsort(eta[busy], kind="stable")]
    texts: dict[tuple, str] = {}
    for mode, p in picked.items():
        idle = ~targets[mode].counts
        if mode in result.reach:  # the busy units shown are not excluded
            idle[unit_ix[busy[mode_ix[busy] == modes.index(mode)]]] = False
        rows = p.rows[idle].tolist()
        incident, status = cols.take("incident_id", rows), cols.take("statuses", rows)
        keys = list(zip(incident, map(id, status)))  # an Enum's hash is a Python call: by identity
        for key, (incident_id, st) in dict(zip(keys, zip(incident, status))).items():
            if key not in texts:
                texts[key] = _committed_text(incident_id, st)
        excluded += map(Excluded, cols.take("ids", rows), cols.take("callsigns", rows), map(texts.__getitem__, keys))

    def build(b: int, rank: int, is_busy: bool) -> Ranked:
        mode, i = modes[mode_ix[b]], int(unit_ix[b])
        eta_s = float(eta[b])
        p, reach = picked[mode], result.reach[mode]
        r = int(p.rows[i])
        u = cols.snapshot(r)
        lon, lat = float(p.lon[i]), float(p.lat[i])
        path = np.asarray(reach.route(i), np.int64)  # one array for the metres and the coordinates
        snap_m = float(targets[mode].snap_m[i])
        route_m = graph.path_meters(path) + snap_m + reach.at_snap_m
        straight = haversine_m(lon, lat, at[0], at[1])
        reasons = [f"{MODE_LABELS[mode]}路程 {format_distance(route_m)}，预计 {format_eta(eta_s)}",
                   f"直线距离 {format_distance(straight)}"]
        if is_busy:
            reasons.insert(0, _committed_text(u.incident_id, u.status) + "，但比推荐末位更近")
        else:
            reasons.insert(0, "最快到达" if rank == 0 else f"第 {rank + 1} 快到达")
        if p.stale[i]:
            seen = u.position_at
            reasons.append(f"位置已过期 {int((now - seen).total_seconds() // 60)} 分钟，按驻点计算"
                           if isinstance(seen, datetime) else "无位置上报，按驻点计算")
        if snap_m > 50:
            reasons.append(f"距最近道路 {snap_m:.0f} 米")
        coords = [(lon, lat)]
        coords += zip(graph.lon[path].tolist(), graph.lat[path].tolist())
        coords.append((float(at[0]), float(at[1])))
        return Ranked(u.id, u.callsign, u.kind, eta_s, route_m, snap_m, bool(p.stale[i]),
                      is_busy, False, reasons, mode, straight, u.incident_id, (lon, lat), coords)

    return Recommendation([build(b, k, False) for k, b in enumerate(top.tolist())],
                          [build(b, k, True) for k, b in enumerate(busy.tolist())],
                          excluded, (float(at[0]), float(at[1])), category, result.hierarchy)


def _committed_text(incident_id: int | None, status: UnitStatus) -> str:
    if incident_id is not None:
        return f"已派往警情 {incident_id}（{status.label}）"
    return f"执行任务中（{status.label}）"
