"""State at any instant from the log: the events are read once and indexed per incident
and per unit by time, so the state at t is a binary search per incident/unit, never a
re-read of the log. The state uses the live screens' types (IncidentView, UnitSnapshot).

Unit positions come from the append-only `positions` table and are interpolated
linearly between two recorded fixes (unless they are more than `max_gap_s` apart:
then the unit stays at its last fix, as a parked unit does).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import gc
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus
from dispatch.replay.unit_table import UnitTable
from dispatch.replay.fold import apply_incident, apply_unit, incident_view, initial_unit_status, new_incident
from dispatch.services.queries import IncidentView
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, PositionRow, UnitRow

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ts(value: datetime) -> float:
    return (value - _EPOCH).total_seconds()


@dataclass
class _IncidentTrack:
    """The states of one incident after each of its events (times ascending)."""

    times: list[float] = field(default_factory=list)
    views: list = field(default_factory=list)  # state dicts, IncidentView once asked for
    events: list[tuple] = field(default_factory=list)  # raw event tuples (see build)


@dataclass
class _UnitTrack:
    row: dict                                   # static attributes from the units table
    initial: tuple = (UnitStatus.AVAILABLE, None, None)
    times: list[float] = field(default_factory=list)
    states: list[tuple] = field(default_factory=list)  # (status, since, incident_id)
    events: list[tuple] = field(default_factory=list)
    pos_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    pos_at: list[datetime] = field(default_factory=list)
    pos_speed: list = field(default_factory=list)
    pos_heading: list = field(default_factory=list)


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
                 max_gap_s: float = 300.0) -> None:
        self._units = units
        self._unit_ids = sorted(units)
        self._incidents = incidents
        self.max_gap_s = max_gap_s
        ids = sorted(incidents)
        self._inc_ids = np.array(ids, dtype=np.int64)
        self._recv = np.array([incidents[i].times[0] for i in ids], dtype=float)
        closes = []
        for i in ids:
            last = incidents[i].views[-1]
            closes.append(_ts(last["closed_at"]) if last["closed_at"] is not None else np.inf)
        self._close = np.array(closes, dtype=float)
        order = np.lexsort((self._inc_ids, self._recv))  # oldest first, like open_incidents
        self._inc_ids, self._recv, self._close = self._inc_ids[order], self._recv[order], self._close[order]
        times = [t.times[0] for t in incidents.values()] + [t.times[-1] for t in incidents.values()]
        times += [u.times[0] for u in units.values() if u.times]
        times += [u.times[-1] for u in units.values() if u.times]
        times += [float(u.pos_t[0]) for u in units.values() if len(u.pos_t)]
        times += [float(u.pos_t[-1]) for u in units.values() if len(u.pos_t)]
        self.start = datetime.fromtimestamp(min(times), timezone.utc) if times else None
        self.end = datetime.fromtimestamp(max(times), timezone.utc) if times else None
        self.event_count = sum(len(t.events) for t in incidents.values()) + sum(
            1 for u in units.values() for e in u.events if e[3] is None)
        self.position_count = sum(len(u.pos_t) for u in units.values())
        self._table = UnitTable(self._unit_ids, units, min(times, default=0.0), max(times, default=0.0),
                                max_gap_s)

    # ---- building ----------------------------------------------------------------------
    @classmethod
    def load(cls, session: Session, since: datetime | None = None, until: datetime | None = None,
             max_gap_s: float = 300.0) -> "ReplayIndex":
        """Read the log (optionally up to `until`) and the positions, and index them.
        Positions before `since` are skipped (incidents are always kept whole)."""
        gc_was = gc.isenabled()
        gc.disable()  # hundreds of thousands of small objects: no cyclic GC passes meanwhile
        try:
            units = {r.id: _UnitTrack(row=_unit_static(r)) for r in session.scalars(select(UnitRow))}
            if session.get_bind().dialect.name == "sqlite":
                events, positions = _read_sqlite(session, since, until)
            else:
                events, positions = _read_core(session, since, until)
            index = cls.build(units, events, positions, max_gap_s)
        finally:
            if gc_was:
                gc.enable()
        # The index is long-lived and large: keep it out of the collector's full passes,
        # which would otherwise stall scrubbing now and then (refcounting still frees it).
        gc.freeze()
        return index

    @classmethod
    def build(cls, units: dict[int, _UnitTrack], events: list[tuple], positions: list,
              max_gap_s: float = 300.0) -> "ReplayIndex":
        """Index `events`: tuples (id, occurred_at, kind, incident_id, unit_id, seat,
        operator, payload) in log order."""
        incidents: dict[int, _IncidentTrack] = {}
        states: dict[int, dict] = {}
        last_of: dict[int, tuple] = {}
        dispatched = ev.UNIT_DISPATCHED
        for e in events:
            eid, at, kind, incident_id, unit_id, _seat, _op, payload = e
            t = (at - _EPOCH).total_seconds()
            if incident_id is not None:
                if kind == ev.CALL_RECEIVED:
                    state = states[incident_id] = new_incident(incident_id, at, e[5], e[6], payload)
                    track = incidents[incident_id] = _IncidentTrack()
                    track.times.append(t)
                    track.views.append(state.copy())
                    track.events.append(e)
                    last_of[incident_id] = e
                elif incident_id in states:
                    prev = last_of[incident_id]
                    same_tx = (kind == dispatched and prev[2] == dispatched
                               and prev[0] == eid - 1 and prev[1] == at)
                    track = incidents[incident_id]
                    track.events.append(e)
                    if apply_incident(states[incident_id], kind, at, unit_id, payload, same_tx):
                        if track.times[-1] == t:  # same instant: only the last state is ever seen
                            track.views[-1] = states[incident_id].copy()
                        else:
                            track.times.append(t)
                            track.views.append(states[incident_id].copy())
                    last_of[incident_id] = e
            if unit_id is not None and unit_id in units:
                u = units[unit_id]
                if not u.states:
                    first = initial_unit_status(kind, payload)
                    if first is not None:
                        u.initial = (first, None, None)
                current = u.states[-1] if u.states else u.initial
                nxt = apply_unit(current, kind, at, incident_id, payload)
                u.events.append(e)
                if nxt is not None:
                    u.times.append(t)
                    u.states.append(nxt)
        _attach_positions(units, positions)
        return cls(units, incidents, max_gap_s)

    # ---- queries -----------------------------------------------------------------------
    def state_at(self, at: datetime, interpolate: bool = True) -> ReplayState:
        """Open incidents and all units as they were at `at` (events at `at` included)."""
        te = _ts(as_utc(at))
        k = int(np.searchsorted(self._recv, te, side="right"))
        open_idx = np.nonzero(self._close[:k] > te)[0]
        incidents = [self._incident_state(int(self._inc_ids[i]), te) for i in open_idx]
        units = self._table.snapshots(te, interpolate)
        return ReplayState(as_utc(at), incidents, units)

    def incident_at(self, incident_id: int, at: datetime) -> IncidentView | None:
        """One incident at `at` (None before its call was received, or unknown)."""
        if incident_id not in self._incidents:
            return None
        return self._incident_state(incident_id, _ts(as_utc(at)))

    def unit_at(self, unit_id: int, at: datetime, interpolate: bool = True) -> UnitSnapshot:
        return self._unit_state(unit_id, _ts(as_utc(at)), interpolate)

    def incident_events(self, incident_id: int) -> list[Event]:
        """Every event of one incident, in log order (for its timeline)."""
        track = self._incidents.get(incident_id)
        return [Event(*e) for e in track.events] if track else []

    def unit_events(self, unit_id: int) -> list[Event]:
        track = self._units.get(unit_id)
        return [Event(*e) for e in track.events] if track else []

    def final_incidents(self) -> list[IncidentView]:
        """Every incident in its last known state (for statistics and timelines)."""
        return [self._view(self._incidents[i], -1) for i in sorted(self._incidents)]

    def unit_ids(self) -> list[int]:
        return list(self._unit_ids)

    def unit_static(self, unit_id: int) -> dict:
        return dict(self._units[unit_id].row)

    def unit_status_spans(self, unit_id: int) -> list[tuple[datetime | None, UnitStatus, int | None]]:
        """(since, status, incident_id) for each status the unit went through; the
        first span starts at None (before the period)."""
        u = self._units[unit_id]
        return [(None, u.initial[0], u.initial[2])] + [(s[1], s[0], s[2]) for s in u.states]

    def _incident_state(self, incident_id: int, te: float) -> IncidentView | None:
        track = self._incidents[incident_id]
        k = bisect_right(track.times, te)
        return self._view(track, k - 1) if k else None

    @staticmethod
    def _view(track: _IncidentTrack, k: int) -> IncidentView:
        """States are kept as dicts (cheap to copy while loading) and turned into
        IncidentViews the first time they are asked for."""
        v = track.views[k]
        if type(v) is dict:
            v = track.views[k] = incident_view(v)
        return v

    def _unit_state(self, unit_id: int, te: float, interpolate: bool) -> UnitSnapshot:
        u = self._units[unit_id]
        k = bisect_right(u.times, te)
        status, since, incident_id = u.states[k - 1] if k else u.initial
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


_EVENT_COLUMNS = "id, occurred_at, kind, incident_id, unit_id, seat, operator, payload"
_POSITION_COLUMNS = "unit_id, at, lon, lat, speed, heading"


def _read_sqlite(session: Session, since: datetime | None, until: datetime | None) -> tuple[list, list]:
    """The fast path on SQLite: the driver's cursor, times compared as stored text."""
    raw = session.connection().connection.driver_connection
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    ev_where, pos_where, ev_args, pos_args = "", [], [], []
    if until is not None:
        ev_where = " WHERE occurred_at <= ?"
        ev_args.append(as_utc(until).strftime(fmt))
        pos_where.append("at <= ?")
        pos_args.append(as_utc(until).strftime(fmt))
    if since is not None:
        pos_where.append("at >= ?")
        pos_args.append(as_utc(since).strftime(fmt))
    rows = raw.execute(f"SELECT {_EVENT_COLUMNS} FROM events{ev_where} ORDER BY id", ev_args).fetchall()
    pw = (" WHERE " + " AND ".join(pos_where)) if pos_where else ""
    prows = raw.execute(f"SELECT {_POSITION_COLUMNS} FROM positions{pw} ORDER BY unit_id, at, id",
                        pos_args).fetchall()
    return _events(rows), _positions(prows)


