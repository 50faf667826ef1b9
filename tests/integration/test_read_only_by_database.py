"""Replay, statistics and review connections are read-only by the database itself: a
write that goes around the services' flag is still refused (issue 11, item 3)."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispatch.bootstrap import bootstrap
from dispatch.settings import Settings


def _write_is_refused(engine) -> None:
    with pytest.raises(DBAPIError) as info:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('tamper', 'x')"))
    assert "read" in str(info.value).lower()


def test_sqlite_replay_engine_refuses_writes(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    live = bootstrap(Settings(data_dir=tmp_path))
    ro = bootstrap(Settings(data_dir=tmp_path), read_only=True)
    assert len(ro.unit_snapshots()) == len(live.unit_snapshots()) > 0  # it reads
    _write_is_refused(ro.engine)
    with pytest.raises(Exception):  # not through an ORM session either
        with ro.store.transaction() as s:
            s.execute(text("DELETE FROM units"))
    assert len(live.unit_snapshots()) > 0
    ro.engine.dispose()
    live.engine.dispose()


def test_postgresql_replay_engine_refuses_writes(pg_url, tmp_path):
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        live = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
        live.services.open_call("110", "测试")
        ro = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), read_only=True)
        with ro.session() as s:
            assert s.execute(text("SELECT count(*) FROM events")).scalar() == 1  # same schema, reads
        _write_is_refused(ro.engine)
        ro.engine.dispose()
        live.engine.dispose()
