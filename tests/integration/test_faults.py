"""Faults: a killed process loses no confirmed call; a read-only or locked
database gives a clear message and writes nothing."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import StoreUnavailable
from dispatch.services import queries
from dispatch.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_killed_mid_call_loses_nothing_confirmed(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from dispatch.bootstrap import bootstrap
        from dispatch.settings import Settings
        from dispatch.services.locations import Location
        app = bootstrap(Settings(data_dir=Path({str(tmp_path)!r})))
        sv = app.services
        iid = sv.open_call("13800138000", "李先生").incident_id
        sv.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
        sv.categorise(iid, "theft", "urgent", "手机被抢")
        second = sv.open_call("13900000000", "").incident_id   # answered, nothing typed yet
        print(iid, second, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    iid, second = map(int, r.stdout.split())
    app = bootstrap(Settings(data_dir=tmp_path))
    with app.session() as s:
        open_ids = {v.id: v for v in queries.open_incidents(s)}
    assert iid in open_ids and second in open_ids
    assert open_ids[iid].place_name == "人民广场" and open_ids[iid].category == "theft"
    assert open_ids[second].caller_number == "13900000000"
    app.engine.dispose()


def test_read_only_database_refuses_clearly(tmp_path, demo_template):
    db = tmp_path / "ro.sqlite3"
    shutil.copy(demo_template, db)
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
    with pytest.raises(StoreUnavailable, match="只读"):
        app.services.open_call("110", "")
    with app.session() as s:
        assert queries.open_incidents(s) == []
    app.engine.dispose()


def test_locked_database_refuses_clearly_and_writes_nothing(app):
    db = app.settings.data_dir / "dispatch.sqlite3"
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="锁定"):
            app.services.open_call("110", "")
    finally:
        holder.rollback()
        holder.close()
    with app.session() as s:
        assert queries.open_incidents(s) == []


def test_cli_read_only_database_one_line(tmp_path, demo_template):
    db = tmp_path / "ro.sqlite3"
    shutil.copy(demo_template, db)
    os.chmod(db, 0o444)
    r = subprocess.run([sys.executable, "main.py", "--db", f"sqlite:///file:{db}?mode=ro&uri=true",
                        "--no-demo", "units", "--json"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # reading works


def _kill_own_backend_before(engine, admin, statement_prefix: str) -> dict:  # noqa: ANN001
    """Terminate the connection from another one just before it sends `statement_prefix`
    (once): the server drops a seat's connection in the middle of an action."""
    from sqlalchemy import event, text

    fired = {"n": 0}

    def before(conn, _cursor, statement, *_args):  # noqa: ANN001
        if fired["n"] == 0 and statement.lstrip().upper().startswith(statement_prefix):
            fired["n"] += 1
            pid = conn.connection.driver_connection.info.backend_pid
            with admin.begin() as c:
                c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(engine, "before_cursor_execute", before)
    return fired


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["INSERT INTO INCIDENTS", "WITH APPENDED", "SELECT EVENTS, LAST_ID, LAST_HASH FROM LOG_ANCHOR"])
def test_postgresql_connection_killed_mid_action_is_refused_and_half_nothing(pg_url, tmp_path, where):
    """The incident row is already inserted when the connection dies: nothing of the
    action remains, the seat gets one clear message, the next action works."""
    from sqlalchemy import create_engine, text

    from dispatch.services.clock import SystemClock
    from dispatch.store import hashchain
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=SystemClock())
        first = app.services.open_call("13800138000", "").incident_id
        admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        fired = _kill_own_backend_before(app.engine, admin, where)
        with pytest.raises(StoreUnavailable, match="连接中断"):
            app.services.open_call("13900139000", "王先生")
        assert fired["n"] == 1
        app.services.add_note(first, "断线后的下一个操作照常完成")  # the pool reconnects
        with app.engine.connect() as c:
            kinds = [r[0] for r in c.execute(text("SELECT kind FROM events ORDER BY id"))]
            callers = [r[0] for r in c.execute(text("SELECT caller_number FROM incidents"))]
            assert hashchain.verify(c).ok
        assert kinds == ["call.received", "incident.noted"] and callers == ["13800138000"]
        app.engine.dispose()
        admin.dispose()


def test_server_unreachable_at_start_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "main.py", "--db", "postgresql://postgres@127.0.0.1:1/test",
                        "--data-dir", str(tmp_path), "units", "--json"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "无法连接数据库服务器" in r.stderr
    assert "Traceback" not in r.stderr