def _read_core(session: Session, since: datetime | None, until: datetime | None) -> tuple[list, list]:
    """Any other database (PostgreSQL) through SQLAlchemy Core."""
    conn = session.connection()
    evq = select(EventRow.id, EventRow.occurred_at, EventRow.kind, EventRow.incident_id,
                 EventRow.unit_id, EventRow.seat, EventRow.operator, EventRow.payload)
    posq = select(PositionRow.unit_id, PositionRow.at, PositionRow.lon, PositionRow.lat,
                  PositionRow.speed, PositionRow.heading)
    if until is not None:
        evq, posq = evq.where(EventRow.occurred_at <= until), posq.where(PositionRow.at <= until)
    if since is not None:
        posq = posq.where(PositionRow.at >= since)
    rows = conn.execute(evq.order_by(EventRow.id)).all()
    prows = conn.execute(posq.order_by(PositionRow.unit_id, PositionRow.at, PositionRow.id)).all()
    return _events(rows), _positions(prows)


def _events(rows: list) -> list[tuple]:
    if not rows:
        return []
    ids, at, kinds, incs, units, seats, ops, payloads = zip(*rows)
    return list(zip(ids, _datetimes(at), kinds, incs, units, seats, ops, _payloads(payloads)))


def _positions(rows: list) -> list[tuple]:
    if not rows:
        return []
    units, at, lon, lat, speed, heading = zip(*rows)
    return list(zip(units, _datetimes(at), lon, lat, speed, heading))


