"""Engines, sessions and the guards of the store.

SQLite (WAL, foreign keys, busy timeout) is the embedded default; PostgreSQL is used
when a URL is given. The event log and positions are append-only: a `before_flush`
hook refuses updates and deletes, and on PostgreSQL a trigger does the same.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from dispatch.domain.errors import ConcurrentChange, DispatchError, StoreUnavailable
from dispatch.store.schema import EventRow, PositionRow

APPEND_ONLY = (EventRow, PositionRow)


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

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


def _refuse_rewrites(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise DispatchError("事件日志只能追加，不能修改或删除")


class Store:
    """Sessions over one engine. `transaction()` is the unit of work: it commits
    when the block ends and rolls back on any error, translating database faults
    into clear DispatchErrors."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._factory, "before_flush", _refuse_rewrites)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except StaleDataError:
            session.rollback()
            raise ConcurrentChange("该记录已被其他席位修改，请刷新后重试") from None
        except (OperationalError, DBAPIError) as exc:
            session.rollback()
            raise StoreUnavailable(describe_db_error(exc)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

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
    if "unable to open" in text:
        return "无法打开数据库文件：请检查路径和权限"
    if "connection" in text or "could not connect" in text:
        return "无法连接数据库服务器"
    return f"数据库错误：{str(getattr(exc, 'orig', exc)).splitlines()[0]}"
