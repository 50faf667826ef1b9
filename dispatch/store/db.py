"""Engines, sessions and the guards of the store.

SQLite (WAL, foreign keys, busy timeout) is the embedded default; PostgreSQL is used
when a URL is given. The event log and positions are append-only: a `before_flush`
hook refuses updates and deletes, and on PostgreSQL a trigger does the same.

Appends are serialised, so the order of ids, of the hash chain and of commits is one
order (store.hashchain). A service transaction (`transaction(appends=True)`) holds
the append lock before its block runs, so the instant it reads follows the log order:
on SQLite it starts with BEGIN IMMEDIATE (readers stay deferred), on PostgreSQL it
first takes pg_advisory_xact_lock and reads the end of the hash chain
(store.hashchain.lock_anchor). Any other transaction that appends
takes the lock at its first append (on SQLite by a no-op write; a stale read snapshot
there is refused as a concurrent change).

`transaction(appends=True, lock_late=True)` is for an action whose every decision rests
on rows it writes back under their version (services.context.instant): on PostgreSQL its
reads run before the lock, which it takes when the action takes its instant, so the lock
is held from there to the commit only (flat out, 8 seats queued on it for the reads and
the decision of every action). A row that another seat moved between the read and the
write fails its version check: that is a race, not a stale screen, and is raised as
`Raced` so the action runs again on what is there now (services.context.retried). SQLite
has one writer anyway: there it changes nothing.

A refused stale write names who changed the record ("该警情已被 席位3（张三）于 14:02:11
修改，请刷新后重试"): the versions each flush was about to write are noted before it
(session.info), and after the rollback a fresh short read finds the incident or unit whose
version moved and the newest event on it. The lookup never raises: on any trouble the
refusal is the plain one.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from dispatch.domain import events as ev
from dispatch.domain.errors import ConcurrentChange, DispatchError, StoreUnavailable
from dispatch.store.hashchain import LOCKED_ANCHOR, is_guard_failure, lock_anchor
from dispatch.store.schema import EventRow, IncidentRow, PositionRow, UnitRow

APPEND_ONLY = (EventRow, PositionRow)
Versioned = type[IncidentRow] | type[UnitRow]
VERSIONED: dict[Versioned, tuple[str, Any]] = {IncidentRow: ("警情", EventRow.incident_id), UnitRow: ("警力", EventRow.unit_id)}
VERSIONS_SEEN = "versions_seen"  # session.info key: {(row class, id): version the flush expected}
ROWS_AT_COMMIT = "rows_at_commit"  # session.info: a lock_late PostgreSQL transaction (see Store.transaction)
QUIET_KINDS = (ev.UNIT_RECOMMENDED, ev.CALLBACK_DONE, ev.INCIDENT_LINKED)  # bump no version
STALE = "该记录已被其他席位修改，请刷新后重试"


class StaleWrite(ConcurrentChange):
    """A stale write refused naming who changed the record first: `record` (noun, id),
    the seat, operator and UTC time of the newest event on it."""

    def __init__(self, message: str, record: tuple[str, int], by_seat: str, by_operator: str,
                 at: datetime) -> None:
        super().__init__(message)
        self.record, self.by_seat, self.by_operator, self.at = record, by_seat, by_operator, at


class Raced(ConcurrentChange):
    """A lock_late action read a row that another seat wrote before this action took the
    append lock (the version check at the write failed): run the action again.
    `refusal()` is what to say if it keeps racing (looked up only then: a race that the
    next run wins costs no lookup)."""

    def __init__(self, store: Store, seen: dict[tuple[Versioned, int], int]) -> None:
        super().__init__(STALE)
        self._store, self._seen = store, seen

    def refusal(self) -> ConcurrentChange:
        return self._store.stale_refusal(self._seen)
SQLITE_BUSY_SNAPSHOT = 517  # a deferred transaction read, another wrote, then it tried to write
WRITE_OPTION = "dispatch_write"  # execution option marking a write transaction (BEGIN IMMEDIATE)


def make_engine(url: str) -> Engine:
    """An engine for `url` (SQLite or PostgreSQL). For SQLite the parent directory is created."""
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise DispatchError(f"不支持的数据库地址（只支持 sqlite:/// 和 postgresql://）: {url}")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            try:
                cur.execute("PRAGMA journal_mode=WAL")
            except Exception:  # a read-only file cannot switch journal mode
                pass
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # a server that drops packets fails a connection attempt in 5 s instead of hanging
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


PING_IDLE_S = 1.0  # a pooled connection idle longer than this is pinged before use


def _note_idle(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Pre-ping, but only a connection that sat idle in the pool (a server restarted or a
    connection dropped meanwhile: the pool replaces it and the action goes on). A
    connection in steady use skips the round trip; if it was dropped in the last second
    the action is refused cleanly ("连接中断…请重试") and the pool reconnects."""
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since <= PING_IDLE_S:
        return
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1")
        dbapi_conn.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure: a new connection instead
        raise DisconnectionError(str(exc)) from exc


