"""The append-only event log: append inside a unit of work, read by cursor."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dispatch.domain.events import Event
from dispatch.store import hashchain
from dispatch.store.db import lock_appends
from dispatch.store.schema import EventRow


def append(session: Session, *, at: datetime, seat: str, operator: str, kind: str,
           incident_id: int | None = None, unit_id: int | None = None,
           payload: dict | None = None) -> EventRow:
    """Append one event in the session's transaction, chained to the log (id, hash and
    anchor from store.hashchain), under the append lock. The row returned is not in the
    session: its id is known at once, the row is sent at the commit with the anchor (or
    before an ORM read in the same transaction). On PostgreSQL the commit also notifies
    the followers."""
    lock_appends(session)
    values = {"occurred_at": as_utc(at), "seat": seat, "operator": operator, "kind": kind,
              "incident_id": incident_id, "unit_id": unit_id, "payload": payload or {}}
    hashchain.seal(session, [values])
    hashchain.add_pending(session, values)
    session.info[hashchain.NOTIFY] = True  # PostgreSQL: the followers are told at commit
    return EventRow(**values)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def to_event(row: EventRow) -> Event:
    return Event(id=row.id, occurred_at=as_utc(row.occurred_at), kind=row.kind,
                 incident_id=row.incident_id, unit_id=row.unit_id, seat=row.seat,
                 operator=row.operator, payload=dict(row.payload or {}))


def read(session: Session, *, since_id: int = 0, incident_id: int | None = None,
         until: datetime | None = None, limit: int | None = None) -> list[Event]:
    """Events with id > since_id in log order, optionally of one incident or up to a time."""
    q = select(EventRow).where(EventRow.id > since_id)
    if incident_id is not None:
        q = q.where(EventRow.incident_id == incident_id)
    if until is not None:
        q = q.where(EventRow.occurred_at <= until)
    q = q.order_by(EventRow.id)
    if limit:
        q = q.limit(limit)
    return [to_event(r) for r in session.scalars(q)]


_COLUMNS = (EventRow.id, EventRow.occurred_at, EventRow.kind, EventRow.incident_id, EventRow.unit_id,
            EventRow.seat, EventRow.operator, EventRow.payload)
_AFTER = select(*_COLUMNS).where(EventRow.id > bindparam("after")).order_by(EventRow.id)
_AFTER_LIMITED = _AFTER.limit(bindparam("n"))


def read_after(conn: Connection, since_id: int, limit: int | None = None) -> list[Event]:
    """Events with id > since_id in log order, read on a Core connection with a statement
    built once: the followers' read (every seat reads every event of the room; the ORM's
    per-row work made it ~4x dearer)."""
    rows = conn.execute(_AFTER_LIMITED, {"after": since_id, "n": limit}) if limit \
        else conn.execute(_AFTER, {"after": since_id})
    return [Event(id=i, occurred_at=as_utc(at), kind=kind, incident_id=inc, unit_id=unit, seat=seat,
                  operator=operator, payload=dict(payload or {}))
            for i, at, kind, inc, unit, seat, operator, payload in rows]


def last_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0
