"""Training exercises run on a copy of the database, never on the live one."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from dispatch.domain.errors import DispatchError


def make_training_copy(live_url: str, dest: Path) -> str:
    """Copy a SQLite database (consistently, with the backup API, even while the
    console writes to it) to `dest` and return the copy's URL."""
    if not live_url.startswith("sqlite:///"):
        raise DispatchError("培训副本目前只支持 SQLite 数据库；PostgreSQL 请由管理员复制数据库")
    src = Path(live_url.split("///", 1)[1])
    if not src.is_file():
        raise DispatchError(f"数据库文件不存在: {src}")
    dest = Path(dest)
    if dest.resolve() == src.resolve():
        raise DispatchError("培训副本不能与实战数据库是同一个文件")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as s, sqlite3.connect(dest) as d:
        s.backup(d)
    return f"sqlite:///{dest}"
