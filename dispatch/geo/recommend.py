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

import ctypes
import math
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from itertools import chain, repeat
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from dispatch.domain.duty import off_duty_reason
from dispatch.domain.incidents import Category
from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus
from dispatch.domain.units import stale_after_s as limit_s
from dispatch.geo.coords import haversine_m, haversine_many_m
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


class Excluded(NamedTuple):
    """A unit not recommended and why (hundreds per F5 among 2,000 units: a named tuple,
    made in bulk by _excluded without a Python call per unit)."""

    unit_id: int
    callsign: str
    reason: str

    def as_json(self) -> dict:
        return {"id": self.unit_id, "callsign": self.callsign, "reason": self.reason}


def _excluded(ids: Iterable[int], callsigns: Iterable[str], reasons: Iterable[str]) -> Iterator[Excluded]:
    """Excluded(id, callsign, reason) for each triple, made by tuple.__new__ in C."""
    return map(tuple.__new__, repeat(Excluded), zip(ids, callsigns, reasons))


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
        read = _READ.get(name)
        if read is None:
            raise AttributeError(name)
        column = read(self._units)
        setattr(self, name, column)
        return column

    def __len__(self) -> int:
        return len(self._units) if "ids" not in self.__dict__ else len(self.ids)

    def take(self, name: str, rows: list[int]) -> list:
        """Column `name` at `rows` only (from snapshots: read off those units alone)."""
        column = self.__dict__.get(name)
        if column is not None:
            return list(map(column.__getitem__, rows))
        return _READ[name](list(map(self._units.__getitem__, rows)))

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


# A column read off snapshots: a comprehension with the attribute written out (its load
# specialises to the slot: about half the instructions of list(map(attrgetter(...))))
_READ: dict[str, Callable[[Sequence[UnitSnapshot]], list]] = {
    "ids": lambda us: [u.id for u in us],
    "callsigns": lambda us: [u.callsign for u in us],
    "kinds": lambda us: [u.kind for u in us],
    "statuses": lambda us: [u.status for u in us],
    "lon": lambda us: [u.lon for u in us],
    "lat": lambda us: [u.lat for u in us],
    "position_at": lambda us: [u.position_at for u in us],
    "home_lon": lambda us: [u.home_lon for u in us],
    "home_lat": lambda us: [u.home_lat for u in us],
    "duty": lambda us: [u.duty for u in us],
    "incident_id": lambda us: [u.incident_id for u in us],
}


def _addresses(values: list) -> np.ndarray:
    """id() of each value, as int64: CPython's id is the object's address, which an
    object array holds as its elements, so they are read off its buffer in one copy
    (not one id() call, a Python int and its conversion back per value)."""
    return _held_addresses(np.fromiter(values, object, len(values)))


def _held_addresses(objs: np.ndarray) -> np.ndarray:
    """id() of each element of a 1-d object array, as int64 (a copy of its pointers)."""
    if not len(objs):
        return np.zeros(0, np.int64)
    raw = (ctypes.c_ssize_t * len(objs)).from_address(objs.ctypes.data)
    return np.frombuffer(memoryview(raw), np.intp).astype(np.int64)  # a copy, made while objs holds them


def _identity_codes(values: list, members: tuple = ()) -> tuple[np.ndarray, int]:
    """Each value's code by the object's identity (equal codes: the same object), and
    how many codes: the index in `members` (an Enum's singletons, found through a table
    of their addresses), else of the distinct objects."""
    ident = _addresses(values)
    if members:
        shift, table, mid = _member_table(members)
        code = table[(ident >> shift) & (len(table) - 1)]
        if (mid[code] == ident).all():
            return code, len(members)
    if len(ident) and (ident == ident[0]).all():  # one object (no duty windows: the empty tuple)
        return np.zeros(len(ident), np.int64), 1
    _u, code = np.unique(ident, return_inverse=True)
    return code.reshape(len(values)), max(len(_u), 1)


@lru_cache(maxsize=8)
def _member_table(members: tuple) -> tuple[int, np.ndarray, np.ndarray]:
    """(shift, table, addresses) with table[(address >> shift) & (len(table) - 1)] the
    index of each member: bits of the members' addresses (singletons, alive as long as
    their Enum: the key holds them) that tell them apart. A value that is no member
    lands on some member's index, and its address differs from that member's."""
    mid = _addresses(list(members))
    for size in (16, 64, 256, 1024, 4096, 16384):
        for shift in range(3, 24):
            slot = (mid >> shift) & (size - 1)
            if len(np.unique(slot)) == len(mid):
                table = np.zeros(size, np.int64)
                table[slot] = np.arange(len(mid))
                return shift, table, mid
    raise ValueError("no address table for these members")  # pragma: no cover (the table can always grow)


