"""The hash chain over the event log, and the anchor that vouches for its end.

Each event carries `hash` = SHA-256 over (the previous event's hash + the event's
canonical encoding): sorted-key compact JSON of id, occurred_at (ISO UTC with
microseconds), seat, operator, kind, incident_id, unit_id and payload. The first
event chains to GENESIS (64 zeros). Editing any field of any row breaks that row's
hash; deleting a row breaks the next row's.

A chain alone cannot reveal that its tail (or all of it, TRUNCATE) was removed. The
one-row table `log_anchor` keeps the count, the last id and the last hash of the log
and is updated in the same transaction as every append, so an emptied or shortened log
disagrees with its anchor. (Removing the anchor as well needs privileges the console's
role does not have; see the README's PostgreSQL roles.)

Appends are serialised (store.db: one writer at a time), so ids, the chain and the
commit order are one order: a follower reading `id > cursor` never skips an event.
On PostgreSQL the lock is a transaction-scoped advisory lock (its waiters are served in
the order they came), taken and followed by the read of the anchor in one round trip
(lock_anchor: the anchor row read FOR UPDATE with the lock in its condition; READ
COMMITTED re-reads a row that moved while the statement waited, so the anchor read is the
newest).

In a Session the events of a transaction are sent at its commit (add_pending), in one
statement with the anchor and, on PostgreSQL, the followers' notification (a fixed SQL text
with the rows as one JSON parameter: nothing to build or compile per action); the lock is
held from the anchor read to the commit, so the chain cannot move meanwhile. When nothing
else is left to flush, that statement and the COMMIT go in one round trip (a psycopg
pipeline). A lock_late action's projection rows ride in the same statement, guarded by
their version checks (GuardedWrites). An ORM read in the same transaction
(Session.execute/scalars/get) sends the events first, so the transaction reads its own events.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, event, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session

GENESIS = "0" * 64
ANCHOR_ID = 1
PG_APPEND_LOCK = 0x110D15  # the pg_advisory_xact_lock key every appending transaction takes
NOTIFY_CHANNEL = "dispatch_events"

anchor_metadata = MetaData()
log_anchor = Table(
    "log_anchor", anchor_metadata,
    Column("id", Integer, primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)


def iso_utc(value: datetime) -> str:
    """The canonical instant: UTC, microseconds, 'Z' (naive values are UTC, as SQLite returns them)."""
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event_id: int, occurred_at: datetime, seat: str, operator: str, kind: str,
              incident_id: int | None, unit_id: int | None, payload: dict | None) -> bytes:
    """The bytes an event's hash is taken over (without the previous hash)."""
    doc = {"id": int(event_id), "occurred_at": iso_utc(occurred_at), "seat": seat, "operator": operator,
           "kind": kind, "incident_id": incident_id, "unit_id": unit_id, "payload": payload or {}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    """SHA-256 (hex) of the previous hash followed by the canonical encoding."""
    return hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest()


def event_hash(prev_hash: str, row: dict) -> str:
    """The hash of an event given as a dict of its columns."""
    return chain_hash(prev_hash, canonical(row["id"], row["occurred_at"], row["seat"], row["operator"],
                                           row["kind"], row["incident_id"], row["unit_id"], row["payload"]))


@dataclass
class Anchor:
    events: int
    last_id: int
    last_hash: str


def lock_anchor(conn: Connection | Session) -> Anchor | None:
    """PostgreSQL: take the append lock (the transaction-scoped advisory lock, held to the
    commit) and read the anchor, in one round trip; None when the log has no anchor row
    (made before the chain, or tampered with; the lock is then taken on its own).

    The lock is in the condition of the anchor's `SELECT … FOR UPDATE`: the statement's
    snapshot is older than the lock, but a row locked FOR UPDATE under READ COMMITTED is
    re-read at its newest version (the holder before us moved it and committed), so the
    anchor returned is the end of the chain. Waiters queue on the advisory lock, which
    serves them in order; the row lock alone does not (flat out with 8 seats the p95 of
    a service call was 89-92 ms with the row as the lock, against 56 ms; bench seats)."""
    row = conn.execute(_PG_LOCK_AND_READ, {"k": PG_APPEND_LOCK, "anchor": ANCHOR_ID}).first()
    if row is None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_APPEND_LOCK})
        return None
    return Anchor(int(row[0]), int(row[1]), row[2])


