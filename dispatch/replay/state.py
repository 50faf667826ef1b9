"""State at any instant from the log: the events are read once and indexed per incident
and per unit by time, so the state at t is a binary search per incident/unit, never a
re-read of the log. The state uses the live screens' types (IncidentView, UnitSnapshot).

A period (`ReplayIndex.load(since=...)`) starts from the last checkpoint of the fold
before it (replay.checkpoints) and reads only the events after it and the positions from
`since` on (and each unit's last fix before), so its cost is the period's, not the log's.
Such an index holds the incidents open at the checkpoint, those received after it and
those closed before it but reopened after it (their earlier events are read apart:
log_read.read_reopened_before); the state at any instant from `since` on equals the
whole log's.

Loading costs what the fold must: the events are read as compact columns (log_read: on
SQLite one aggregated row per chunk of events, not one per event; ids, times and
incident/unit ids in numpy arrays, payloads kept as their stored JSON and decoded a
chunk at a time while folding, and not again for the checkpoints' last events; no
tuple per event, no list of event positions per incident or unit: those are found by one
argsort of the id column when a timeline asks), each incident state becomes its
IncidentView as it is folded (so showing an instant builds no incident object), and a
unit's snapshot is made the first time it is shown (replay.unit_table).

Unit positions come from the append-only `positions` table and are interpolated
linearly between two recorded fixes (unless they are more than `max_gap_s` apart:
then the unit stays at its last fix, as a parked unit does).
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from math import inf
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

import gc
from pathlib import Path

import numpy as np

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.domain.evolve import created_incident, evolve_incident, evolve_unit, initial_unit_status
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus
from dispatch.replay.checkpoints import (BLOCK_S, EVERY_S, Checkpoint, CheckpointStore, restore, seal, stored_hashes,
                                         take, worth_taking)
from dispatch.replay.incident_table import IncidentTable
from dispatch.replay.log_read import (LogColumns, PendingPositions, PositionColumns, read_core, read_events_of,
                                      read_positions_apart, read_reopened_before, read_sqlite)
from dispatch.replay.segments import LazyRows, Segment, SegmentStore, cut_fold, block_spans, extend_tracks
from dispatch.replay.unit_table import UnitTable
from dispatch.replay.fold import incident_view, shared_state
from dispatch.services.queries import AssignmentView, IncidentView
from dispatch.memory import release_free_memory
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, UnitRow

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_received, _views, _seeded, _closed_at = (attrgetter("received"), attrgetter("views"), attrgetter("seeded"),
                                          attrgetter("closed_at"))
_last_view, _closed_key = itemgetter(-1), itemgetter("closed_at")


def _member(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """np.isin(values, known) for ids: one lookup table when the ids are small enough."""
    if not len(values) or not len(known):
        return np.zeros(len(values), dtype=bool)
    lo, hi = min(int(values.min()), int(known.min())), max(int(values.max()), int(known.max()))
    if lo < 0 or hi > 8 * (len(values) + len(known)) + 4096:
        return np.isin(values, known)
    table = np.zeros(hi + 1, dtype=bool)
    table[known] = True
    return table[values]


def _ts(value: datetime) -> float:
    return (value - _EPOCH).total_seconds()


@dataclass(slots=True)
class _IncidentTrack:
    """The states of one incident after each of its events (times ascending)."""

    received: float = 0.0                       # epoch seconds of its call
    times: array = field(default_factory=partial(array, "d"))  # (C doubles: no float object each)
    views: list[Any] = field(default_factory=list)  # the state after each step (IncidentView; int: a LazyRows row)
    seeded: tuple = ()  # its events before a checkpoint (_seed_closed)


@dataclass
class _UnitTrack:
    row: dict                                   # static attributes from the units table
    initial: tuple = (UnitStatus.AVAILABLE, None, None)
    times: array = field(default_factory=partial(array, "d"))  # (C doubles: no float object each)
    states: list[Any] = field(default_factory=list)  # (status, since, incident_id); int: a LazyRows unit row
    pos_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_at: list[datetime] = field(default_factory=list)


# A period this long or shorter (a shift, a day) is folded whole at load, so that every
# instant of it shows at once; a longer one reads its finished six-hour blocks from fold
# segments, whose views are made the first time an instant shows them (see load).
FOLDED_WHOLE_S = 24 * 3600.0


@dataclass
class _Prefix:
    """What a load read from fold segments (replay.segments) before folding the rest
    itself: each incident's track from the checkpoint it resumed from up to the last
    segment's end (restored and seeded states as views, the segments' as row numbers
    of `lazy`), the units' statuses appended in place; the segments hold the events
    after `first_id` up to `last_id`."""

    incidents: dict[int, _IncidentTrack]
    lazy: LazyRows
    first_id: int
    last_id: int

    @classmethod
    def read(cls, session: Session, resume: Checkpoint | None, segments: list[Segment],
             units: dict[int, _UnitTrack], until: datetime | None) -> "_Prefix":
        incidents: dict[int, _IncidentTrack] = {}
        if resume is not None:
            states: dict[int, dict] = {}
            new_track = lambda r: _IncidentTrack(received=r)  # noqa: E731
            restore(resume, units, incidents, states, {}, set(), new_track)
            _seed_closed(read_reopened_before(session, resume.event_id, until, set(resume.incidents)),
                         incidents, states, {})
        lazy = extend_tracks(segments, incidents, units, lambda r: _IncidentTrack(received=r))
        return cls(incidents, lazy, segments[0].start_id, segments[-1].end_id)

    def event_count(self, incidents: dict[int, _IncidentTrack], units: dict[int, _UnitTrack]) -> int:
        """The segments' events of these incidents (not of those seeded past them) and units."""
        n = 0
        for seg in self.lazy.segments:
            for iid, c in zip(seg.ev_inc.tolist(), seg.ev_count.tolist()):
                track = incidents.get(iid)
                if track is not None and not (track.seeded and track.seeded[-1][0] > seg.start_id):
                    n += c
            n += sum(c for uid, c in seg.unit_only.items() if uid in units)
        return n


