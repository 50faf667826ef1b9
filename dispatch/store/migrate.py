"""Schema migrations with Alembic, run programmatically at bootstrap."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from dispatch.domain.errors import StoreUnavailable
from dispatch.store.db import describe_db_error

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (creates it on first start). Every
    head is upgraded: independent migrations may branch from the same parent."""
    try:
        command.upgrade(alembic_config(engine), "heads")
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(describe_db_error(exc)) from None
    except CommandError as exc:  # stamped with a revision this program does not know
        raise StoreUnavailable("数据库的结构版本不是本程序所知的版本（可能由更新的程序创建）："
                               f"请使用对应版本的程序，或联系管理员（{exc}）") from None
