"""Fold segments: the fold of six hours of the log kept on disk as columns, so that a
period of many days loads without folding those hours again, and each incident's state
after each of its events becomes an IncidentView only when an instant shows it.

Why: the fold costs ~5 µs per event in CPython (evolve + one IncidentView per change), so
a 100,000-call week (900,000 events) cannot be folded in the few seconds a trainer waits
for it. Hours that are over never change (the log is append-only and hash-chained), so
their fold is written once, next to the checkpoints it runs between, and read back as
arrays.

A segment is the fold of the events between two checkpoints (replay.checkpoints): from
`start_id` (a checkpoint's last event, 0: the log's start) to `end_id` (the first
checkpoint of a later block of six UTC hours, checkpoints.BLOCK_S, which the store always
keeps), every state each incident went through (one row per state: incident id, time,
each field as a code into the segment's distinct values or, for instants, microseconds)
and every unit's status change. A load (replay.state) chains the segments that start
where its checkpoint ends, then folds the rest of the period itself from the last
segment's end checkpoint.

Trusted only while the log holds the same prefix: the stored chain hash of `end_id`
(store.hashchain: it covers every earlier event) must match, and the format version;
anything else (an unreadable file included) is not used. Written with pickle (numpy
arrays as raw buffers), like the checkpoints: a cache folder this console writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.domain.evolve import INCIDENT_FIELDS
from dispatch.replay.checkpoints import BLOCK_S, read_cached, write_cached
from dispatch.domain.units import UnitStatus
from dispatch.services.queries import AssignmentView, IncidentView

FORMAT = 1  # bump whenever a segment's shape or the fold (replay.fold) changes
SUFFIX = ".seg"
KEEP_S = 92 * 86400.0  # segments kept for the last three months of log time (see SegmentStore.save)

_TIMES = ("received_at", "updated_at", "closed_at")  # instants kept as int64 microseconds (NONE: None)
_CODED = tuple(f for f in INCIDENT_FIELDS if f not in _TIMES + ("id", "version", "assignments"))
_A_TIMES = ("dispatched_at", "acknowledged_at", "en_route_at", "arrived_at", "cleared_at")
_A_CODED = ("callsign", "eta_s", "route_m")
NONE = np.iinfo(np.int64).min  # an instant that is None
_UNIT_STATUSES = list(UnitStatus)
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_US = timedelta(microseconds=1)


def _micros(values: list) -> np.ndarray:
    """Aware datetimes (or None) as int64 microseconds since the epoch (NONE for None)."""
    epoch, us, none = _EPOCH, _US, NONE
    return np.fromiter((none if v is None else (v - epoch) // us for v in values), dtype=np.int64,
                       count=len(values))


def _instants(micros: np.ndarray, _at=datetime.fromtimestamp, _utc=_UTC, _none=NONE) -> list:  # noqa: ANN001
    """int64 microseconds back to aware UTC datetimes (None for NONE), exactly: a double
    holds an instant of these centuries to a tenth of a microsecond, and fromtimestamp
    rounds to the nearest one (a third of the cost of building it from a timedelta)."""
    return [None if u == _none else _at(u / 1e6, _utc) for u in micros.tolist()]


_SEP = "\x1f"  # (unit separator: no admin name holds it)


def _joined(values: list) -> list:
    """The admin chains (lists of names) as one string each (a third of the cost to read
    back), a list kept as is where a name is empty or holds the separator (it would not
    split back into the same list)."""
    return [_SEP.join(v) if isinstance(v, list) and all(type(x) is str and x and _SEP not in x for x in v) else v
            for v in values]


def _split(value: Any) -> list:
    return (value.split(_SEP) if value else []) if isinstance(value, str) else list(value)


def _code(objects: list) -> tuple[np.ndarray, Any]:
    """Each object as a code into its distinct values (equal values of the same type are
    one; a field holding an unhashable value is coded by identity), the values packed
    (_pack). The fold shares an unchanged value between an incident's states, so the
    objects are told apart by identity first (in numpy) and only those few compared."""
    if not objects:
        return np.empty(0, dtype=np.uint8), []
    ids = np.fromiter(map(id, objects), dtype=np.uint64, count=len(objects))
    _uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    distinct = list(map(objects.__getitem__, first.tolist()))
    table: dict = {}
    try:
        codes = [table.setdefault((v.__class__, v), len(table)) for v in distinct]
        values = [v for _cls, v in table]
    except TypeError:  # (a list: by identity)
        codes, values = list(range(len(distinct))), distinct
    coded = np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]
    return coded.astype(np.min_scalar_type(max(0, len(values) - 1))), _pack(values)


def _pack(values: list) -> Any:
    """Strings as one joined string and where each ends (thousands of names read back as
    two objects, a tenth of the cost); anything else as the list."""
    if len(values) < 64 or not all(type(v) is str for v in values):
        return values
    return PackedStrings("".join(values), np.cumsum([len(v) for v in values], dtype=np.int64))


class PackedStrings:
    """Strings joined into one, read back by index."""

    __slots__ = ("text", "ends", "_bounds")

    def __init__(self, text: str, ends: np.ndarray) -> None:
        self.text, self.ends = text, ends
        self._bounds: list[int] | None = None

    def __getstate__(self) -> tuple:
        return self.text, self.ends

    def __setstate__(self, state: tuple) -> None:
        self.text, self.ends = state
        self._bounds = None

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, k: int) -> str:
        b = self._bounds
        if b is None:
            b = self._bounds = [0, *self.ends.tolist()]
        return self.text[b[k]:b[k + 1]]


@dataclass
class Segment:
    """The fold of the events after `start_id` up to `end_id` (all before epoch second
    `end_at`, none before `start_at`)."""

    start_at: float
    start_id: int
    end_at: float
    end_id: int
    end_hash: str = ""
    # incidents: one row per state, sorted by incident id, then time
    inc: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    version: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    times: dict[str, np.ndarray] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # a list, or PackedStrings
    # each row's assignments: a_flat[a_off[r]:a_off[r + 1]] (codes into the assignment table)
    a_off: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    a_flat: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    a_unit: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    a_times: dict[str, np.ndarray] = field(default_factory=dict)
    a_codes: dict[str, np.ndarray] = field(default_factory=dict)
    a_values: dict[str, Any] = field(default_factory=dict)
    # units: one row per status change, sorted by unit id, then time
    u_id: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    u_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    u_status: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int8))
    u_since: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    u_incident: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # 0: none
    # the events: how many per incident (ev_inc, ev_count), of units alone, units created
    ev_inc: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    ev_count: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    unit_only: dict[int, int] = field(default_factory=dict)
    created: dict[int, float] = field(default_factory=dict)  # unit id -> epoch s of unit.created
    events: int = 0
    reopened: bool = False
    format: int = FORMAT

    def __len__(self) -> int:
        return len(self.inc)

    # ---- reading back -------------------------------------------------------------------
    def views(self, rows: list[int], assignments: dict[int, Any] | None = None) -> list[IncidentView]:
        """The IncidentViews of rows `rows` (each equal to the one the fold made).
        `assignments`: assignment objects already made (code -> object), shared."""
        if not rows:
            return []
        idx = np.asarray(rows, dtype=np.int64)
        columns: list[list] = []
        made = self._assignments(idx, {} if assignments is None else assignments)
        for f in INCIDENT_FIELDS:
            if f == "id":
                columns.append(self.inc[idx].tolist())
            elif f == "version":
                columns.append(self.version[idx].tolist())
            elif f == "assignments":
                columns.append(made)
            elif f in self.times:
                columns.append(_instants(self.times[f][idx]))
            elif f == "place_admin":
                columns.append(list(map(_split, map(self.values[f].__getitem__, self.codes[f][idx].tolist()))))
            else:
                columns.append(list(map(self.values[f].__getitem__, self.codes[f][idx].tolist())))
        new, set_dict, cls, fields = object.__new__, object.__setattr__, IncidentView, INCIDENT_FIELDS
        out = []
        for row in zip(*columns):
            view = new(cls)
            set_dict(view, "__dict__", dict(zip(fields, row)))
            out.append(view)
        return out

    def closed_at(self, rows: np.ndarray) -> np.ndarray:
        """Epoch seconds each row's incident was closed at (inf: open)."""
        us = self.times["closed_at"][rows]
        return np.where(us == NONE, np.inf, us / 1e6)

    def _assignments(self, idx: np.ndarray, made: dict[int, Any]) -> list[tuple]:
        """Each row's assignments tuple (the objects made once per segment, in `made`)."""
        lo, hi = self.a_off[idx], self.a_off[idx + 1]
        lengths = hi - lo
        total = int(lengths.sum())
        if not total:
            return [()] * len(idx)
        # every code of these rows in one gather: row k's are at [ends[k] - lengths[k], ends[k])
        ends = np.cumsum(lengths)
        codes = self.a_flat[np.repeat(lo - (ends - lengths), lengths) + np.arange(total)].tolist()
        missing = sorted(set(codes).difference(made))
        if missing:
            m = np.asarray(missing, dtype=np.int64)
            cols = {"unit_id": self.a_unit[m].tolist()}
            for f in _A_TIMES:
                cols[f] = _instants(self.a_times[f][m])
            for f in _A_CODED:
                cols[f] = list(map(self.a_values[f].__getitem__, self.a_codes[f][m].tolist()))
            names = list(cols)
            new, set_dict = object.__new__, object.__setattr__
            for c, values in zip(missing, zip(*cols.values())):
                a = new(AssignmentView)
                set_dict(a, "__dict__", dict(zip(names, values)))
                made[c] = a
        objects = list(map(made.__getitem__, codes))
        out, at = [], 0
        for n in lengths.tolist():
            out.append(tuple(objects[at:at + n]))
            at += n
        return out

    def unit_states(self, rows: list[int]) -> list[tuple]:
        """(status, since, incident id or None) of these unit rows."""
        idx = np.asarray(rows, dtype=np.int64)
        statuses = list(map(_UNIT_STATUSES.__getitem__, self.u_status[idx].tolist()))
        incidents = [i or None for i in self.u_incident[idx].tolist()]
        return list(zip(statuses, _instants(self.u_since[idx]), incidents))


