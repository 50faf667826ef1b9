"""Schema migrations with Alembic, run programmatically at bootstrap. A database already
at the newest schema is recognised without loading Alembic (its import and the scan of
the scripts cost more than the rest of opening the database)."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from dispatch.domain.errors import StoreUnavailable
from dispatch.store.db import describe_db_error

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def script_heads(versions: Path = MIGRATIONS / "versions") -> frozenset[str] | None:
    """The head revisions of the migration scripts (those no other script revises), read
    from each script's `revision = ...` and `down_revision = ...` lines; None when a script
    cannot be read that way (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        found: dict[str, str] = {m[1]: m[2] for m in _ASSIGNMENT.finditer(path.read_text(encoding="utf-8"))}
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        down = (down,) if isinstance(down, str) else tuple(down or ())
        if not isinstance(revision, str) or not all(isinstance(d, str) for d in down):
            return None
        revisions.add(revision)
        parents.update(down)
    return frozenset(revisions - parents) if revisions else None


def database_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions the database is stamped with; None when it has no version table yet."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        return frozenset(row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version")))


def is_current(engine: Engine) -> bool:
    """True when the database is stamped with exactly the scripts' heads."""
    heads = script_heads()
    return heads is not None and database_revisions(engine) == heads


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (creates it on first start). Every
    head is upgraded: independent migrations may branch from the same parent."""
    try:
        if is_current(engine):
            return
        from alembic import command
        from alembic.util.exc import CommandError
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(describe_db_error(exc)) from None
    try:
        command.upgrade(alembic_config(engine), "heads")
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(describe_db_error(exc)) from None
    except CommandError as exc:  # stamped with a revision this program does not know
        raise StoreUnavailable("数据库的结构版本不是本程序所知的版本（可能由更新的程序创建）："
                               f"请使用对应版本的程序，或联系管理员（{exc}）") from None
