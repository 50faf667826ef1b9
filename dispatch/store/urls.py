"""Checks of a database URL and of the data directory before anything is opened, so a
user's mistake is one clear line, never a traceback or a database that silently vanishes."""
from __future__ import annotations

from pathlib import Path

from dispatch.domain.errors import DispatchError

SUPPORTED = ("sqlite:", "postgresql:", "postgresql+psycopg:")


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for other URLs)."""
    if not url.startswith("sqlite:"):
        return None
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    return Path(path.split("?", 1)[0]) if path else Path("")


def check_database_url(url: str) -> None:
    """Refuse an unsupported, malformed or in-memory URL; make sure a SQLite file can be
    created where the URL says."""
    if not url.startswith(SUPPORTED):
        raise DispatchError(f"不支持的数据库地址（只支持 sqlite:/// 和 postgresql://）: {url}")
    path = sqlite_path(url)
    if path is not None:
        text = str(path)
        if not text or text in (".", ":memory:") or "mode=memory" in url or ":memory:" in url:
            raise DispatchError("不能使用内存数据库：程序退出时所有警情都会丢失；请指定数据库文件，"
                                "如 sqlite:///路径/dispatch.sqlite3")
        if path.is_dir():
            raise DispatchError(f"数据库地址指向一个目录，而不是文件: {path}")
        ensure_dir(path.parent, "数据库目录")
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parsed = make_url(url)
        _ = parsed.host, parsed.port  # the port is parsed lazily
    except (ArgumentError, ValueError) as exc:
        raise DispatchError(f"数据库地址格式不正确: {url}（{exc}）") from None
    if not parsed.database:
        raise DispatchError(f"数据库地址缺少数据库名: {url}")


def ensure_dir(path: Path, what: str = "目录") -> Path:
    """Create a directory (and parents) or say in one line why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DispatchError(f"无法创建{what}（同名文件已存在）: {path}") from None
    except OSError as exc:
        raise DispatchError(f"无法创建{what} {path}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise DispatchError(f"{what}不是目录: {path}")
    return path
