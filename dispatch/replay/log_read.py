"""Reading the log and the positions for replay, fast: the driver's cursor on SQLite
(times compared and parsed as stored text, payloads kept as the stored JSON bytes),
SQLAlchemy Core elsewhere. Events come as compact columns (LogColumns: one numpy array
or list per column, in log order: no tuple per event is kept, the few distinct kinds,
seats and operators are shared, not one string per row, and a payload stays the JSON it
was stored as until it is folded or asked for: a third of its dict's memory), read in
chunks of CHUNK rows so that the driver's rows never exist all at once;
positions as columns too (PositionColumns), sorted by unit, then time."""
from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.replay.payloads import Payloads
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, PositionRow


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CHUNK = 16384  # events fetched (and their payloads decoded for the fold) at a time
# (incident and unit ids: 0 for none; the payload as its stored bytes)
_EVENT_COLUMNS = ("id, occurred_at, kind, ifnull(incident_id, 0), ifnull(unit_id, 0), seat, operator,"
                  " CAST(payload AS BLOB)")


def _no_ids() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class LogColumns:
    """Events in log order, one column each: `ids`, `incident_ids`, `unit_ids` (0: none)
    and `ts` (occurred_at in epoch seconds) numpy arrays, the others lists; `payloads`
    as read (replay.payloads): `payload(k)` decodes one. `event(k)` is the k-th event as
    the tuple (id, occurred_at, kind, incident_id, unit_id, seat, operator, payload)."""

    ids: np.ndarray = field(default_factory=_no_ids)
    at: list[datetime] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    incident_ids: np.ndarray = field(default_factory=_no_ids)
    unit_ids: np.ndarray = field(default_factory=_no_ids)
    seats: list[str] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    payloads: Payloads = field(default_factory=Payloads)
    ts: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __len__(self) -> int:
        return len(self.ids)

    def payload(self, k: int) -> dict:
        return self.payloads.payload(k)

    def event(self, k: int) -> tuple:
        return (int(self.ids[k]), self.at[k], self.kinds[k], int(self.incident_ids[k]) or None,
                int(self.unit_ids[k]) or None, self.seats[k], self.operators[k], self.payload(k))


@dataclass(frozen=True)
class PositionColumns:
    """Recorded fixes sorted by unit, then time (then id), one sequence per column."""

    unit_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    at: list[datetime] = field(default_factory=list)
    lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    ts: np.ndarray = field(default_factory=lambda: np.empty(0))  # `at` in epoch seconds

    def __len__(self) -> int:
        return len(self.at)


_POSITION_COLUMNS = "unit_id, at, lon, lat"  # (speed and heading: replay shows neither)


def read_sqlite(session: Session, since: datetime | None, until: datetime | None,
                 after_id: int = 0) -> tuple[LogColumns, PositionColumns]:
    """The fast path on SQLite: the driver's cursor, times compared as stored text."""
    raw: Any = session.connection().connection.driver_connection
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    ev_where, pos_where = ["id > ?"], list[str]()
    ev_args: list[Any] = [after_id]
    pos_args: list[Any] = []
    if until is not None:
        ev_where.append("occurred_at <= ?")
        ev_args.append(as_utc(until).strftime(fmt))
        pos_where.append("at <= ?")
        pos_args.append(as_utc(until).strftime(fmt))
    if since is not None:
        pos_where.append("at >= ?")
        pos_args.append(as_utc(since).strftime(fmt))
    cursor = raw.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(ev_where)} ORDER BY id",
                         ev_args)
    log = _events_in_chunks(iter(lambda: cursor.fetchmany(CHUNK), []))
    pw = (" WHERE " + " AND ".join(pos_where)) if pos_where else ""
    prows = raw.execute(f"SELECT {_POSITION_COLUMNS} FROM positions{pw} ORDER BY unit_id, at, id",
                        pos_args).fetchall()
    if since is not None:  # each unit's last fix before the period: where it stood at `since`
        cols = ", ".join("p." + c.strip() for c in _POSITION_COLUMNS.split(","))
        before = raw.execute(
            f"SELECT {cols} FROM positions p JOIN (SELECT unit_id, max(at) AS m FROM positions"
            " WHERE at < ? GROUP BY unit_id) q ON p.unit_id = q.unit_id AND p.at = q.m"
            " ORDER BY p.unit_id, p.id", [as_utc(since).strftime(fmt)]).fetchall()
        prows = _merge_positions(before, prows)
    return log, _positions(prows)


def _core_events(after_id: int) -> Any:
    return select(EventRow.id, EventRow.occurred_at, EventRow.kind, func.coalesce(EventRow.incident_id, 0),
                  func.coalesce(EventRow.unit_id, 0), EventRow.seat, EventRow.operator,
                  EventRow.payload).where(EventRow.id > after_id)