def cut(start_at: float, start_id: int, end_at: float, end_id: int, inc: np.ndarray, t: np.ndarray,
        views: list[IncidentView], u_id: np.ndarray, u_t: np.ndarray, u_states: list[tuple],
        event_columns: dict[str, Any]) -> Segment:
    """A segment of the fold's states between two checkpoints: incident rows (`inc`, `t`,
    `views`: incident id, time, the state after) and unit rows (`u_id`, `u_t`,
    `u_states`: (status, since, incident id)), each in any order; `event_columns`: the
    span's events as numpy columns (incident_ids, unit_ids, ts) and `kinds` (a list)."""
    from dispatch.domain import events as ev

    seg = Segment(start_at=start_at, start_id=start_id, end_at=end_at, end_id=end_id)
    if len(inc):
        order = np.lexsort((t, inc))
        views = list(map(views.__getitem__, order.tolist()))
        seg.inc, seg.t = inc[order].astype(np.int64), t[order].astype(np.float64)
        dicts = [v.__dict__ for v in views]
        seg.version = np.fromiter(map(itemgetter("version"), dicts), dtype=np.int64, count=len(dicts))
        for f in _TIMES:
            seg.times[f] = _micros(list(map(itemgetter(f), dicts)))
        for f in _CODED:
            values = list(map(itemgetter(f), dicts))
            seg.codes[f], seg.values[f] = _code(_joined(values) if f == "place_admin" else values)
        tuples = list(map(itemgetter("assignments"), dicts))
        lengths = np.fromiter(map(len, tuples), dtype=np.int64, count=len(tuples))
        seg.a_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        codes, table = _code([a for tup in tuples for a in tup])
        seg.a_flat = codes.astype(np.int32)
        adicts = [a.__dict__ for a in table]
        seg.a_unit = np.fromiter(map(itemgetter("unit_id"), adicts), dtype=np.int64, count=len(adicts))
        for f in _A_TIMES:
            seg.a_times[f] = _micros(list(map(itemgetter(f), adicts)))
        for f in _A_CODED:
            seg.a_codes[f], seg.a_values[f] = _code(list(map(itemgetter(f), adicts)))
    if len(u_id):
        order = np.lexsort((u_t, u_id))
        states = list(map(u_states.__getitem__, order.tolist()))
        seg.u_id, seg.u_t = u_id[order].astype(np.int64), u_t[order].astype(np.float64)
        status_code = {s: k for k, s in enumerate(_UNIT_STATUSES)}
        seg.u_status = np.array([status_code[s[0]] for s in states], dtype=np.int8)
        seg.u_since = _micros([s[1] for s in states])
        seg.u_incident = np.array([s[2] or 0 for s in states], dtype=np.int64)
    incident_ids, unit_ids, kinds = event_columns["incident_ids"], event_columns["unit_ids"], event_columns["kinds"]
    seg.events = len(incident_ids)
    seg.ev_inc, seg.ev_count = np.unique(incident_ids[incident_ids != 0], return_counts=True)
    u, n = np.unique(unit_ids[(incident_ids == 0) & (unit_ids != 0)], return_counts=True)
    seg.unit_only = dict(zip(u.tolist(), n.tolist()))
    ts = event_columns["ts"]
    for k, kind in enumerate(kinds):
        if kind == ev.UNIT_CREATED and unit_ids[k]:
            seg.created.setdefault(int(unit_ids[k]), float(ts[k]))
        elif kind == ev.INCIDENT_REOPENED:
            seg.reopened = True
    return seg


