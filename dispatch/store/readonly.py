"""Read-only connections for replay, statistics and review: read-only by the database
itself, not only by a flag — SQLite is opened with `mode=ro`, PostgreSQL sessions start
with `default_transaction_read_only` on. A write through such an engine is refused by the
database."""
from __future__ import annotations

import sqlite3
from urllib.parse import quote

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from dispatch.store.urls import sqlite_path

READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def make_read_only_engine(url: str) -> Engine:
    """An engine on the same database as `url` that can only read."""
    path = sqlite_path(url)
    if path is not None:
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"

        def connect() -> sqlite3.Connection:
            con = sqlite3.connect(uri, uri=True, timeout=5, check_same_thread=False)
            con.execute("PRAGMA busy_timeout=5000")
            return con

        return create_engine(f"sqlite:///{path}", creator=connect)
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1)
                      if url.startswith("postgresql://") else url)
    options = f"{parsed.query.get('options', '')} {READ_ONLY_OPTION}".strip()
    return create_engine(parsed.update_query_dict({"options": options}), pool_pre_ping=True)
