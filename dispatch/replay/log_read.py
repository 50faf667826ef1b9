"""Reading the log and the positions for replay, fast: on SQLite one aggregated row per
chunk of events (_events_aggregated: each column of up to CHUNK events as one value, so
no row per event crosses into Python; times compared and parsed as stored text, payloads
kept as the stored JSON bytes), SQLAlchemy Core elsewhere. Events come as compact
columns (LogColumns: one numpy array or list per column, in log order: no tuple per
event is kept, the few distinct kinds, seats and operators are shared, not one string
per row, and a payload stays the JSON it was stored as until it is folded or asked for:
a third of its dict's memory), made a chunk at a time; positions as columns too
(PositionColumns), sorted by unit, then time."""
from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dispatch.read_ahead import ReadAhead
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

    def event(self, k: int, payload: dict | None = None) -> tuple:
        """(`payload`: the k-th payload if already decoded.)"""
        return (int(self.ids[k]), self.at[k], self.kinds[k], int(self.incident_ids[k]) or None,
                int(self.unit_ids[k]) or None, self.seats[k], self.operators[k],
                self.payload(k) if payload is None else payload)


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


class PendingPositions:
    """The positions read_sqlite's worker thread is still reading and sorting while the
    caller folds the events (their statements run without the GIL: on a second core).
    `result()` waits for them; `close()` (done by `result()` too) ends the worker. The
    caller does not use the connection before either."""

    def __init__(self, fetched: _Prefetch | _PositionsApart) -> None:
        self._fetched: _Prefetch | _PositionsApart | None = fetched
        self._value: PositionColumns | None = None

    def result(self) -> PositionColumns:
        if self._value is None:
            fetched = self._fetched
            try:
                self._value = fetched.positions() if fetched is not None else PositionColumns()
            finally:
                self.close()
        return self._value

    def close(self) -> None:
        fetched, self._fetched = self._fetched, None
        if fetched is not None:
            fetched.__exit__(None, None, None)


_FMT = "%Y-%m-%d %H:%M:%S.%f"  # (how the store writes instants in SQLite)


def _sqlite_positions(raw: Any, since: datetime | None, until: datetime | None) -> PositionColumns:
    """The fixes from `since` (with each unit's last one before it) up to `until`, from
    SQLite's driver connection `raw`."""
    pos_where, pos_args = list[str](), list[Any]()
    if until is not None:
        pos_where.append("at <= ?")
        pos_args.append(as_utc(until).strftime(_FMT))
    if since is not None:
        pos_where.append("at >= ?")
        pos_args.append(as_utc(since).strftime(_FMT))
    pw = (" WHERE " + " AND ".join(pos_where)) if pos_where else ""
    # in table order, sorted here: SQLite's ORDER BY walks the (unit, at) index, a random
    # row lookup per fix (twice the time on a day's log; both read every fix's index entry
    # or row when `since` leaves out most of a long log)
    cols = _positions_aggregated(raw, pw, pos_args)
    if cols is None:  # (a range that does not line up: never seen, but then row by row)
        cols = _row_columns(raw.execute(f"SELECT {_POSITION_COLUMNS}, id FROM positions{pw}", pos_args).fetchall())
    if since is not None:  # each unit's last fix before the period: where it stood at `since`
        names = ", ".join("p." + c.strip() for c in _POSITION_COLUMNS.split(","))
        before = _row_columns(raw.execute(
            f"SELECT {names}, p.id FROM positions p JOIN (SELECT unit_id, max(at) AS m FROM positions"
            " WHERE at < ? GROUP BY unit_id) q ON p.unit_id = q.unit_id AND p.at = q.m",
            [as_utc(since).strftime(_FMT)]).fetchall())
        cols = tuple(np.concatenate([a, b]) if isinstance(a, np.ndarray) else a + b for a, b in zip(cols, before))
    return _sorted_columns(*cols)