_PG_LOCK_AND_READ = text("SELECT events, last_id, last_hash FROM log_anchor "
                         "WHERE id = :anchor AND pg_advisory_xact_lock(:k) IS NOT NULL FOR UPDATE")


def read_anchor(conn: Connection | Session) -> Anchor:
    """The anchor row (a log created before the chain existed starts at genesis)."""
    row = conn.execute(select(log_anchor).where(log_anchor.c.id == ANCHOR_ID)).first()
    if row is None:
        return Anchor(0, 0, GENESIS)
    return Anchor(int(row.events), int(row.last_id), row.last_hash)


def write_anchor(conn: Connection | Session, anchor: Anchor) -> None:
    values = {"events": anchor.events, "last_id": anchor.last_id, "last_hash": anchor.last_hash}
    done: Any = conn.execute(update(log_anchor).where(log_anchor.c.id == ANCHOR_ID).values(**values))
    if done.rowcount == 0:  # a CursorResult
        conn.execute(log_anchor.insert().values(id=ANCHOR_ID, **values))


def seal(conn: Connection | Session, rows: list[dict]) -> None:
    """Give `rows` (event dicts about to be inserted, in order) their ids and hashes,
    continuing the chain, and move the anchor. The caller holds the append lock
    (store.db.lock_appends) and inserts the rows in the same transaction.

    In a Session the anchor is read once per transaction (with the lock on PostgreSQL)
    and written once, just before the commit (with the events and the followers'
    notification): the lock is held until the commit, so nobody else can move it meanwhile."""
    if isinstance(conn, Session):
        anchor = conn.info.get(PENDING_ANCHOR)
        if anchor is None:
            anchor = conn.info.pop(LOCKED_ANCHOR, None)
            conn.info[ANCHOR_ROW_LOCKED] = anchor is not None
            anchor = anchor or read_anchor(conn)
    else:
        anchor = read_anchor(conn)
    for row in rows:
        anchor.last_id += 1
        row["id"] = anchor.last_id
        row["hash"] = anchor.last_hash = event_hash(anchor.last_hash, row)
        anchor.events += 1
    if isinstance(conn, Session):
        conn.info[PENDING_ANCHOR] = anchor
    elif rows:
        write_anchor(conn, anchor)


PENDING_ANCHOR = "hashchain.anchor"  # Session.info: the anchor this transaction moved, written at commit
LOCKED_ANCHOR = "hashchain.locked"   # Session.info: the anchor as read with the lock (PostgreSQL)
PENDING_EVENTS = "hashchain.events"  # Session.info: sealed event rows not sent yet
NOTIFY = "hashchain.notify"          # Session.info: tell the followers at commit (PostgreSQL)
ANCHOR_ROW_LOCKED = "hashchain.row"  # Session.info: the anchor was read from its row under the lock


def add_pending(session: Session, row: dict) -> None:
    """Queue a sealed event row of this transaction; sent at the commit (or before an ORM read)."""
    session.info.setdefault(PENDING_EVENTS, []).append(row)


_EVENT_COLUMNS = ("id", "occurred_at", "seat", "operator", "kind", "incident_id", "unit_id", "payload", "hash")


@dataclass(frozen=True)
class GuardedWrites:
    """Writes of other tables sent in the events' statement (PostgreSQL), as data-modifying
    CTEs (`ctes`: "name AS (...), ..."; their %(...)s parameters in `params`). The events go
    in only when `guard` (an SQL condition over those CTEs, e.g. every version-checked
    UPDATE found its row) holds; otherwise their id is NULL and the statement fails as a
    whole (a NOT NULL violation on events.id: see is_guard_failure), writing nothing."""

    ctes: str
    guard: str
    params: dict[str, Any]