def _segment_chain(session: Session, store: CheckpointStore, resume: Checkpoint | None, since: datetime,
                   until: datetime | None) -> tuple[list[Segment], Checkpoint | None]:
    """The fold segments that follow one another from `resume` (None: the log's start),
    all ending by the period's end, and the checkpoint the last one ends at (the load
    folds from there); ([], None) when there are none to use, or the period from `since`
    is no longer than FOLDED_WHOLE_S."""
    end = session.scalar(select(func.max(EventRow.occurred_at)))
    if end is None:
        return [], None
    last = min(as_utc(end), as_utc(until)) if until is not None else as_utc(end)
    bound = _ts(last)
    if bound - _ts(as_utc(since)) <= FOLDED_WHOLE_S:
        return [], None

    def trusted(seg: Segment) -> bool:
        return stored_hashes(session, [seg.end_id]).get(seg.end_id) == seg.end_hash

    chain = SegmentStore(store.folder).chain(resume.event_id if resume is not None else 0, bound, trusted)
    while chain:
        cp = store.exact(session, chain[-1].end_at, chain[-1].end_id)
        if cp is not None:
            return chain, cp
        chain.pop()
    return [], None


def _cut_segments(folded: _Folded, resume: Checkpoint | None, units: dict[int, _UnitTrack], log: LogColumns,
                  stored: frozenset[tuple[float, int]], known: frozenset[tuple[int, int]]) -> list[Segment]:
    """The fold segments of the six-hour blocks a fold went through whole: from its start
    when that is the log's or the first checkpoint of a block (one the store keeps for
    good: a later load resumes there), then block to block; none of those on disk
    (`known`: (start id, end id))."""
    if not len(log):
        return []
    start, first_t = ((resume.at, resume.event_id), resume.at) if resume is not None else ((-inf, 0), float(log.ts[0]))
    spans = block_spans(start, first_t, folded.crossings)
    if resume is not None and any(a < resume.at and a // BLOCK_S == resume.at // BLOCK_S for a, _ in stored):
        spans = spans[1:]  # (from an hourly checkpoint the store drops after two days)
    return cut_fold([sp for sp in spans if (sp[0][1], sp[1][1]) not in known], folded.incidents, units, log)


def _older_reader(session: Session, prefix: _Prefix) -> Callable[[str, int, int], list[tuple]]:
    """Reads one incident's or unit's events of the segments' span when a timeline asks
    (through the load's engine: the index outlives the load's session)."""
    bind, lo, hi = session.get_bind(), prefix.first_id, prefix.last_id
    engine = bind if isinstance(bind, Engine) else bind.engine

    def read(column: str, value: int, after_id: int) -> list[tuple]:
        with engine.connect() as conn:
            return read_events_of(conn, column, value, max(lo, after_id), hi)
    return read


def _save(session: Session, store: CheckpointStore, checkpoints: list[Checkpoint], segments: list[Segment]) -> None:
    """Write what a fold took to the cache: checkpoints and fold segments, each with the
    stored chain hash of its last event (one not chained is not written)."""
    if checkpoints:
        seal(session, checkpoints)
        store.save(checkpoints)
    if segments:
        hashes = stored_hashes(session, [seg.end_id for seg in segments])
        for seg in segments:
            seg.end_hash = hashes.get(seg.end_id) or ""
        SegmentStore(store.folder).save(segments)


@dataclass(frozen=True)
class ReplayState:
    """What the console showed at `at`: open incidents (oldest first) and every unit."""

    at: datetime
    incidents: list[IncidentView]
    units: list[UnitSnapshot]

    def as_json(self) -> dict:
        return {"at": self.at.isoformat().replace("+00:00", "Z"),
                "incidents": [incident_json(i) for i in self.incidents],
                "units": [unit_json(u) for u in self.units]}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def incident_json(i: IncidentView) -> dict:
    return {"id": i.id, "status": i.status.value, "received_at": _iso(i.received_at),
            "updated_at": _iso(i.updated_at), "caller_number": i.caller_number,
            "place": i.place_name, "lon": i.lon, "lat": i.lat, "grid_id": i.grid_id,
            "category": i.category, "priority": i.priority, "result_code": i.result_code,
            "closed_at": _iso(i.closed_at),
            "units": [a.unit_id for a in i.assignments if a.open]}


def unit_json(u: UnitSnapshot) -> dict:
    return {"id": u.id, "callsign": u.callsign, "kind": u.kind.value, "status": u.status.value,
            "status_since": _iso(u.status_since), "incident_id": u.incident_id,
            "lon": round(u.lon, 7), "lat": round(u.lat, 7), "position_at": _iso(u.position_at)}


class ReplayIndex:
    """The log of a period, indexed for the state at any instant."""

    def __init__(self, units: dict[int, _UnitTrack], incidents: dict[int, _IncidentTrack],
                 max_gap_s: float = 300.0, since: datetime | None = None, log: LogColumns = LogColumns(),
                 reopened: bool = False, states: dict[int, dict] | None = None,
                 prefix: _Prefix | None = None) -> None:
        """`log`: the events folded into the tracks; `reopened`: whether any incident was
        reopened; `states`: the fold's last state of each incident, if at hand (the same
        values as its last view: read where the fold left them); `prefix`: what fold
        segments gave before `log` (the tracks then hold row numbers of prefix.lazy
        where they would hold views: made when shown)."""
        self._units = units
        self._log = log
        self._grouped: dict[str, _Grouped] = {}  # event positions per incident / unit, made when asked
        self._unit_ids = sorted(units)
        self._incidents = incidents
        self._lazy = prefix.lazy if prefix is not None else None
        self._older: Callable[[str, int, int], list[tuple]] | None = None  # events of the segments' span
        self.max_gap_s = max_gap_s
        ids = sorted(incidents)
        tracks = list(map(incidents.__getitem__, ids))
        self._inc_ids = np.array(ids, dtype=np.int64)
        self._recv = np.fromiter(map(_received, tracks), dtype=float, count=len(tracks))
        if self._lazy is not None:
            closes = self._closes(ids, tracks, states or {})
        else:
            last = (map(_closed_key, map(states.__getitem__, ids)) if states is not None
                    else map(_closed_at, map(_last_view, map(_views, tracks))))
            closes = [inf if c is None else c.timestamp() if c.tzinfo is not None else _ts(c)  # (= _ts(c))
                      for c in last]
        self._close = np.array(closes, dtype=float)
        # a reopened incident was closed for a while before its last close: filter by status
        self._reopened = reopened or (prefix is not None and any(seg.reopened for seg in prefix.lazy.segments))
        order = np.lexsort((self._inc_ids, self._recv))  # oldest first, like open_incidents
        self._inc_ids, self._recv, self._close = self._inc_ids[order], self._recv[order], self._close[order]
        self._flat = IncidentTable([incidents[i] for i in self._inc_ids.tolist()], self._lazy)
        # the incidents' first and last times: the table's bounds
        times = [self._flat.t0, self._flat.t1] if incidents else []
        times += [u.times[0] for u in units.values() if u.times]
        times += [u.times[-1] for u in units.values() if u.times]
        times += [float(u.pos_t[0]) for u in units.values() if len(u.pos_t)]
        times += [float(u.pos_t[-1]) for u in units.values() if len(u.pos_t)]
        self.start = datetime.fromtimestamp(min(times), timezone.utc) if times else None
        if since is not None and self.start is not None and self.start < as_utc(since):
            self.start = as_utc(since)  # the period asked for (earlier data only seeds it)
        self.end = datetime.fromtimestamp(max(times), timezone.utc) if times else None
        # the events of these incidents and units (those of incidents not here are not)
        known = np.fromiter(incidents, np.int64, len(incidents))
        unit_only = (log.incident_ids == 0) & _member(log.unit_ids, np.fromiter(units, np.int64, len(units)))
        seeded = sum(map(len, map(_seeded, incidents.values())))
        self.event_count = int(_member(log.incident_ids, known).sum()) + int(unit_only.sum()) + seeded
        self.segment_events = 0  # events whose fold was read from fold segments
        if prefix is not None:
            self.event_count += prefix.event_count(incidents, units)
            self.segment_events = sum(seg.events for seg in prefix.lazy.segments)
        self.position_count = sum(len(u.pos_t) for u in units.values())
        self.folded_count = len(log) + seeded  # events read and folded
        self.incident_count = len(incidents)
        self.checkpoints: list[Checkpoint] = []  # taken while folding (see load)
        self.segments: list[Segment] = []  # cut while folding (see load)
        self.resumed_from: Checkpoint | None = None
        self._table = UnitTable(self._unit_ids, units, min(times, default=0.0), max(times, default=0.0),
                                max_gap_s, self._lazy)
        # units whose unit.created is in this index: not shown before it
        self._born = {}
        with_unit = np.flatnonzero(log.unit_ids)  # (most events are an incident's alone)
        seen, first = np.unique(log.unit_ids[with_unit], return_index=True)  # each unit's first event
        kinds = log.kinds
        for uid, k in zip(seen.tolist(), with_unit[first].tolist()):
            u = units.get(uid)
            if u is not None and u.times and kinds[k] == ev.UNIT_CREATED:
                self._born[uid] = u.times[0]
        if prefix is not None:
            for seg in prefix.lazy.segments:
                for uid, t in seg.created.items():
                    if uid in units:
                        self._born.setdefault(uid, t)
        self._last_born = max(self._born.values(), default=-np.inf)

    # ---- building ----------------------------------------------------------------------
    @classmethod
    def load(cls, session: Session, since: datetime | None = None, until: datetime | None = None,
             max_gap_s: float = 300.0, cache: Path | None = None) -> "ReplayIndex":
        """Read the log (optionally up to `until`) and the positions, and index them.

        With `since`, only what is needed from `since` on is read: positions from `since`
        (plus each unit's last fix before it) and, when `cache` (a folder of checkpoints,
        see replay.checkpoints) holds a checkpoint at or before `since` that still matches
        the log, only the events after it; the state at any instant from `since` on is
        the same as with the whole log. With `cache`, checkpoints taken while folding are
        written there for the next load, and so are fold segments (replay.segments: the
        fold of each whole block of six hours folded); a period longer than FOLDED_WHOLE_S then
        reads its finished days from those segments instead of folding them."""
        store = CheckpointStore(cache) if cache is not None else None
        gc_was = gc.isenabled()
        gc.disable()  # hundreds of thousands of small objects: no cyclic GC passes meanwhile
        try:
            resume = None
            # (on a SQLite file: read on a worker thread from now, while the rest is read and folded)
            apart = read_positions_apart(session, since, until)
            if store is not None and since is not None:
                first = min(as_utc(since), as_utc(until)) if until is not None else as_utc(since)
                resume = catch_up(session, store, _ts(first))[1]
            units = _units(session)
            prefix, live_from = None, resume
            if store is not None and since is not None:
                chain, end_cp = _segment_chain(session, store, resume, since, until)
                if chain and end_cp is not None:
                    prefix = _Prefix.read(session, resume, chain, units, until)
                    live_from = end_cp
            after_id = live_from.event_id if live_from is not None else 0
            seed = (read_reopened_before(session, live_from.event_id, until, set(live_from.incidents))
                    if live_from is not None else [])
            stored = store.stored() if store is not None else frozenset()
            # (the positions are still being read while the events are folded: the
            # session is not used again before build has taken them)
            log, positions = _read(session, since, until, after_id, positions=apart is None, deferred=True)
            if apart is not None:
                positions = apart
            try:
                index = cls.build(units, log, positions, max_gap_s, resume=live_from,
                                  record=store is not None, since=since, seed=seed, stored=stored,
                                  prefix=prefix, known_segments=SegmentStore(cache).known() if cache else frozenset())
            finally:
                if isinstance(positions, PendingPositions):
                    positions.close()
                if apart is not None:
                    apart.close()
            del log, positions
            if prefix is not None:
                index._older = _older_reader(session, prefix)
            if store is not None and (index.checkpoints or index.segments):  # still without GC
                _save(session, store, index.checkpoints, index.segments)
        finally:
            # The index is long-lived and large: keep it out of the collector's passes,
            # which would otherwise stall scrubbing now and then (refcounting still frees
            # it). Frozen before the collector is on again: the first collection after
            # the load would otherwise walk every object the load made (seconds for a
            # week), and with the load in a worker thread another thread (the console's
            # GUI) may set it off the moment the collector is on.
            gc.freeze()
            if gc_was:
                gc.enable()
        release_free_memory()
        return index

    @classmethod
    def build(cls, units: dict[int, _UnitTrack], log: LogColumns, positions: PositionColumns | PendingPositions,
              max_gap_s: float = 300.0, resume: Checkpoint | None = None, record: bool = False,
              since: datetime | None = None, seed: Sequence[tuple] = (),
              stored: frozenset[tuple[float, int]] = frozenset(), prefix: _Prefix | None = None,
              known_segments: frozenset[tuple[int, int]] = frozenset()) -> "ReplayIndex":
        """Index the events of `log` (log_read.LogColumns, in log order), starting from the
        fold in `resume` (the events must then be those after its event id). With
        `record`, a checkpoint is taken at each whole hour of log time (index.checkpoints,
        hashes not yet filled in), but for those in `stored` ((at, event id) of the
        checkpoints already on disk: the same fold, not taken again) and those the store
        would not keep (checkpoints.worth_taking). `seed`: the earlier events of incidents closed at the
        checkpoint and reopened after it (log_read.read_reopened_before), folded first
        into their (closed) state then. `prefix`: the tracks up to `resume` read from fold
        segments (_Prefix). With `record`, the whole six-hour blocks folded are cut into fold
        segments too (index.segments, hashes not yet filled in), but for those in
        `known_segments` ((start id, end id) of those on disk)."""
        folded = _fold(units, log, resume, record, seed, stored, prefix.incidents if prefix is not None else None)
        incidents, states = folded.incidents, folded.states
        lazy = prefix.lazy if prefix is not None else None
        segments = _cut_segments(folded, resume, units, log, stored, known_segments) if record else []
        if since is not None:  # (folded from the log's start: no checkpoint before `since` yet)
            _drop_closed_before(incidents, states, as_utc(since), lazy)
        _attach_positions(units, positions.result() if isinstance(positions, PendingPositions) else positions)
        index = cls(units, incidents, max_gap_s, since, log=log, reopened=folded.reopened, states=states,
                    prefix=prefix)
        index.checkpoints = folded.taken
        index.segments = segments
        index.resumed_from = resume
        return index

    # ---- queries -----------------------------------------------------------------------
    def state_at(self, at: datetime, interpolate: bool = True) -> ReplayState:
        """Open incidents and all units as they were at `at` (events at `at` included)."""
        te = _ts(as_utc(at))
        k = int(np.searchsorted(self._recv, te, side="right"))
        open_idx = np.nonzero(self._close[:k] > te)[0]
        incidents = self._flat.at(open_idx, te)
        if self._reopened:
            incidents = [i for i in incidents if i.status is not IncidentStatus.CLOSED]
        units = self._table.snapshots(te, interpolate)
        if te < self._last_born:
            born = self._born
            units = [u for u in units if born.get(u.id, -np.inf) <= te]
        return ReplayState(as_utc(at), incidents, units)

    def incident_at(self, incident_id: int, at: datetime) -> IncidentView | None:
        """One incident at `at` (None before its call was received, or unknown)."""
        if incident_id not in self._incidents:
            return None
        return self._incident_state(incident_id, _ts(as_utc(at)))

    def unit_at(self, unit_id: int, at: datetime, interpolate: bool = True) -> UnitSnapshot:
        return self._unit_state(unit_id, _ts(as_utc(at)), interpolate)

    def tracks_at(self, at: datetime, window_s: float = 300.0) -> dict[int, list[tuple[float, float]]]:
        """Each unit's recorded positions of the `window_s` before `at` as (lon, lat), ending
        where the unit is at `at` (interpolated as state_at places it); units that did not
        move in that window are left out. What replay draws as tracks."""
        te = _ts(as_utc(at))
        out: dict[int, list[tuple[float, float]]] = {}
        for uid, u in self._units.items():
            if not len(u.pos_t):
                continue
            j = int(np.searchsorted(u.pos_t, te, side="right"))
            i = int(np.searchsorted(u.pos_t, te - window_s, side="left"))
            if j - i < 1:
                continue
            pts = list(zip(u.pos_lon[i:j].tolist(), u.pos_lat[i:j].tolist()))
            now = self._unit_state(uid, te, True)
            if (now.lon, now.lat) != pts[-1]:
                pts.append((now.lon, now.lat))
            if len(pts) >= 2:
                out[uid] = pts
        return out

    def incident_events(self, incident_id: int) -> list[Event]:
        """Every event of one incident, in log order (for its timeline)."""
        track = self._incidents.get(incident_id)
        if track is None:
            return []
        event = self._log.event
        after = track.seeded[-1][0] if track.seeded else 0  # (seeded: its events up to a checkpoint)
        return ([Event(*e) for e in track.seeded] + [Event(*e) for e in self._older_events("incident", incident_id, after)]
                + [Event(*event(k)) for k in self._events_of("incident", incident_id)])

    def unit_events(self, unit_id: int) -> list[Event]:
        if unit_id not in self._units:
            return []
        event = self._log.event
        return ([Event(*e) for e in self._older_events("unit", unit_id, 0)]
                + [Event(*event(k)) for k in self._events_of("unit", unit_id)])

    def _older_events(self, column: str, value: int, after_id: int) -> list[tuple]:
        """The events of one incident or unit in the fold segments' span (read from the
        database when asked: the load did not read them), those after `after_id` only."""
        return self._older(column, value, after_id) if self._older is not None else []

    def _events_of(self, column: str, value: int) -> list[int]:
        """Positions in the log of the events of one incident or unit (log order)."""
        grouped = self._grouped.get(column)
        if grouped is None:
            ids = self._log.incident_ids if column == "incident" else self._log.unit_ids
            grouped = self._grouped[column] = _Grouped(ids)
        return grouped.positions(value).tolist()

    def final_incidents(self) -> list[IncidentView]:
        """Every incident in its last known state (for statistics and timelines)."""
        last = [self._incidents[i].views[-1] for i in sorted(self._incidents)]
        return self._made(last)

    def _made(self, views: list) -> list[IncidentView]:
        """`views` with the row numbers of fold segments among them made views."""
        lazy = self._lazy
        if lazy is None:
            return views
        at = [k for k, v in enumerate(views) if type(v) is int]
        if at:
            views = list(views)
            for k, v in zip(at, lazy.views([views[k] for k in at])):
                views[k] = v
        return views

    def _closes(self, ids: list[int], tracks: list[_IncidentTrack], states: dict[int, dict]) -> list[float]:
        """Epoch seconds each incident was last closed at (inf: open at its last state)."""
        out: list[float] = []
        pending: list[int] = []
        for k, (iid, track) in enumerate(zip(ids, tracks)):
            st = states.get(iid)
            if st is not None:
                c = st["closed_at"]
            elif type(track.views[-1]) is int:
                pending.append(k)
                out.append(inf)
                continue
            else:
                c = track.views[-1].closed_at
            out.append(inf if c is None else _ts(as_utc(c)))
        if pending and self._lazy is not None:
            for k, c in zip(pending, self._lazy.closed_at([tracks[k].views[-1] for k in pending])):
                out[k] = c
        return out

    def unit_ids(self) -> list[int]:
        return list(self._unit_ids)

    def unit_static(self, unit_id: int) -> dict:
        return dict(self._units[unit_id].row)

    def unit_status_spans(self, unit_id: int) -> list[tuple[datetime | None, UnitStatus, int | None]]:
        """(since, status, incident_id) for each status the unit went through; the
        first span starts at None (before the period)."""
        u = self._units[unit_id]
        states = u.states
        if self._lazy is not None:
            made = iter(self._lazy.unit_states([s for s in states if type(s) is int]))
            states = [next(made) if type(s) is int else s for s in states]
        return [(None, u.initial[0], u.initial[2])] + [(s[1], s[0], s[2]) for s in states]

    def _incident_state(self, incident_id: int, te: float) -> IncidentView | None:
        track = self._incidents[incident_id]
        k = bisect_right(track.times, te)
        return self._view(track, k - 1) if k else None

    def _view(self, track: _IncidentTrack, k: int) -> IncidentView:
        view = track.views[k]
        return self._made([view])[0] if type(view) is int else view

    def _unit_state(self, unit_id: int, te: float, interpolate: bool) -> UnitSnapshot:
        u = self._units[unit_id]
        k = bisect_right(u.times, te)
        state = u.states[k - 1] if k else u.initial
        if type(state) is int and self._lazy is not None:
            state = self._lazy.unit_states([state])[0]
        status, since, incident_id = state
        row = u.row
        lon, lat, pos_at, source = row["home_lon"], row["home_lat"], None, "post"
        n = len(u.pos_t)
        if n:
            j = int(np.searchsorted(u.pos_t, te, side="right"))
            if j:
                p = j - 1
                lon, lat, pos_at, source = float(u.pos_lon[p]), float(u.pos_lat[p]), u.pos_at[p], "avl"
                if interpolate and j < n:
                    t0, t1 = u.pos_t[p], u.pos_t[j]
                    if t1 > t0 and t1 - t0 <= self.max_gap_s:
                        f = (te - t0) / (t1 - t0)
                        lon += f * (float(u.pos_lon[j]) - lon)
                        lat += f * (float(u.pos_lat[j]) - lat)
        elif row["position_at"] is not None:  # never reported: still as imported
            lon, lat, pos_at, source = row["lon"], row["lat"], row["position_at"], row["position_source"]
        if since is None and not u.times:
            since = row["status_since"]
        return UnitSnapshot(id=unit_id, callsign=row["callsign"], kind=row["kind"], status=status,
                            lon=lon, lat=lat, position_at=pos_at, home_lon=row["home_lon"],
                            home_lat=row["home_lat"], station=row["station"], duty=row["duty"],
                            incident_id=incident_id, leader=row["leader"], phone=row["phone"],
                            status_since=since, members=row["members"], terminal=row["terminal"],
                            position_source=source)


class _Grouped:
    """The positions of a log column's events grouped by its value (an incident or unit
    id), in log order within each: one stable argsort, no list per incident or unit."""

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values, kind="stable")
        self.keys = values[self.order]
        self._pairs: np.ndarray | None = None  # (value, position) as one sorted key, made when needed

    def positions(self, value: int) -> np.ndarray:
        keys = self.keys
        return self.order[keys.searchsorted(value, "left"):keys.searchsorted(value, "right")]

    def last_before(self, values: np.ndarray, k: int) -> np.ndarray:
        """For each of `values`, the position of its last event before position k (-1: none)."""
        m = len(self.keys) + 1
        if self._pairs is None:
            self._pairs = self.keys * m + self.order
        j = np.searchsorted(self._pairs, values * m + k) - 1
        jc = np.maximum(j, 0)
        return np.where((j >= 0) & (self.keys[jc] == values), self.order[jc], -1)


