"""Reading the log and the positions for replay, fast: the driver's cursor on SQLite
(times compared and parsed as stored text, payloads decoded in one go), SQLAlchemy Core
elsewhere. Events come as tuples (id, occurred_at, kind, incident_id, unit_id, seat,
operator, payload) in log order; positions as (unit_id, at, lon, lat, speed, heading)
sorted by unit, then time."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, PositionRow


_EVENT_COLUMNS = "id, occurred_at, kind, incident_id, unit_id, seat, operator, payload"
_POSITION_COLUMNS = "unit_id, at, lon, lat, speed, heading"


def read_sqlite(session: Session, since: datetime | None, until: datetime | None,
                 after_id: int = 0) -> tuple[list, list]:
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
               after_id: int = 0) -> tuple[list, list]:
    """Any other database (PostgreSQL) through SQLAlchemy Core."""
    conn = session.connection()
    evq = select(EventRow.id, EventRow.occurred_at, EventRow.kind, EventRow.incident_id,
                 EventRow.unit_id, EventRow.seat, EventRow.operator, EventRow.payload).where(EventRow.id > after_id)
    cols = (PositionRow.unit_id, PositionRow.at, PositionRow.lon, PositionRow.lat,
            PositionRow.speed, PositionRow.heading)
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


def _merge_positions(before: Sequence, rows: Sequence) -> list:
    """Two lists of position rows sorted by (unit, time), all of `before` earlier per unit."""
    if not before:
        return list(rows)
    merged = list(before) + list(rows)
    merged.sort(key=lambda r: r[0])  # stable: per unit, `before` (earlier) stays first
    return merged


def _events(rows: Sequence) -> list[tuple]:
    if not rows:
        return []
    ids, at, kinds, incs, units, seats, ops, payloads = zip(*rows)
    return list(zip(ids, _datetimes(at), kinds, incs, units, seats, ops, _payloads(payloads)))


def _positions(rows: Sequence) -> list[tuple]:
    if not rows:
        return []
    units, at, lon, lat, speed, heading = zip(*rows)
    return list(zip(units, _datetimes(at), lon, lat, speed, heading))


def _payloads(raw: Sequence) -> list[dict]:
    """JSON payloads: SQLite hands back text (decoded in one go), PostgreSQL dicts."""
    if raw and all(isinstance(p, str) for p in raw):
        return [p or {} for p in json.loads("[" + ",".join(raw) + "]")]
    return [json.loads(p) if isinstance(p, str) else (p or {}) for p in raw]


def _datetimes(raw: Sequence) -> list[datetime]:
    """UTC datetimes: SQLite hands back text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC as the
    store writes it), PostgreSQL aware datetimes."""
    if raw and isinstance(raw[0], str):
        parse = datetime.fromisoformat
        return [parse(v + "+00:00") for v in raw]
    return [as_utc(v) for v in raw]