def _refuse_rewrites(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise DispatchError("事件日志只能追加，不能修改或删除")


def _note_versions(session: Session, _ctx: object, _instances: object) -> None:
    """Before a flush: the version of each incident/unit row it is about to update (read
    from the loaded state, no SQL), so a refused stale write can tell which record moved.
    The first version seen in the transaction is kept: after the rollback the row is back
    at it unless another seat moved it."""
    seen = session.info.setdefault(VERSIONS_SEEN, {})
    for obj in list(session.dirty) + list(session.deleted):
        if type(obj) in VERSIONED:
            state = inspect(obj)
            if state.identity is not None and "version" in state.dict:
                seen.setdefault((type(obj), state.identity[0]), state.dict["version"])


def lock_appends(conn: Connection | Session) -> None:
    """Serialise appends: from here to its commit this transaction is the only one that
    appends. PostgreSQL: the advisory lock, then the end of the chain is read
    (store.hashchain.lock_anchor; kept in session.info for seal).
    SQLite: the write lock (a BEGIN IMMEDIATE transaction has it already; otherwise a
    no-op write takes it). Taken once per session transaction; again on a bare
    Connection (harmless)."""
    if isinstance(conn, Session):
        if conn.info.get(APPEND_LOCK):
            return
        conn.info[APPEND_LOCK] = True
        if conn.get_bind().dialect.name == "postgresql":
            anchor = lock_anchor(conn.connection())
            if anchor is not None:
                conn.info[LOCKED_ANCHOR] = anchor
            return
        dialect = "sqlite"
    else:
        dialect = conn.dialect.name
    if dialect == "postgresql":
        lock_anchor(conn)
    else:
        conn.execute(text("UPDATE log_anchor SET events = events WHERE id = 0"))


APPEND_LOCK = "append_lock"  # session.info: this transaction holds the append lock


@event.listens_for(Session, "after_commit")
def _forget_append_lock(session: Session) -> None:
    """The lock ends with the transaction: a session's next transaction takes it again."""
    session.info.pop(APPEND_LOCK, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_append_lock_on_rollback(session: Session, _previous: object) -> None:
    session.info.pop(APPEND_LOCK, None)


class Store:
    """Sessions over one engine. `transaction()` is the unit of work: it commits
    when the block ends and rolls back on any error, translating database faults
    into clear DispatchErrors."""

    def __init__(self, engine: Engine, tz: str | None = None) -> None:
        self.engine = engine
        self.tz = tz  # display time zone of a stale-write refusal (settings.tz); None: no time shown
        self._factory = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        # PostgreSQL reads (READ COMMITTED: a snapshot per statement anyway) run without a
        # transaction: no BEGIN and no ROLLBACK round trip per read (every follower reads
        # at every wake). SQLite keeps its transaction: one snapshot across a read's queries.
        self._reader = sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                                    expire_on_commit=False) if engine.dialect.name == "postgresql" else self._factory
        self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT") \
            if engine.dialect.name == "postgresql" else engine
        for factory in {self._factory, self._writer, self._reader}:
            event.listen(factory, "before_flush", _refuse_rewrites)
            event.listen(factory, "before_flush", _note_versions)

    @contextlib.contextmanager
    def transaction(self, appends: bool = False, lock_late: bool = False) -> Iterator[Session]:
        """One write transaction. With `appends` (every service action that appends
        events) it has begun and holds the append lock before the block runs (SQLite:
        BEGIN IMMEDIATE), so the instant the action reads in the block follows the log
        order; otherwise it begins deferred and locks at its first append, if any.
        With `lock_late` as well, PostgreSQL takes the lock at the action's instant, after
        its reads (module docstring); a version check failing there raises `Raced`. Such a
        transaction is marked ROWS_AT_COMMIT: its projection rows may be written with its
        events in one statement at the commit (services.projection_rows.record, through
        store.hashchain.GuardedWrites), whose failed version guard also raises `Raced`."""
        session = (self._writer if appends else self._factory)()
        late = appends and lock_late and self.engine.dialect.name == "postgresql"
        if late:
            session.info[ROWS_AT_COMMIT] = True
        try:
            if appends:
                session.connection()  # BEGIN IMMEDIATE on SQLite now, not at the first query
                if not late:
                    lock_appends(session)
            yield session
            session.commit()
        except StaleDataError:
            seen = dict(session.info.get(VERSIONS_SEEN) or {})
            session.rollback()
            raise (Raced(self, seen) if late else self.stale_refusal(seen)) from None
        except (OperationalError, DBAPIError) as exc:
            seen = dict(session.info.get(VERSIONS_SEEN) or {})
            session.rollback()
            if late and is_guard_failure(exc):
                raise Raced(self, seen) from None
            if getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT:
                raise self.stale_refusal(seen) from None
            raise StoreUnavailable(describe_db_error(exc)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def stale_refusal(self, seen: dict[tuple[Versioned, int], int]) -> ConcurrentChange:
        """The refusal of a stale write, naming the seat, operator and time of the newest
        event on the record that moved (attributes record, by_seat, by_operator, at);
        the plain message when that cannot be told. Never raises."""
        try:
            found = self._who_changed(seen)
            if found is None:
                return ConcurrentChange(STALE)
            noun, record_id, seat, operator, at = found
            who = f"{seat or '其他席位'}（{operator}）" if operator else f"{seat or '其他席位'} "
            return StaleWrite(f"该{noun}已被 {who}{self.time_of(at)}修改，请刷新后重试",
                              (noun, record_id), seat, operator, at)
        except Exception:  # noqa: BLE001 - the lookup must never raise a second error
            return ConcurrentChange(STALE)

    def time_of(self, at: datetime) -> str:
        """"于 14:02:11 " in the display time zone; "" without one (or with an unknown one)."""
        if not self.tz:
            return ""
        try:
            from zoneinfo import ZoneInfo
            zone = ZoneInfo(self.tz)
        except Exception:  # noqa: BLE001 - an unknown time zone: say it without a time
            return ""
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return f"于 {at.astimezone(zone):%H:%M:%S} "

    def _who_changed(self, seen: dict[tuple[Versioned, int], int]) -> tuple[str, int, str, str, datetime] | None:
        """(noun, id, seat, operator, time) of the newest event on the first noted record
        whose version moved, or None. One short read session, a few indexed queries."""
        if not seen:
            return None
        session = self._factory()
        try:
            for (cls, record_id), version in list(seen.items())[:8]:
                current = session.scalar(select(cls.version).where(cls.id == record_id))
                if current is None or current == version:
                    continue
                noun, column = VERSIONED[cls]
                row = session.execute(
                    select(EventRow.seat, EventRow.operator, EventRow.occurred_at)
                    .where(column == record_id, EventRow.kind.notin_(QUIET_KINDS))
                    .order_by(EventRow.id.desc()).limit(1)).first()
                if row is not None:
                    return noun, record_id, row.seat or "", row.operator or "", row.occurred_at
            return None
        finally:
            session.rollback()
            session.close()

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction holding the append lock (bulk inserts)."""
        try:
            with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                lock_appends(conn)
                yield conn
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from None

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reading only (on PostgreSQL each statement in its own snapshot)."""
        session = self._reader()
        try:
            yield session
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from None
        finally:
            session.rollback()
            session.close()


    @contextlib.contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for reading only (PostgreSQL: autocommit, each statement in its
        own snapshot; SQLite: one deferred transaction, rolled back at the end)."""
        try:
            with self._read_engine.connect() as conn:
                yield conn
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from None


def describe_db_error(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "数据库为只读，无法写入：请检查数据库文件权限"
    if "locked" in text:
        return "数据库被锁定（其他程序正在写入），请稍后重试"
    if "terminating connection" in text or "server closed the connection" in text \
            or "consuming input failed" in text or "connection is closed" in text:
        return "与数据库服务器的连接中断，本次操作未执行：请重试"
    if "unable to open" in text:
        return "无法打开数据库文件：请检查路径和权限"
    import re
    if m := re.search(r'role "([^"]*)" does not exist', text):
        return f"数据库服务器上没有用户「{m.group(1)}」：请检查数据库地址中的用户名"
    if m := re.search(r'database "([^"]*)" does not exist', text):
        return f"数据库服务器上没有数据库「{m.group(1)}」：请检查数据库地址中的数据库名"
    if "password authentication failed" in text or "no password supplied" in text:
        return "数据库用户名或密码错误"
    if "permission denied" in text:
        return f"数据库拒绝了该操作（权限不足）：{str(getattr(exc, 'orig', exc)).splitlines()[0]}"
    if "connection" in text or "could not connect" in text:
        return "无法连接数据库服务器：请检查服务器是否运行、地址和端口是否正确"
    return f"数据库错误：{str(getattr(exc, 'orig', exc)).splitlines()[0]}"