class _Folded(NamedTuple):
    incidents: dict[int, _IncidentTrack]  # each incident's track
    states: dict[int, dict]               # the last state of each incident this fold evolved
    taken: list[Checkpoint]               # checkpoints taken (record)
    reopened: bool                        # whether any incident was reopened
    crossings: list[tuple[float, int]]    # (at, last event id) of every whole hour crossed (record)


def _fold(units: dict[int, _UnitTrack], log: LogColumns, resume: Checkpoint | None, record: bool,
          seed: Sequence[tuple], stored: frozenset[tuple[float, int]],
          incidents: dict[int, _IncidentTrack] | None = None) -> _Folded:
    """ReplayIndex.build's fold (its arguments): each incident's track and last state, the
    checkpoints taken, whether any incident was reopened; the units' tracks filled in
    place. A catch-up slice (catch_up) needs only this, not the index built on it.
    `incidents`: tracks up to `resume` already made (from fold segments), extended here."""
    incidents = {} if incidents is None else incidents
    states: dict[int, dict] = {}
    last_of: dict[int, tuple] = {}  # last event of restored/seeded incidents (see _last_events)
    open_ids: set[int] = set()
    done, last_id, max_t = 0, 0, -np.inf
    if resume is not None:
        done, last_id, max_t = resume.count, resume.event_id, resume.at - 1e-6
        restore(resume, units, incidents, states, last_of, open_ids, lambda r: _IncidentTrack(received=r))
        _seed_closed(seed, incidents, states, last_of)
    taken: list[Checkpoint] = []
    crossings: list[tuple[float, int]] = []
    # plain floats: comparing a float with a numpy scalar costs several times more
    next_cp = float((np.floor(max_t / EVERY_S) + 1) * EVERY_S) if max_t > -np.inf else -np.inf
    if not record:
        next_cp = np.inf
    by_incident: _Grouped | None = None  # made at the first checkpoint taken
    have = set(stored)
    newest = max([a for a, _ in stored] + ([float(np.floor(log.ts[-1] / EVERY_S) * EVERY_S)] if len(log) else []),
                 default=-np.inf)
    received, closed, imported = ev.CALL_RECEIVED, ev.INCIDENT_CLOSED, ev.CALL_IMPORTED
    reopened, assignment = ev.INCIDENT_REOPENED, AssignmentView
    any_reopened = False
    get_unit, get_state = units.get, states.get
    new, set_dict, view_cls = object.__new__, object.__setattr__, IncidentView  # fold.incident_view, inlined
    seats, operators = log.seats, log.operators
    recent: list[tuple[int, int, list[dict]]] = []  # this chunk and the one before, decoded
    for start, end, payloads in log.payloads.chunks():  # decoded a chunk at a time, folded while in cache
        if record:
            recent = [*recent[-1:], (start, end, payloads)]
        for k, at, t, kind, incident_id, unit_id, payload in zip(
                range(start, end), log.at[start:end], log.ts[start:end].tolist(), log.kinds[start:end],
                log.incident_ids[start:end].tolist(), log.unit_ids[start:end].tolist(), payloads):
            if t >= next_cp:
                cp_at, cp_id = float(np.floor(t / EVERY_S) * EVERY_S), int(log.ids[k - 1]) if k else last_id
                # (done + k: everything folded so far happened before this whole hour)
                if done + k:
                    crossings.append((cp_at, cp_id))
                if done + k and worth_taking(cp_at, cp_id, have, newest):
                    if by_incident is None:
                        by_incident = _Grouped(log.incident_ids)
                    last = _last_events(by_incident, log, k, open_ids, last_of, recent)
                    taken.append(take(cp_at, cp_id, done + k, incidents, states, last, open_ids, units))
                    have.add((cp_at, cp_id))
                next_cp = float((np.floor(t / EVERY_S) + 1) * EVERY_S)
            if incident_id:  # (0: none)
                if kind == received or kind == imported:
                    state = states[incident_id] = shared_state(created_incident(
                        kind, incident_id, at, seats[k], operators[k], payload))
                    track = incidents[incident_id] = _IncidentTrack(received=t)
                    track.times.append(t)
                    track.views.append(incident_view(state))
                    if kind == received:  # an imported call is history: closed from the start
                        open_ids.add(incident_id)
                else:
                    folding = get_state(incident_id)
                    if folding is not None and evolve_incident(folding, kind, at, unit_id or None, payload,
                                                               assignment):
                        track = incidents[incident_id]
                        view = new(view_cls)
                        set_dict(view, "__dict__", folding.copy())
                        times = track.times
                        if times[-1] == t:  # same instant: only the last state is ever seen
                            track.views[-1] = view
                        else:
                            times.append(t)
                            track.views.append(view)
                        if kind == closed:
                            open_ids.discard(incident_id)
                        elif kind == reopened:
                            open_ids.add(incident_id)
                            any_reopened = True
            if unit_id:
                u = get_unit(unit_id)
                if u is not None:
                    ustates = u.states
                    if ustates:
                        current = ustates[-1]
                    else:
                        first = initial_unit_status(kind, payload)
                        if first is not None:
                            u.initial = (first, None, None)
                        current = u.initial
                    nxt = evolve_unit(current, kind, at, incident_id or None, payload)
                    if nxt is not None:
                        u.times.append(t)
                        ustates.append(nxt)
    return _Folded(incidents, states, taken, any_reopened, crossings)