GUARDED = "hashchain.guarded"  # Session.info: GuardedWrites sent with this transaction's events

# PostgreSQL: a transaction's events, its anchor and (_NOTIFY) the followers' wake in one
# fixed statement: the rows travel as one JSON array, so there is no statement to build,
# key or compile per action, and the driver prepares it once per connection.
_PG_APPENDED = (
    "appended AS (INSERT INTO events (id, occurred_at, seat, operator, kind, incident_id, unit_id, payload, hash)"
    " SELECT {id}, occurred_at, seat, operator, kind, incident_id, unit_id, payload, hash"
    " FROM json_to_recordset(%(rows)s::json) AS r(id bigint, occurred_at timestamptz, seat text, operator text,"
    " kind text, incident_id integer, unit_id integer, payload json, hash text))"
    " UPDATE log_anchor SET events = %(events)s, last_id = %(last_id)s, last_hash = %(last_hash)s"
    " WHERE id = %(anchor)s")
_PG_APPEND = "WITH " + _PG_APPENDED.format(id="id")
_RETURNING_NOTIFY = f" RETURNING pg_notify('{NOTIFY_CHANNEL}', '')"


def _pg_append_sql(guarded: GuardedWrites | None, notify: bool) -> str:
    sql = _PG_APPEND if guarded is None else \
        f"WITH {guarded.ctes}, " + _PG_APPENDED.format(id=f"CASE WHEN {guarded.guard} THEN id END")
    return sql + _RETURNING_NOTIFY if notify else sql


def is_guard_failure(exc: BaseException) -> bool:
    """Whether a database error is a GuardedWrites guard that did not hold (events.id NULL)."""
    diag = getattr(getattr(exc, "orig", exc), "diag", None)
    return getattr(getattr(exc, "orig", exc), "sqlstate", None) == "23502" and diag is not None \
        and diag.table_name == "events" and diag.column_name == "id"


def _events_table() -> Table:
    from dispatch.store.schema import EventRow
    return EventRow.__table__  # type: ignore[return-value]


@event.listens_for(Session, "do_orm_execute")
def _send_pending_before_a_read(state: ORMExecuteState) -> None:
    rows = state.session.info.pop(PENDING_EVENTS, None)
    if rows:
        state.session.connection().execute(insert(_events_table()), rows)


@event.listens_for(Session, "before_commit")
def _write_pending_anchor(session: Session) -> None:
    rows = session.info.pop(PENDING_EVENTS, None)
    anchor = session.info.pop(PENDING_ANCHOR, None)
    notify = session.info.pop(NOTIFY, False)
    guarded: GuardedWrites | None = session.info.pop(GUARDED, None)
    row_locked = session.info.pop(ANCHOR_ROW_LOCKED, False)
    session.info.pop(LOCKED_ANCHOR, None)
    if anchor is None:
        if guarded is not None:
            raise RuntimeError("GuardedWrites without events to send them with")
        return
    values = {"events": anchor.events, "last_id": anchor.last_id, "last_hash": anchor.last_hash}
    if session.get_bind().dialect.name == "postgresql":
        conn = session.connection()
        if guarded is not None and not rows:
            raise RuntimeError("GuardedWrites after the events were sent (an ORM read in between)")
        if rows:  # one statement: the guarded writes, the events, the anchor and the notification
            params = {**(guarded.params if guarded else {}), **values, "anchor": ANCHOR_ID, "rows": orjson.dumps(
                [{k: r[k] for k in _EVENT_COLUMNS} for r in rows], option=orjson.OPT_NAIVE_UTC).decode()}
            sql = _pg_append_sql(guarded, notify)
            if row_locked and not (session.new or session.dirty or session.deleted):
                _send_and_commit(conn, sql, params)  # the anchor row is there: it is updated
                return
            done: Any = conn.exec_driver_sql(sql, params)
            anchored = (done.first() is not None) if notify else done.rowcount > 0
        else:
            anchored = conn.execute(update(log_anchor).where(log_anchor.c.id == ANCHOR_ID)
                                    .values(**values)).rowcount > 0
            if notify:
                conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
        if not anchored:  # no anchor row yet: the events went in; start the anchor
            conn.execute(log_anchor.insert().values(id=ANCHOR_ID, **values))
            if notify and rows:
                conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
        return
    if rows:
        session.connection().execute(insert(_events_table()), rows)
    write_anchor(session, anchor)