def _payloads(raw: list) -> list[dict]:
    """JSON payloads: SQLite hands back text (decoded in one go), PostgreSQL dicts."""
    if raw and all(isinstance(p, str) for p in raw):
        return [p or {} for p in json.loads("[" + ",".join(raw) + "]")]
    return [json.loads(p) if isinstance(p, str) else (p or {}) for p in raw]


def _datetimes(raw) -> list[datetime]:  # noqa: ANN001
    """UTC datetimes: SQLite hands back text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC as the
    store writes it), PostgreSQL aware datetimes."""
    if raw and isinstance(raw[0], str):
        parse = datetime.fromisoformat
        return [parse(v + "+00:00") for v in raw]
    return [as_utc(v) for v in raw]


def _unit_static(r: UnitRow) -> dict:
    return {"callsign": r.callsign, "kind": UnitKind(r.kind), "home_lon": r.home_lon,
            "home_lat": r.home_lat, "station": r.station,
            "duty": tuple(DutyWindow.parse(w) for w in (r.duty or [])), "leader": r.leader,
            "phone": r.phone, "members": r.members, "lon": r.lon, "lat": r.lat,
            "position_at": as_utc(r.position_at) if r.position_at else None,
            "status": UnitStatus(r.status), "status_since": as_utc(r.status_since),
            "terminal": r.terminal, "position_source": r.position_source}


def _attach_positions(units: dict[int, _UnitTrack], positions: list) -> None:
    """positions: rows (unit_id, at, lon, lat, speed, heading) sorted by unit, time."""
    if not positions:
        return
    start = 0
    n = len(positions)
    while start < n:
        uid = positions[start][0]
        end = start
        while end < n and positions[end][0] == uid:
            end += 1
        chunk = positions[start:end]
        start = end
        track = units.get(uid)
        if track is None:
            continue
        track.pos_at = [r[1] for r in chunk]
        track.pos_t = np.array([_ts(a) for a in track.pos_at], dtype=float)
        track.pos_lon = np.array([r[2] for r in chunk], dtype=float)
        track.pos_lat = np.array([r[3] for r in chunk], dtype=float)
        track.pos_speed = [r[4] for r in chunk]
        track.pos_heading = [r[5] for r in chunk]


def load_index(app, since: datetime | None = None, until: datetime | None = None) -> ReplayIndex:  # noqa: ANN001
    """The replay index of an App's database."""
    with app.session() as s:
        return ReplayIndex.load(s, since, until)
