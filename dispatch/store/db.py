"""Engines, sessions and the guards of the store.

SQLite (WAL, foreign keys, busy timeout) is the embedded default; PostgreSQL is used
when a URL is given. The event log and positions are append-only: a `before_flush`
hook refuses updates and deletes, and on PostgreSQL a trigger does the same.

Appends are serialised, so the order of ids, of the hash chain and of commits is one
order (store.hashchain). A service transaction (`transaction(appends=True)`) holds
the append lock before its block runs, so the instant it reads follows the log order:
on SQLite it starts with BEGIN IMMEDIATE (readers stay deferred), on PostgreSQL it
takes pg_advisory_xact_lock(PG_APPEND_LOCK) first. Any other transaction that appends
takes the lock at its first append (on SQLite by a no-op write; a stale read snapshot
there is refused as a concurrent change).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from dispatch.domain.errors import ConcurrentChange, DispatchError, StoreUnavailable
from dispatch.store.hashchain import PG_APPEND_LOCK
from dispatch.store.schema import EventRow, PositionRow

APPEND_ONLY = (EventRow, PositionRow)
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
    return create_engine(url, pool_pre_ping=True)


def _refuse_rewrites(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise DispatchError("事件日志只能追加，不能修改或删除")


def lock_appends(conn: Connection | Session) -> None:
    """Serialise appends: from here to its commit this transaction is the only one that
    appends. PostgreSQL: the transaction-scoped advisory lock. SQLite: the write lock
    (a BEGIN IMMEDIATE transaction has it already; otherwise a no-op write takes it).
    Taken once per session; again on a bare Connection (harmless)."""
    if isinstance(conn, Session):
        if conn.info.get("append_lock"):
            return
        conn.info["append_lock"] = True
        dialect = conn.get_bind().dialect.name
    else:
        dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_APPEND_LOCK})
    else:
        conn.execute(text("UPDATE log_anchor SET events = events WHERE id = 0"))


class Store:
    """Sessions over one engine. `transaction()` is the unit of work: it commits
    when the block ends and rolls back on any error, translating database faults
    into clear DispatchErrors."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        for factory in (self._factory, self._writer):
            event.listen(factory, "before_flush", _refuse_rewrites)

    @contextlib.contextmanager
    def transaction(self, appends: bool = False) -> Iterator[Session]:
        """One write transaction. With `appends` (every service action that appends
        events) it has begun and holds the append lock before the block runs (SQLite:
        BEGIN IMMEDIATE), so the instant the action reads in the block follows the log
        order; otherwise it begins deferred and locks at its first append, if any."""
        session = (self._writer if appends else self._factory)()
        try:
            if appends:
                session.connection()  # BEGIN IMMEDIATE on SQLite now, not at the first query
                lock_appends(session)
            yield session
            session.commit()
        except StaleDataError:
            session.rollback()
            raise ConcurrentChange("该记录已被其他席位修改，请刷新后重试") from None
        except (OperationalError, DBAPIError) as exc:
            session.rollback()
            if getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT:
                raise ConcurrentChange("该记录已被其他席位修改，请刷新后重试") from None
            raise StoreUnavailable(describe_db_error(exc)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
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
        session = self._factory()
        try:
            yield session
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from None
        finally:
            session.rollback()
            session.close()


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
