"""The append-only event log: append inside a unit of work, read by cursor."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.domain.events import Event
from dispatch.store import hashchain
from dispatch.store.db import lock_appends
from dispatch.store.schema import EventRow


def append(session: Session, *, at: datetime, seat: str, operator: str, kind: str,
           incident_id: int | None = None, unit_id: int | None = None,
           payload: dict | None = None) -> EventRow:
    """Add one event to the session, chained to the log (id, hash and anchor from
    store.hashchain), under the append lock; flushed, so its id is known. On
    PostgreSQL the transaction also notifies the followers (sent with the anchor at commit)."""
    lock_appends(session)
    values = {"occurred_at": as_utc(at), "seat": seat, "operator": operator, "kind": kind,
              "incident_id": incident_id, "unit_id": unit_id, "payload": payload or {}}
    hashchain.seal(session, [values])
    row = EventRow(**values)
    session.add(row)
    session.flush()
    session.info[hashchain.NOTIFY] = True  # PostgreSQL: the followers are told at commit
    return row


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


def last_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0