def _last_events(grouped: _Grouped | None, log: LogColumns, k: int, open_ids: set[int],
                 last_of: dict[int, tuple], recent: Sequence[tuple[int, int, list[dict]]] = ()) -> dict[int, tuple]:
    """Each open incident's last event folded before position k: from the log, or (none
    folded since the checkpoint it was restored from, or seeded) the one recorded then.
    `recent`: chunks of payloads already decoded (start, end, dicts), used rather than
    decoding those payloads again (most open incidents' last events are that recent)."""
    if grouped is None or not open_ids:
        return {}
    ids = sorted(open_ids)
    found = grouped.last_before(np.array(ids, dtype=np.int64), k).tolist()
    out = {}
    for i, p in zip(ids, found):
        if p < 0:
            out[i] = last_of[i]
            continue
        for start, end, dicts in recent:
            if start <= p < end:
                out[i] = log.event(p, dicts[p - start])
                break
        else:
            out[i] = log.event(p)
    return out


def _seed_closed(seed: Sequence[tuple], incidents: dict[int, _IncidentTrack], states: dict[int, dict],
                 last_of: dict[int, tuple]) -> None:
    """Fold the incidents' own events (units are in the checkpoint already) up to the
    checkpoint: each ends closed there, and is not open."""
    for e in seed:
        _eid, at, kind, incident_id, unit_id, _seat, _op, payload = e
        t = _ts(at)
        if kind == ev.CALL_RECEIVED or kind == ev.CALL_IMPORTED:
            states[incident_id] = shared_state(created_incident(kind, incident_id, at, e[5], e[6], payload))
            incidents[incident_id] = _IncidentTrack(received=t)
            changed = True
        elif incident_id in states:
            changed = evolve_incident(states[incident_id], kind, at, unit_id, payload, AssignmentView)
        else:
            continue
        track = incidents[incident_id]
        if changed:
            if track.times and track.times[-1] == t:  # same instant: only the last state is seen
                track.views[-1] = incident_view(states[incident_id])
            else:
                track.times.append(t)
                track.views.append(incident_view(states[incident_id]))
        track.seeded += (e,)
        last_of[incident_id] = e


