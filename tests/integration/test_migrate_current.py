"""A database already at the newest schema opens without Alembic (its import and the scan
of the scripts were a tenth of the start); an older one is still upgraded, and one stamped
by a newer program is still refused (issue 13, item 4)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dispatch.domain.errors import StoreUnavailable
from dispatch.store import migrate


def test_the_scripts_heads_are_alembics():
    from alembic.script import ScriptDirectory

    engine = create_engine("sqlite://")
    assert migrate.script_heads() == frozenset(ScriptDirectory.from_config(migrate.alembic_config(engine)).get_heads())


def test_script_heads_of_a_branch_and_its_merge(tmp_path: Path):
    for name, body in {"a.py": "revision = 'a'\ndown_revision = None\n",
                       "b.py": 'revision = "b"\ndown_revision = "a"\n',
                       "c.py": "revision: str = 'c'\ndown_revision: str | None = 'a'\n"}.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    assert migrate.script_heads(tmp_path) == {"b", "c"}
    (tmp_path / "d.py").write_text("revision = 'd'\ndown_revision = ('b', 'c')\n", encoding="utf-8")
    assert migrate.script_heads(tmp_path) == {"d"}
    (tmp_path / "e.py").write_text("revision = make_id()\ndown_revision = 'd'\n", encoding="utf-8")
    assert migrate.script_heads(tmp_path) is None  # not readable so: Alembic decides


def test_a_current_database_opens_without_alembic(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = create_engine(url)
    migrate.upgrade(engine)  # created through Alembic
    assert migrate.is_current(engine)
    code = ("import sys; from sqlalchemy import create_engine; from dispatch.store import migrate; "
            f"migrate.upgrade(create_engine({url!r})); print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_older_database_is_upgraded(tmp_path: Path):
    from alembic import command

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    command.upgrade(migrate.alembic_config(engine), "0001")
    assert not migrate.is_current(engine)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar() == 0  # 0004's table


def test_a_database_of_a_newer_program_is_refused(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreUnavailable, match="结构版本"):
        migrate.upgrade(engine)
