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