def _drop_closed_before(incidents: dict[int, _IncidentTrack], states: dict[int, dict], since: datetime,
                        lazy: LazyRows | None = None) -> None:
    """Forget the incidents last closed before `since`: no instant of the period shows
    them, and a period loaded from a checkpoint does not hold them either; a period
    folded from the log's start (no checkpoint before it yet) then holds the period's
    incidents, not every incident of the log (a live centre's: months of them). Those
    last changed in fold segments (`lazy`) are judged by their last row."""
    for iid in [i for i, st in states.items() if st["closed_at"] is not None and as_utc(st["closed_at"]) < since]:
        del incidents[iid], states[iid]
    if lazy is not None:
        limit = _ts(since)  # (one received from `since` on cannot be closed before it)
        ids = [i for i, tr in incidents.items()
               if tr.received < limit and i not in states and type(tr.views[-1]) is int]
        closed = lazy.closed_at([incidents[i].views[-1] for i in ids])
        for iid, c in zip(ids, closed):
            if c < limit:
                del incidents[iid]


def _unit_static(r: Any) -> dict:
    """The static attributes of a unit from its row (a UnitRow or a row of its table)."""
    return {"callsign": r.callsign, "kind": UnitKind(r.kind), "home_lon": r.home_lon,
            "home_lat": r.home_lat, "station": r.station,
            "duty": tuple(DutyWindow.parse(w) for w in (r.duty or [])), "leader": r.leader,
            "phone": r.phone, "members": r.members, "lon": r.lon, "lat": r.lat,
            "position_at": as_utc(r.position_at) if r.position_at else None,
            "status": UnitStatus(r.status), "status_since": as_utc(r.status_since),
            "terminal": r.terminal, "position_source": r.position_source}