class _PositionsApart(ReadAhead):
    """_sqlite_positions on a worker thread with a connection of its own (PendingPositions)."""

    def __init__(self, engine: Any, since: datetime | None, until: datetime | None) -> None:
        def make() -> Iterator[PositionColumns]:
            conn = engine.raw_connection()
            try:
                yield _sqlite_positions(conn.driver_connection, since, until)
            finally:
                conn.close()
        super().__init__(make, depth=1, name="replay-positions")

    def positions(self) -> PositionColumns:
        return next(self)


def read_positions_apart(session: Session, since: datetime | None,
                         until: datetime | None) -> PendingPositions | None:
    """On a SQLite database file, start reading the positions now, on a worker thread with
    a connection of its own (a file has other readers beside the session's): their
    statements run without the GIL while the caller reads fold segments and folds. None
    elsewhere (PostgreSQL reads them with the events; a memory database has one
    connection)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return PendingPositions(_PositionsApart(engine, since, until).__enter__())


def read_sqlite(session: Session, since: datetime | None, until: datetime | None,
                after_id: int = 0, positions: bool = True,
                deferred: bool = False) -> tuple[LogColumns, PositionColumns | PendingPositions]:
    """The fast path on SQLite: the driver's connection, times compared as stored text;
    the events in aggregated chunks, the positions in table order (then sorted here;
    none read with `positions` false).

    SQLite runs the statements on a worker thread (the driver lets go of the GIL while a
    statement runs) while this thread makes columns of what came before: the reading and
    the parsing overlap on two cores. The connection is used by one thread at a time: the
    worker's statements end before this function returns, or, `deferred`, before the
    returned PendingPositions' `result()` (or `close()`) returns: the positions are read
    while the caller folds the events."""
    raw: Any = session.connection().connection.driver_connection
    upto = as_utc(until).strftime(_FMT) if until is not None else None

    def position_columns() -> PositionColumns:
        return _sqlite_positions(raw, since, until) if positions else PositionColumns()

    fetched = _Prefetch(raw, after_id, upto, position_columns).__enter__()
    pending = PendingPositions(fetched)
    try:
        log = _events_aggregated(fetched.chunks())
        if log is None:  # (not in id order: never seen, but then row by row as the driver gives them)
            pending.result()  # (the connection is this thread's again)
            cursor = raw.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > ?"
                                 + (" AND occurred_at <= ?" if upto is not None else "") + " ORDER BY id",
                                 [after_id] + ([upto] if upto is not None else []))
            log = _events_in_chunks(iter(lambda: cursor.fetchmany(CHUNK), []))
    except BaseException:
        pending.close()
        raise
    return log, pending if deferred else pending.result()


# The positions of a range of ids as one row (as _EVENT_CHUNK does for events): no row per
# fix crosses into Python, and SQLite runs without the GIL all along (a row per fix takes
# it back at each step, and waits for it while the caller's thread parses). The floats are
# written with 17 significant digits: read back exactly.
_POSITION_CHUNK = (
    "SELECT count(*), group_concat(unit_id), group_concat(at), group_concat(printf('%!.17g', lon)),"
    " group_concat(printf('%!.17g', lat)), group_concat(id) FROM positions WHERE id > ? AND id <= ?{where}")


def _positions_aggregated(raw: Any, where: str, args: list) -> tuple | None:
    """The positions (the WHERE clause `where` of read_sqlite) as columns (unit ids, times
    as stored text, lon, lat, ids), a range of CHUNK ids per statement; None when a range
    does not line up (a NULL in a column)."""
    lo, top = raw.execute("SELECT min(id), max(id) FROM positions").fetchone()
    query = _POSITION_CHUNK.format(where=where.replace(" WHERE ", " AND ", 1))
    parts: list[tuple] = []
    last = lo - 1 if lo is not None else 0
    while top is not None and last < top:
        hi = last + CHUNK
        n, units_t, at_t, lon_t, lat_t, ids_t = raw.execute(query, [last, hi, *args]).fetchone()
        last = hi
        if not n:
            continue
        uid, ids = _ints(units_t, n), _ints(ids_t, n)
        at = at_t.split(",") if at_t is not None else []
        lon = np.fromstring(lon_t or "", dtype=np.float64, sep=",")
        lat = np.fromstring(lat_t or "", dtype=np.float64, sep=",")
        if uid is None or ids is None or not len(at) == len(lon) == len(lat) == n:
            return None
        parts.append((uid, at, lon, lat, ids))
    if not parts:
        return _row_columns([])
    columns = list(zip(*parts))
    return (np.concatenate(columns[0]), [t for chunk in columns[1] for t in chunk], np.concatenate(columns[2]),
            np.concatenate(columns[3]), np.concatenate(columns[4]))


def _row_columns(rows: Sequence) -> tuple:
    """Rows (unit id, at, lon, lat, id) as the columns _positions_aggregated gives."""
    if not rows:
        return (np.zeros(0, np.int64), [], np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    units, at, lon, lat, ids = zip(*rows)
    return (np.array(units, dtype=np.int64), list(at), np.array(lon, dtype=float), np.array(lat, dtype=float),
            np.array(ids, dtype=np.int64))


# One row per chunk of events (ids in (lo, hi], at most CHUNK of them), each column
# aggregated into one value: numbers and times comma-joined text, kind, seat and operator
# joined by 0x1f (a text holding that byte makes the count wrong: the rows are read
# instead), the payloads (stored JSON texts) joined by 0x1f too, which no JSON text holds
# raw (control characters are escaped in strings and not allowed outside them). No
# row per event crosses into Python: the driver would make a tuple of eight objects per
# row and release and take the GIL around each step, most of what reading the log cost.
# The columns are aggregated over the same rows in one pass, so they line up; the rows
# come in rowid order (checked: ids ascending) from a range of the primary key.
_EVENT_CHUNK = (
    "SELECT count(*), group_concat(id), group_concat(occurred_at), group_concat(kind, char(31)),"
    " group_concat(ifnull(incident_id, 0)), group_concat(ifnull(unit_id, 0)),"
    " group_concat(seat, char(31)), group_concat(operator, char(31)),"
    " CAST(group_concat(ifnull(payload, 'null'), char(31)) AS BLOB)"
    " FROM events WHERE id > ? AND id <= ?{where}")


class _Prefetch(ReadAhead):
    """The aggregated event chunks after `after_id` (up to `upto`, stored text), then the
    rows `positions()` returns, read on a worker thread a step ahead of the reader (at
    most two chunks wait: a chunk's text is a few MB). A connection bound to the thread
    that made it (sqlite3's check_same_thread; the console's file databases are not) is
    read on the caller's thread instead, the same statements in the same order."""

    def __init__(self, raw: Any, after_id: int, upto: str | None, positions: Any) -> None:
        self._raw, self._after, self._upto, self._positions = raw, after_id, upto, positions
        super().__init__(self._items, name="replay-read", inline_on=(sqlite3.ProgrammingError,))

    def _items(self) -> Iterator[tuple]:
        """("chunk", row) for each chunk, ("end", None), ("positions", rows)."""
        raw, upto = self._raw, self._upto
        query = _EVENT_CHUNK.format(where=" AND occurred_at <= ?" if upto is not None else "")
        if upto is None:
            top = raw.execute("SELECT max(id) FROM events").fetchone()[0]
        else:
            top = raw.execute("SELECT max(id) FROM events WHERE occurred_at <= ?", [upto]).fetchone()[0]
        last = self._after
        while top is not None and last < top:
            lo = raw.execute("SELECT min(id) FROM events WHERE id > ?", [last]).fetchone()[0]
            if lo is None:
                break
            hi = min(lo - 1 + CHUNK, top)  # (ids are integers: at most CHUNK in (lo - 1, hi])
            row = raw.execute(query, [last, hi] + ([upto] if upto is not None else [])).fetchone()
            last = hi
            yield "chunk", row
        yield "end", None
        yield "positions", self._positions()

    def chunks(self) -> Iterator[tuple]:
        """The chunks' rows, in id order."""
        while True:
            what, row = next(self)
            if what == "end":
                return
            yield row

    def positions(self) -> Any:
        """What the positions callable gave (after the chunks, taken or not)."""
        what, rows = next(self)
        while what != "positions":
            what, rows = next(self)
        return rows


def _events_aggregated(chunks: Iterable[tuple]) -> LogColumns | None:
    """Events as columns from the rows of _EVENT_CHUNK (_Prefetch.chunks); None if a chunk
    does not line up as it should (then the caller reads rows)."""
    out = _Columns()
    for n, ids_t, at_t, kinds_t, incs_t, units_t, seats_t, ops_t, joined in chunks:
        if not n:
            continue
        ids, incs, units = _ints(ids_t, n), _ints(incs_t, n), _ints(units_t, n)
        moments = at_t.split(",")
        kinds, seats, ops = kinds_t.split("\x1f"), seats_t.split("\x1f"), ops_t.split("\x1f")
        seps = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 31)
        if (ids is None or incs is None or units is None or len(seps) != n - 1
                or not len(moments) == len(kinds) == len(seats) == len(ops) == n
                or (n > 1 and not bool((ids[1:] > ids[:-1]).all()))):
            return None
        lengths = np.diff(seps, prepend=-1, append=len(joined)) - 1  # each payload's, in bytes
        out.add_columns(ids, moments, kinds, incs, units, seats, ops,
                        joined.replace(b"\x1f", b","), lengths)
    return out.columns()