def _groups(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(index of each distinct value's first occurrence, in the order of the values;
    each element's group number) of ints in [0, size): np.unique's return_index and
    return_inverse, by a table of `size` when that is small (no sort)."""
    if size > 4 * len(codes) + 1024:
        _u, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return first, inverse.reshape(len(codes))
    at = np.full(size, len(codes), np.int64)
    np.minimum.at(at, codes, np.arange(len(codes)))
    present = np.flatnonzero(at < len(codes))
    number = np.empty(size, np.int64)
    number[present] = np.arange(len(present))
    return at[present], number[codes]


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
        status_ix, n_status = _identity_codes(statuses, _STATUSES)
        kind_ix, n_kind = _identity_codes(kinds, _KINDS)
        duty_ix, n_duty = _identity_codes(duty)
        triple = (status_ix * n_kind + kind_ix) * n_duty + duty_ix
        first, slot = _groups(triple, n_status * n_kind * n_duty)
        # per slot: the duty rule once per distinct status and duty windows (by value:
        # equal windows in distinct tuples are one case), the rest once per kind
        duty_of: dict[tuple, str | None] = {}
        kind_of: dict[int, tuple[str | None, datetime, int]] = {}
        why: list[str | None] = []
        cut: list[datetime] = []
        mode: list[int] = []
        avail: list[bool] = []
        for i, s, k in zip(first.tolist(), status_ix[first].tolist(), kind_ix[first].tolist()):
            key = (s, duty[i])
            if key not in duty_of:
                probe = UnitSnapshot(0, "", kinds[i], statuses[i], 0.0, 0.0, None, 0.0, 0.0, duty=duty[i])
                duty_of[key] = off_duty_reason(probe, now, tz)
            per_kind = kind_of.get(k)
            if per_kind is None:
                kind = kinds[i]
                per_kind = kind_of[k] = (fitness(kind, category),
                                         now - timedelta(seconds=limit_s(kind, stale_after_s)),
                                         MODE_ORDER.index(kind.travel))
            why.append(duty_of[key] or per_kind[0])
            cut.append(per_kind[1])
            mode.append(per_kind[2])
            avail.append(statuses[i] is UnitStatus.AVAILABLE)
        cutoff = np.empty(len(first), object)
        cutoff[:] = cut
        return cls(slot.reshape(total), why, np.array([w is None for w in why], bool),
                   np.array(mode, np.int64), np.array(avail, bool), cutoff)


_STATUSES, _KINDS = tuple(UnitStatus), tuple(UnitKind)
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)  # an aware fix before any cutoff


@lru_cache(maxsize=32)
def _packer(code: str, n: int) -> struct.Struct:
    return struct.Struct(f"={n}{code}")


def _floats(values: list) -> np.ndarray:
    """A list of floats (None: nan) as a read-only array: packed by struct in one call
    (a third of the instructions of np.fromiter's per-item conversion)."""
    try:
        return np.frombuffer(_packer("d", len(values)).pack(*values), np.float64)
    except struct.error:  # a None
        return np.array(values, np.float64).reshape(len(values))


def _ints(values: list) -> np.ndarray:
    """A list of ints as a read-only int64 array (as _floats)."""
    try:
        return np.frombuffer(_packer("q", len(values)).pack(*values), np.int64)
    except struct.error:
        return np.fromiter(values, np.int64, len(values))


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
    excluded = list(_excluded(cols.take("ids", out), cols.take("callsigns", out),
                              [rules.why[k] or "" for k in slot[out].tolist()]))
    sel = np.flatnonzero(ok_row)
    sel_slot = slot[sel]
    n = len(sel)
    # rule 5: a fix at or after its kind's cutoff is fresh (datetimes compared by numpy
    # over object arrays: the same comparisons, no Python loop); no fix (None) reads as
    # the earliest instant, never fresh
    seen = np.fromiter(cols.position_at, object, total)
    cutoff = rules.cutoff
    if cols.naive_utc:  # one naive cutoff per rule slot, not one aware fix per unit
        cutoff = np.array([c.astimezone(timezone.utc).replace(tzinfo=None) for c in cutoff.tolist()], object)
    none = _held_addresses(seen) == id(None)  # (astype(bool) converts item by item, ~300 instructions each)
    if none.any():
        seen[none] = datetime.min if cols.naive_utc else _EARLIEST
    fresh = (seen >= cutoff[slot])[sel]
    lon = _floats(cols.lon)[sel]
    lat = _floats(cols.lat)[sel]
    stale = np.logical_not(fresh) | np.isnan(lon) | np.isnan(lat)
    if stale.any():  # the home post (read for those units only)
        home = sel[stale].tolist()
        lon[stale] = _floats(cols.take("home_lon", home))
        lat[stale] = _floats(cols.take("home_lat", home))
    nowhere = np.isnan(lon) | np.isnan(lat)
    ids = _ints(cols.ids)[sel]
    mode_code = rules.mode[sel_slot]
    available = rules.available[sel_slot]
    ok = np.flatnonzero(~nowhere)
    snap_node = np.zeros(n, np.int64)
    snap_dist = np.zeros(n)
    here = [c for c in range(len(MODE_ORDER)) if (mode_code == c).any()]
    # the units that moved and the incident (once per mode present): one snapping query
    snap_node[ok], snap_dist[ok], at_nodes, at_dist = (snaps if snaps is not None else snap_cache(graph)).snap_with(
        graph, ids[ok], mode_code[ok], lon[ok], lat[ok], np.array(here, np.int64),
        np.full(len(here), float(at[0])), np.full(len(here), float(at[1])))
    at_snaps = {MODE_ORDER[c]: (int(at_nodes[k]), float(at_dist[k])) for k, c in enumerate(here)}
    picked: dict[Travel, _Picked] = {}
    targets: dict[Travel, Targets] = {}
    for code, mode in enumerate(MODE_ORDER):
        ix = np.flatnonzero((mode_code == code) & ~nowhere)
        if not len(ix):
            continue
        picked[mode] = _Picked(sel[ix], lon[ix], lat[ix], stale[ix], sel_slot[ix])
        targets[mode] = Targets(snap_node[ix], snap_dist[ix] / graph.modes[mode].approach_mps,
                                available[ix], snap_dist[ix])
    lost = sel[nowhere].tolist()
    excluded += _excluded(cols.take("ids", lost), cols.take("callsigns", lost), ["不在线（无位置）"] * len(lost))
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
    slot: np.ndarray  # rule slot of each (its status among them)


def _committed_texts(cols: UnitColumns, rows: list[int], slot: np.ndarray) -> list[str]:
    """The reason of each committed unit in `rows` (with its rule slot, which fixes its
    status): the text made once per distinct incident and slot."""
    incident = cols.take("incident_id", rows)
    keys = list(zip(incident, slot.tolist()))
    first = dict(zip(reversed(keys), reversed(rows)))  # each key's first row
    status = cols.take("statuses", list(first.values()))
    texts = {k: _committed_text(k[0], st) for k, st in zip(first, status)}
    return list(map(texts.__getitem__, keys))


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
    for mode, p in picked.items():
        idle = ~targets[mode].counts
        if mode in result.reach:  # the busy units shown are not excluded
            idle[unit_ix[busy[mode_ix[busy] == modes.index(mode)]]] = False
        at_rows = np.flatnonzero(idle)
        if len(at_rows):
            rows = p.rows[at_rows].tolist()
            excluded += _excluded(cols.take("ids", rows), cols.take("callsigns", rows),
                                  _committed_texts(cols, rows, p.slot[at_rows]))

    shown = top.tolist() + busy.tolist()
    paths = _Paths(graph, [result.reach[modes[mode_ix[b]]].route(int(unit_ix[b])) for b in shown])

    def build(b: int, rank: int, is_busy: bool) -> Ranked:
        mode, i = modes[mode_ix[b]], int(unit_ix[b])
        eta_s = float(eta[b])
        p, reach = picked[mode], result.reach[mode]
        r = int(p.rows[i])
        u = cols.snapshot(r)
        lon, lat = float(p.lon[i]), float(p.lat[i])
        k = len(top) + rank if is_busy else rank
        snap_m = float(targets[mode].snap_m[i])
        route_m = paths.meters[k] + snap_m + reach.at_snap_m
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
        coords += paths.lonlat(k)
        coords.append((float(at[0]), float(at[1])))
        return Ranked(u.id, u.callsign, u.kind, eta_s, route_m, snap_m, bool(p.stale[i]),
                      is_busy, False, reasons, mode, straight, u.incident_id, (lon, lat), coords)

    return Recommendation([build(b, k, False) for k, b in enumerate(top.tolist())],
                          [build(b, k, True) for k, b in enumerate(busy.tolist())],
                          excluded, (float(at[0]), float(at[1])), category, result.hierarchy)


class _Paths:
    """The road paths of the units shown, read together: their metres (as
    graph.path_meters gives each: one haversine over every segment, each path's own
    slice summed) and their node coordinates (one lookup)."""

    def __init__(self, graph, paths: list[list[int]]) -> None:
        self.ends = np.cumsum([0] + [len(p) for p in paths]).tolist()
        nodes = np.fromiter(chain.from_iterable(paths), np.int64, self.ends[-1])
        lon, lat = graph.lon[nodes], graph.lat[nodes]
        seg = haversine_many_m(lon[:-1], lat[:-1], lon[1:], lat[1:])  # across two paths: not read
        self.meters = [float(seg[a:b - 1].sum()) if b - a >= 2 else 0.0
                       for a, b in zip(self.ends[:-1], self.ends[1:])]
        self._lon, self._lat = lon.tolist(), lat.tolist()

    def lonlat(self, k: int) -> Iterator[tuple[float, float]]:
        a, b = self.ends[k], self.ends[k + 1]
        return zip(self._lon[a:b], self._lat[a:b])


def _committed_text(incident_id: int | None, status: UnitStatus) -> str:
    if incident_id is not None:
        return f"已派往警情 {incident_id}（{status.label}）"
    return f"执行任务中（{status.label}）"