def _attach_positions(units: dict[int, _UnitTrack], positions: PositionColumns) -> None:
    """Each unit's run of the fixes (sorted by unit, then time) as its track's arrays."""
    n = len(positions)
    if not n:
        return
    uids = positions.unit_ids
    starts = [0, *(np.flatnonzero(uids[1:] != uids[:-1]) + 1).tolist()]
    ends = starts[1:] + [n]
    for start, end, uid in zip(starts, ends, uids[starts].tolist()):
        track = units.get(uid)
        if track is None:
            continue
        track.pos_at = positions.at[start:end]
        track.pos_t = positions.ts[start:end]
        track.pos_lon = positions.lon[start:end]
        track.pos_lat = positions.lat[start:end]


STEP_EVENTS = 200_000  # events per slice of a catch-up (about a busy day; then to the block's end)


def catch_up(session: Session, store: CheckpointStore, upto: float, step_events: int | None = None,
             to_the_end: bool = False) -> tuple[int, Checkpoint | None]:
    """Bring the checkpoints up to epoch second `upto`, a slice of `step_events` events at
    a time (on to the end of the six-hour block its last event is in, checkpoints.BLOCK_S),
    each slice folded from the checkpoint before it, its checkpoints and fold segments
    (replay.segments) written, then dropped: memory is a slice's, never the log's. Stops when
    at most `step_events` events lie between the latest valid checkpoint and `upto` (a
    load then folds them itself), or, `to_the_end`, after folding those too (the
    `checkpoints` command). Returns the slices folded and the latest valid checkpoint at
    or before `upto` (verified once: what a load resumes from).

    A live centre's log is months long and the first period it replays (or the first
    after the cache was cleared) would otherwise fold all of it in one go: minutes, and
    gigabytes held until the end."""
    step = step_events or STEP_EVENTS
    slices = 0
    cp = store.latest_valid(session, upto)
    top = session.scalar(select(func.max(EventRow.id))) or 0
    while True:
        after = cp.event_id if cp is not None else 0
        if top - after < step and not to_the_end:  # (fewer ids than a slice: no OFFSET walk over them)
            return slices, cp
        later = select(EventRow.occurred_at).where(EventRow.id > after).order_by(EventRow.id)
        row = session.execute(later.offset(step - 1).limit(1)).first()
        if row is not None and _ts(as_utc(row[0])) < upto:
            # on to the first event of the next block of six hours (checkpoints.BLOCK_S): its
            # checkpoint, kept for good, is where the next slice resumes and where the fold
            # segments of this one end (a block busier than a slice, or a silent stretch of
            # days, is one slice)
            block = as_utc(datetime.fromtimestamp((np.floor(_ts(as_utc(row[0])) / BLOCK_S) + 1) * BLOCK_S,
                                                  timezone.utc))
            crossing = session.execute(later.where(EventRow.occurred_at >= block).limit(1)).first()
            end: datetime | None = as_utc(crossing[0]) if crossing is not None else as_utc(row[0])
            last = end is not None and _ts(end) >= upto  # (all before `upto` in the hour it ends in)
        elif to_the_end and session.execute(later.limit(1)).first() is not None:
            end, last = None, True  # the rest of the log, at most a slice
        else:
            return slices, cp
        if last and not to_the_end:
            return slices, cp
        log, positions = _read(session, None, end, after, positions=False)
        seed = read_reopened_before(session, after, end, set(cp.incidents)) if cp is not None else []
        slice_units = _units(session)
        folded = _fold(slice_units, log, cp, True, seed, store.stored())
        taken = folded.taken
        segments = _cut_segments(folded, cp, slice_units, log, store.stored(), SegmentStore(store.folder).known())
        del log, folded, slice_units
        _save(session, store, taken, segments)
        slices += 1
        newest = store.latest_valid(session, upto)
        if last or newest is None or (cp is not None and newest.event_id <= cp.event_id):
            return slices, newest  # (nothing newer written: a read-only cache folder; a load folds it all)
        cp = newest