def read_core(session: Session, since: datetime | None, until: datetime | None,
               after_id: int = 0) -> tuple[LogColumns, PositionColumns]:
    """Any other database (PostgreSQL) through SQLAlchemy Core."""
    conn = session.connection()
    evq = _core_events(after_id)
    cols = (PositionRow.unit_id, PositionRow.at, PositionRow.lon, PositionRow.lat)
    posq = select(*cols)
    if until is not None:
        evq, posq = evq.where(EventRow.occurred_at <= until), posq.where(PositionRow.at <= until)
    if since is not None:
        posq = posq.where(PositionRow.at >= since)
    result = conn.execute(evq.order_by(EventRow.id))
    log = _events_in_chunks(iter(lambda: result.fetchmany(CHUNK), []))
    prows = conn.execute(posq.order_by(PositionRow.unit_id, PositionRow.at, PositionRow.id)).all()
    if since is not None:
        last = (select(PositionRow.unit_id.label("u"), func.max(PositionRow.at).label("m"))
                .where(PositionRow.at < since).group_by(PositionRow.unit_id).subquery())
        beforeq = (select(*cols).join(last, (PositionRow.unit_id == last.c.u) & (PositionRow.at == last.c.m))
                   .order_by(PositionRow.unit_id, PositionRow.id))
        prows = _merge_positions(conn.execute(beforeq).all(), prows)
    return log, _positions(prows)


def read_reopened_before(session: Session, after_id: int, until: datetime | None, known: set[int]) -> list[tuple]:
    """The events up to `after_id` of the incidents reopened after it (by `until`) that are
    not in `known`: closed before a checkpoint, they are not in it, yet shown again once
    reopened. A few rows, read through SQLAlchemy Core on any database."""
    from dispatch.domain.events import INCIDENT_REOPENED

    conn = session.connection()
    q = select(EventRow.incident_id).where(EventRow.id > after_id, EventRow.kind == INCIDENT_REOPENED)
    if until is not None:
        q = q.where(EventRow.occurred_at <= until)
    ids = sorted({i for i in conn.execute(q.distinct()).scalars() if i is not None and i not in known})
    if not ids:
        return []
    rows = conn.execute(_core_events(0).where(EventRow.incident_id.in_(ids), EventRow.id <= after_id)
                        .order_by(EventRow.id)).all()
    log = _events(rows)
    return [log.event(k) for k in range(len(log))]


def _merge_positions(before: Sequence, rows: Sequence) -> list:
    """Two lists of position rows sorted by (unit, time), all of `before` earlier per unit."""
    if not before:
        return list(rows)
    merged = list(before) + list(rows)
    merged.sort(key=lambda r: r[0])  # stable: per unit, `before` (earlier) stays first
    return merged


def _events(rows: Sequence) -> LogColumns:
    """Rows (id, occurred_at, kind, incident id or 0, unit id or 0, seat, operator,
    payload) as columns."""
    return _events_in_chunks([rows] if rows else [])


class _Columns:
    """Chunks of events made columns as they come, joined at the end."""

    def __init__(self) -> None:
        self.arrays: list[tuple] = []
        self.at: list[datetime] = []
        self.kinds: list[str] = []
        self.seats: list[str] = []
        self.operators: list[str] = []
        self.payloads = Payloads()

    def add_rows(self, rows: Sequence) -> None:
        """Rows (id, occurred_at, kind, incident id or 0, unit id or 0, seat, operator, payload)."""
        ids, moments, kinds, incs, units, seats, ops, raw = zip(*rows)
        n = len(ids)
        when = _datetimes(moments)
        self.arrays.append((np.fromiter(ids, np.int64, n), np.fromiter(incs, np.int64, n),
                            np.fromiter(units, np.int64, n), _seconds(moments, when)))
        self.at += when
        self.kinds += _shared(kinds)
        self.seats += _shared(seats)
        self.operators += _shared(ops)
        self.payloads.add(raw)

    def columns(self) -> LogColumns:
        if not self.arrays:
            return LogColumns()
        ids, incs, units, ts = (np.concatenate(c) for c in zip(*self.arrays))
        return LogColumns(ids, self.at, self.kinds, incs, units, self.seats, self.operators, self.payloads, ts)


def _events_in_chunks(chunks: Iterable[Sequence]) -> LogColumns:
    """Chunks of rows (id, occurred_at, kind, incident id or 0, unit id or 0, seat,
    operator, payload), made columns as they come."""
    out = _Columns()
    for rows in chunks:
        out.add_rows(rows)
    return out.columns()


def _shared(values: Sequence[str]) -> list[str]:
    """One string object per distinct value (a driver makes one per row)."""
    return list(map(sys.intern, values))


def _positions(rows: Sequence) -> PositionColumns:
    if not rows:
        return PositionColumns()
    units, at, lon, lat = zip(*rows)
    moments = _datetimes(at)
    return PositionColumns(np.array(units, dtype=np.int64), moments, np.array(lon, dtype=float),
                           np.array(lat, dtype=float), _seconds(at, moments))


def _seconds(raw: Sequence, moments: list[datetime]) -> np.ndarray:
    """Epoch seconds of each time, equal to (t - epoch).total_seconds(): from SQLite's text
    in one vectorised parse (microseconds are exact in int64, and one division rounds as
    total_seconds does)."""
    if raw and isinstance(raw[0], str):
        return np.array(raw, dtype="datetime64[us]").astype(np.int64) / 1e6
    return np.array([(m - _EPOCH).total_seconds() for m in moments], dtype=np.float64)


def _datetimes(raw: Sequence) -> list[datetime]:
    """UTC datetimes: SQLite hands back text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC as the
    store writes it), PostgreSQL aware datetimes."""
    if raw and isinstance(raw[0], str):
        parse = datetime.fromisoformat
        return [parse(v + "+00:00") for v in raw]
    return [as_utc(v) for v in raw]