def block_spans(start: tuple[float, int], first_t: float, crossings: list[tuple[float, int]]
                ) -> list[tuple[tuple[float, int], tuple[float, int]]]:
    """The spans a fold can cut into segments: from its start (`start`: the checkpoint it
    resumed from, or (-inf, 0) for the log's start; `first_t`: when that is) to the first
    whole hour it crossed in each later block of six UTC hours (checkpoints.BLOCK_S;
    `crossings`: (at, last event id) of every whole hour crossed, in order), and from each
    such hour to the next: each span ends at a checkpoint the store always keeps."""
    bounds = [start]
    block = int(first_t // BLOCK_S)
    for at, eid in crossings:
        b = int(at // BLOCK_S)
        if b != block:
            bounds.append((at, eid))
            block = b
    return list(zip(bounds, bounds[1:]))


def cut_fold(spans: list[tuple[tuple[float, int], tuple[float, int]]], incidents: dict, units: dict,
             log: Any) -> list[Segment]:
    """The segments of `spans` (block_spans) from a fold's tracks (replay.state: each
    incident's `times` and `views`, each unit's `times` and `states`) and the events it
    folded (`log`: log_read.LogColumns)."""
    if not spans:
        return []
    tracks = list(incidents.values())
    lengths = [len(tr.times) for tr in tracks]
    t_all = np.frombuffer(b"".join(tr.times for tr in tracks), dtype=np.float64) if tracks else np.empty(0)
    inc_all = np.repeat(np.fromiter(incidents, np.int64, len(incidents)), lengths)
    views_all = [v for tr in tracks for v in tr.views]
    uts = list(units.items())
    u_lengths = [len(u.times) for _, u in uts]
    ut_all = np.frombuffer(b"".join(u.times for _, u in uts), dtype=np.float64) if uts else np.empty(0)
    uid_all = np.repeat(np.array([uid for uid, _ in uts], dtype=np.int64), u_lengths)
    ustates_all = [s for _, u in uts for s in u.states]
    out = []
    for (a_at, a_id), (b_at, b_id) in spans:
        sel = np.flatnonzero((t_all >= a_at) & (t_all < b_at))
        views = list(map(views_all.__getitem__, sel.tolist()))
        if any(type(v) is not IncidentView for v in views):  # (rows of other segments: not folded here)
            continue
        usel = np.flatnonzero((ut_all >= a_at) & (ut_all < b_at))
        if any(type(ustates_all[i]) is int for i in usel.tolist()):
            continue
        lo, hi = np.searchsorted(log.ids, [a_id, b_id], side="right").tolist()
        columns = {"incident_ids": log.incident_ids[lo:hi], "unit_ids": log.unit_ids[lo:hi],
                   "ts": log.ts[lo:hi], "kinds": log.kinds[lo:hi]}
        out.append(cut(a_at, a_id, b_at, b_id, inc_all[sel], t_all[sel], views, uid_all[usel], ut_all[usel],
                       list(map(ustates_all.__getitem__, usel.tolist())), columns))
    return out


def extend_tracks(segments: list[Segment], incidents: dict, units: dict, new_track: Any) -> LazyRows:
    """Append the segments' rows to the tracks of a load (replay.state): each incident
    state and unit status as its row number (LazyRows), but each unit's last status (a
    fold goes on from it) as its tuple; `new_track(t)` makes the track of an incident
    first seen here (received at epoch second t)."""
    lazy = LazyRows(segments)
    for s, seg in enumerate(segments):
        base = int(lazy.offsets[s])
        n = len(seg)
        if n:
            inc = seg.inc
            starts = np.flatnonzero(np.r_[True, inc[1:] != inc[:-1]])
            t = seg.t.tolist()
            for iid, a, b in zip(inc[starts].tolist(), starts.tolist(), [*starts[1:].tolist(), n]):
                track = incidents.get(iid)
                if track is None:
                    track = incidents[iid] = new_track(t[a])
                track.times.extend(t[a:b])
                track.views.extend(range(base + a, base + b))
        m = len(seg.u_id)
        if m:
            ubase = int(lazy.u_offsets[s])
            uid = seg.u_id
            starts = np.flatnonzero(np.r_[True, uid[1:] != uid[:-1]])
            ut = seg.u_t.tolist()
            for u_id, a, b in zip(uid[starts].tolist(), starts.tolist(), [*starts[1:].tolist(), m]):
                u = units.get(u_id)
                if u is not None:
                    u.times.extend(ut[a:b])
                    u.states.extend(range(ubase + a, ubase + b))
    last = [u for u in units.values() if u.states and type(u.states[-1]) is int]
    for u, state in zip(last, lazy.unit_states([u.states[-1] for u in last])):
        u.states[-1] = state
    return lazy


class SegmentStore:
    """The segment files of one database (beside its checkpoints)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _files(self) -> dict[int, list[tuple[float, int, Path]]]:
        """start event id -> [(end at, end event id, path)]"""
        out: dict[int, list[tuple[float, int, Path]]] = {}
        if not self.folder.is_dir():
            return out
        for p in self.folder.glob("*" + SUFFIX):
            try:
                start_id, end_at, end_id = p.stem.split("_")
                out.setdefault(int(start_id), []).append((float(end_at), int(end_id), p))
            except ValueError:
                continue
        return out

    def chain(self, start_id: int, until: float, trusted: Any) -> list[Segment]:
        """The segments one after another from event `start_id`, each ending by epoch second
        `until`; `trusted(segment)` says whether the log still holds what it folded."""
        files = self._files()
        out: list[Segment] = []
        at = start_id
        while True:
            options = sorted(((end_at, end_id, p) for end_at, end_id, p in files.get(at, []) if end_at <= until),
                             reverse=True)
            for end_at, end_id, path in options:
                seg = _read(path)
                if seg is not None and seg.start_id == at and seg.end_id == end_id and trusted(seg):
                    out.append(seg)
                    at = end_id
                    break
            else:
                return out

    def known(self) -> frozenset[tuple[int, int]]:
        """(start id, end id) of every segment file here."""
        return frozenset((s, e) for s, ends in self._files().items() for _a, e, _p in ends)

    def save(self, segments: list[Segment]) -> int:
        """Write the segments not yet on disk, and drop those ending more than KEEP_S
        before the newest (a centre's cache grows ~18 MB a day at 14,000 calls a day; a
        period older than that is folded again, as without segments). A cache that
        cannot be written is skipped."""
        files = self._files()
        known = {(s, e) for s, ends in files.items() for _a, e, _p in ends}
        newest = max([a for ends in files.values() for a, _e, _p in ends] + [seg.end_at for seg in segments],
                     default=0.0)
        written = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for seg in segments:
                if (seg.start_id, seg.end_id) in known or not seg.end_hash or seg.end_at < newest - KEEP_S:
                    continue
                write_cached(self.folder / f"{seg.start_id}_{seg.end_at:.0f}_{seg.end_id}{SUFFIX}", seg)
                written += 1
            for ends in files.values():
                for end_at, _eid, path in ends:
                    if end_at < newest - KEEP_S:
                        path.unlink(missing_ok=True)
        except OSError:
            pass
        return written


def _read(path: Path) -> Segment | None:
    seg: Segment | None = read_cached(path, Segment, FORMAT)
    return seg


class LazyRows:
    """The rows of the segments a load chained, numbered one after another (row r of
    segment s is `offsets[s] + r`): the tracks of replay.state hold these numbers where
    they would hold IncidentViews, and `views` makes them when asked, keeping what it
    made (up to CACHE rows, then all are dropped at once: scrubbing a month would
    otherwise keep every state of it)."""

    CACHE = 400_000

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.offsets = np.cumsum([0] + [len(s) for s in segments]).astype(np.int64)
        self.u_offsets = np.cumsum([0] + [len(s.u_id) for s in segments]).astype(np.int64)  # units' rows
        self._made: dict[int, IncidentView] = {}
        self._assignments: list[dict[int, Any]] = [{} for _ in segments]

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def views(self, numbers: list[int]) -> list[IncidentView]:
        """The views of these row numbers, in that order."""
        made = self._made
        if len(made) + len(numbers) > self.CACHE:
            made.clear()
            for d in self._assignments:
                d.clear()
        want = sorted({g for g in numbers if g not in made})
        if want:
            g = np.asarray(want, dtype=np.int64)
            seg_of = np.searchsorted(self.offsets, g, side="right") - 1
            for s in np.unique(seg_of).tolist():
                mine = g[seg_of == s]
                got = self.segments[s].views((mine - self.offsets[s]).tolist(), self._assignments[s])
                made.update(zip(mine.tolist(), got))
        return list(map(made.__getitem__, numbers))

    def unit_states(self, numbers: list[int]) -> list[tuple]:
        """The (status, since, incident id) of these unit row numbers, in that order."""
        if not numbers:
            return []
        g = np.asarray(numbers, dtype=np.int64)
        seg_of = np.searchsorted(self.u_offsets, g, side="right") - 1
        out: list = [None] * len(numbers)
        for s in np.unique(seg_of).tolist():
            at = np.flatnonzero(seg_of == s)
            for k, state in zip(at.tolist(), self.segments[s].unit_states((g[at] - self.u_offsets[s]).tolist())):
                out[k] = state
        return out

    def closed_at(self, numbers: list[int]) -> list[float]:
        """Epoch seconds each row's incident was closed at (inf: open then)."""
        g = np.asarray(numbers, dtype=np.int64)
        out = np.empty(len(g))
        seg_of = np.searchsorted(self.offsets, g, side="right") - 1
        for s in np.unique(seg_of).tolist():
            sel = seg_of == s
            out[sel] = self.segments[s].closed_at(g[sel] - self.offsets[s])
        return out.tolist()