def _units(session: Session) -> dict[int, _UnitTrack]:
    """Every unit's track, empty (rows, not ORM objects: a tenth of the cost for thousands)."""
    return {r.id: _UnitTrack(row=_unit_static(r)) for r in session.execute(select(UnitRow.__table__))}


def _read(session: Session, since: datetime | None, until: datetime | None, after_id: int,
          positions: bool = True, deferred: bool = False) -> tuple[LogColumns, PositionColumns | PendingPositions]:
    """The events and positions to fold; `deferred` (SQLite): the positions may still be
    being read (log_read.PendingPositions)."""
    if session.get_bind().dialect.name == "sqlite":
        return read_sqlite(session, since, until, after_id, positions, deferred)
    return read_core(session, since, until, after_id, positions)


def load_index(app, since: datetime | None = None, until: datetime | None = None) -> ReplayIndex:  # noqa: ANN001
    """The replay index of an App's database (checkpoints kept in its cache folder)."""
    with app.session() as s:
        return ReplayIndex.load(s, since, until, cache=app.settings.cache_dir / "replay")


def log_end(app) -> datetime | None:  # noqa: ANN001
    """When the log's last event happened (None: no event)."""
    with app.session() as s:
        last = s.scalar(select(func.max(EventRow.occurred_at)))
    return as_utc(last) if last is not None else None


def load_recent(app, hours: float) -> ReplayIndex:  # noqa: ANN001
    """The `hours` up to the log's last event (a shift to review or replay): from the
    checkpoint before them, so it costs those hours, not the whole log (which a live
    centre's is: months)."""
    if not hours > 0:
        raise ValueError("hours must be positive")
    end = log_end(app)
    return load_index(app, since=end - timedelta(hours=hours) if end is not None else None)
