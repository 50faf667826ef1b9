"""Reading the log and the positions for replay, fast: the driver's cursor on SQLite
(times compared and parsed as stored text, payloads decoded in one go), SQLAlchemy Core
elsewhere. Events come as columns (LogColumns: id, occurred_at, kind, incident_id,
unit_id, seat, operator, payload, each a sequence in log order: no tuple per event is
built, and the few distinct kinds, seats and operators are shared, not one string per
row); positions as columns too (PositionColumns), sorted by unit, then time."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.store.eventlog import as_utc

try:
    from orjson import JSONDecodeError as _JSONError, loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; json decodes the same, slower
    _loads, _JSONError = json.loads, ValueError  # type: ignore[assignment,misc]
from dispatch.store.schema import EventRow, PositionRow


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EVENT_COLUMNS = "id, occurred_at, kind, incident_id, unit_id, seat, operator, payload"


@dataclass(frozen=True)
class LogColumns:
    """Events in log order, one sequence per column; `event(k)` is the k-th as the tuple
    (id, occurred_at, kind, incident_id, unit_id, seat, operator, payload)."""

    ids: Sequence[int] = ()
    at: Sequence[datetime] = ()
    kinds: Sequence[str] = ()
    incident_ids: Sequence[int | None] = ()
    unit_ids: Sequence[int | None] = ()
    seats: Sequence[str] = ()
    operators: Sequence[str] = ()
    payloads: Sequence[dict] = ()
    ts: Sequence[float] = ()  # occurred_at in epoch seconds

    def __len__(self) -> int:
        return len(self.ids)

    def event(self, k: int) -> tuple:
        return (self.ids[k], self.at[k], self.kinds[k], self.incident_ids[k], self.unit_ids[k],
                self.seats[k], self.operators[k], self.payloads[k])


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
    rows = raw.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(ev_where)} ORDER BY id",
                       ev_args).fetchall()
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
    return _events(rows), _positions(prows)


def read_core(session: Session, since: datetime | None, until: datetime | None,
               after_id: int = 0) -> tuple[LogColumns, PositionColumns]:
    """Any other database (PostgreSQL) through SQLAlchemy Core."""
    conn = session.connection()
    evq = select(EventRow.id, EventRow.occurred_at, EventRow.kind, EventRow.incident_id,
                 EventRow.unit_id, EventRow.seat, EventRow.operator, EventRow.payload).where(EventRow.id > after_id)
    cols = (PositionRow.unit_id, PositionRow.at, PositionRow.lon, PositionRow.lat)
    posq = select(*cols)
    if until is not None:
        evq, posq = evq.where(EventRow.occurred_at <= until), posq.where(PositionRow.at <= until)
    if since is not None:
        posq = posq.where(PositionRow.at >= since)
    rows = conn.execute(evq.order_by(EventRow.id)).all()
    prows = conn.execute(posq.order_by(PositionRow.unit_id, PositionRow.at, PositionRow.id)).all()
    if since is not None:
        last = (select(PositionRow.unit_id.label("u"), func.max(PositionRow.at).label("m"))
                .where(PositionRow.at < since).group_by(PositionRow.unit_id).subquery())
        beforeq = (select(*cols).join(last, (PositionRow.unit_id == last.c.u) & (PositionRow.at == last.c.m))
                   .order_by(PositionRow.unit_id, PositionRow.id))
        prows = _merge_positions(conn.execute(beforeq).all(), prows)
    return _events(rows), _positions(prows)


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
    rows = conn.execute(select(EventRow.id, EventRow.occurred_at, EventRow.kind, EventRow.incident_id,
                               EventRow.unit_id, EventRow.seat, EventRow.operator, EventRow.payload)
                        .where(EventRow.incident_id.in_(ids), EventRow.id <= after_id)
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
    if not rows:
        return LogColumns()
    ids, at, kinds, incs, units, seats, ops, payloads = zip(*rows)
    moments = _datetimes(at)
    return LogColumns(ids, moments, _shared(kinds), incs, units, _shared(seats), _shared(ops),
                      _payloads(payloads), _seconds(at, moments))


def _shared(values: Sequence[str]) -> list[str]:
    """One string object per distinct value (a driver makes one per row)."""
    return list(map(sys.intern, values))


def _positions(rows: Sequence) -> PositionColumns:
    if not rows:
        return PositionColumns()
    units, at, lon, lat = zip(*rows)
    moments = _datetimes(at)
    return PositionColumns(np.array(units, dtype=np.int64), moments, np.array(lon, dtype=float),
                           np.array(lat, dtype=float), np.array(_seconds(at, moments), dtype=float))


def _payloads(raw: Sequence) -> list[dict]:
    """JSON payloads: SQLite hands back text, PostgreSQL dicts. Text is decoded by orjson
    (about half the CPU of json's); anything it refuses (a dict already, NaN, which
    json.dumps may write) goes through `_payload`. (orjson reads an integer beyond 64 bits
    as a float: no payload holds one, external ids are strings.)"""
    try:
        return [p or {} for p in map(_loads, raw)]
    except (_JSONError, TypeError):
        return [_payload(p) for p in raw]


def _payload(p: Any) -> dict:
    if not isinstance(p, str):
        return p or {}
    try:
        return _loads(p) or {}
    except _JSONError:
        return json.loads(p) or {}


def _seconds(raw: Sequence, moments: list[datetime]) -> list[float]:
    """Epoch seconds of each time, equal to (t - epoch).total_seconds(): from SQLite's text
    in one vectorised parse (microseconds are exact in int64, and one division rounds as
    total_seconds does)."""
    if raw and isinstance(raw[0], str):
        return (np.array(raw, dtype="datetime64[us]").astype(np.int64) / 1e6).tolist()
    return [(m - _EPOCH).total_seconds() for m in moments]


def _datetimes(raw: Sequence) -> list[datetime]:
    """UTC datetimes: SQLite hands back text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC as the
    store writes it), PostgreSQL aware datetimes."""
    if raw and isinstance(raw[0], str):
        parse = datetime.fromisoformat
        return [parse(v + "+00:00") for v in raw]
    return [as_utc(v) for v in raw]