def _ints(text: str, n: int) -> np.ndarray | None:
    """n comma-joined integers (as SQLite's group_concat writes them); None if not n."""
    values = np.fromstring(text, dtype=np.int64, sep=",")
    return values if len(values) == n else None


def _core_events(after_id: int) -> Any:
    return select(EventRow.id, EventRow.occurred_at, EventRow.kind, func.coalesce(EventRow.incident_id, 0),
                  func.coalesce(EventRow.unit_id, 0), EventRow.seat, EventRow.operator,
                  EventRow.payload).where(EventRow.id > after_id)


def read_core(session: Session, since: datetime | None, until: datetime | None,
              after_id: int = 0, positions: bool = True) -> tuple[LogColumns, PositionColumns]:
    """Any other database (PostgreSQL) through SQLAlchemy Core (`positions` as read_sqlite's)."""
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
    if not positions:
        return log, PositionColumns()
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


def read_events_of(conn: Any, column: str, value: int, after_id: int, upto_id: int) -> list[tuple]:
    """The events of one incident (`column` "incident") or unit ("unit") with ids after
    `after_id` up to `upto_id`, in log order, as LogColumns.event tuples."""
    col = EventRow.incident_id if column == "incident" else EventRow.unit_id
    rows = conn.execute(_core_events(0).where(col == value, EventRow.id > after_id, EventRow.id <= upto_id)
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

    def add_columns(self, ids: np.ndarray, moments: list[str], kinds: list[str], incs: np.ndarray,
                    units: np.ndarray, seats: list[str], ops: list[str], joined: bytes,
                    lengths: np.ndarray) -> None:
        """A chunk read as columns (_events_aggregated): SQLite's times as text, the payloads
        comma-joined with their lengths."""
        when = _datetimes(moments)
        self.arrays.append((ids, incs, units, _seconds(moments, when)))
        self.at += when
        self.kinds += _shared(kinds)
        self.seats += _shared(seats)
        self.operators += _shared(ops)
        self.payloads.add_joined(joined, lengths)

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


def _sorted_columns(uid: np.ndarray, at: Sequence, lon: np.ndarray, lat: np.ndarray,
                    ids: np.ndarray) -> PositionColumns:
    """Columns of fixes in any order sorted by unit, then time, then id (what ORDER BY
    unit_id, at, id gives: the stored times are one fixed-width text format, so their text
    order is their time order)."""
    if not len(uid):
        return PositionColumns()
    ts = _seconds(at, [] if isinstance(at[0], str) else _datetimes(at))
    order = np.lexsort((ids, ts, uid))
    at_sorted = list(map(at.__getitem__, order.tolist()))
    return PositionColumns(uid[order], _datetimes(at_sorted), lon[order], lat[order], ts[order])


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