def _send_and_commit(conn: Connection, sql: str, params: dict[str, Any]) -> None:
    """The events' statement and the COMMIT in one round trip (a psycopg pipeline): the
    append lock ends with a commit that costs no round trip of its own. Used when nothing
    else is left to flush. A failing statement skips the COMMIT (the transaction stays
    open, failed, for the caller's rollback) and is raised as SQLAlchemy raises it (a
    DBAPIError; a lost connection is invalidated); the session's own commit then finds
    the connection committed and sends nothing."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    conn.dispatch.before_cursor_execute(conn, cur, sql, params, None, False)  # the engine's listeners see it
    try:
        with raw.pipeline():  # one Sync: both are sent, then both answers read
            cur.execute(sql, params)
            cur.execute("COMMIT")
        conn.dispatch.after_cursor_execute(conn, cur, sql, params, None, False)
    except psycopg.Error as exc:
        if conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None):  # type: ignore[arg-type]
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_anchor(session: Session, _previous: Any) -> None:
    for key in (PENDING_ANCHOR, PENDING_EVENTS, LOCKED_ANCHOR, NOTIFY, GUARDED, ANCHOR_ROW_LOCKED):
        session.info.pop(key, None)


@dataclass(frozen=True)
class Verdict:
    events: int
    ok: bool
    first_bad: int | None
    reason: str = ""

    def as_json(self) -> dict:
        return {"events": self.events, "ok": self.ok, "first_bad": self.first_bad}


def verify(conn: Connection | Session, batch: int = 5000) -> Verdict:
    """Recompute the chain in id order and compare it with the stored hashes and the anchor.
    `first_bad` is the first event whose hash does not match (an edited row, or the row
    after a deleted one), or, when the rows present are intact but fewer than the anchor
    vouches for (a removed tail, TRUNCATE), the first id that is missing."""
    from dispatch.store.schema import EventRow

    t = EventRow.__table__
    cols = (t.c.id, t.c.occurred_at, t.c.seat, t.c.operator, t.c.kind, t.c.incident_id, t.c.unit_id,
            t.c.payload, t.c.hash)
    prev, count, last_id, after = GENESIS, 0, 0, 0
    while True:
        rows = conn.execute(select(*cols).where(t.c.id > after).order_by(t.c.id).limit(batch)).all()
        if not rows:
            break
        for r in rows:
            payload = json.loads(r.payload) if isinstance(r.payload, str) else r.payload
            expected = chain_hash(prev, canonical(r.id, r.occurred_at, r.seat, r.operator, r.kind,
                                                  r.incident_id, r.unit_id, payload))
            count += 1
            if r.hash != expected:
                return Verdict(_count(conn), False, r.id, "哈希不符：该事件被修改，或其前一事件被删除")
            prev, last_id = r.hash, r.id
        after = rows[-1].id
    anchor = read_anchor(conn)
    if (anchor.events, anchor.last_id, anchor.last_hash) != (count, last_id, prev):
        if anchor.events > count or anchor.last_id > last_id:
            return Verdict(count, False, last_id + 1, "日志比锚点记录的短：末尾事件被删除或日志被清空")
        return Verdict(count, False, last_id or None, "日志与锚点不一致：锚点被改动或事件绕过了追加")
    return Verdict(count, True, None)


def _count(conn: Connection | Session) -> int:
    from sqlalchemy import func

    from dispatch.store.schema import EventRow
    return int(conn.execute(select(func.count()).select_from(EventRow.__table__)).scalar() or 0)
