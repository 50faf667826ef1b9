"""Backup of a running database and restore into a new one: the restored log passes
verify-log and its fold equals the restored projections; a non-empty target is refused."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dispatch.bootstrap import bootstrap
from dispatch.services.context import Actor
from dispatch.settings import Settings
from dispatch.store import hashchain
from tests.integration.pg_schema import fresh_schema
from tests.conftest import NOON_UTC
from tests.integration.test_one_instant import TickingClock, _police, fold_mismatches, run_shift

REPO = Path(__file__).resolve().parents[2]


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True)


def _check_restored(url: str, data_dir: Path, events_at_least: int) -> int:
    r = _main("--db", url, "--data-dir", str(data_dir), "--no-demo", "verify-log", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    verdict = json.loads(r.stdout)
    assert verdict["ok"] and verdict["events"] >= events_at_least
    restored = bootstrap(Settings(db_url=url, data_dir=data_dir, load_demo=False))
    assert fold_mismatches(restored) == []
    restored.engine.dispose()
    return verdict["events"]


def _count(app) -> int:  # noqa: ANN001
    with app.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM events")).scalar()


@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_sqlite_backup_while_a_seat_writes_then_restore(app, clock, tmp_path, fmt):
    police = _police(app)
    run_shift(app.services, police[:4], calls=3)
    before = _count(app)
    seat_b = bootstrap(app.settings, clock=clock).services_for(Actor("席位02", "接警员乙"))
    stop = threading.Event()

    def keep_writing() -> None:  # another seat keeps taking calls during the backup
        while not stop.is_set():
            seat_b.add_note(seat_b.open_call("110", "").incident_id, "备份期间的来电")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        file = tmp_path / ("backup.jsonl" if fmt else "backup.sqlite3")
        r = _main("--data-dir", str(app.settings.data_dir), "backup", str(file), *(["--format", fmt] if fmt else []))
    finally:
        stop.set()
        writer.join()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["format"] == (fmt or "sqlite")
    target = tmp_path / "restored" / "dispatch.sqlite3"
    target.parent.mkdir()
    r = _main("restore", str(file), "--db", f"sqlite:///{target}")
    assert r.returncode == 0, r.stderr
    restored_events = _check_restored(f"sqlite:///{target}", tmp_path / "restored", before)
    assert restored_events <= _count(app)


def test_restore_refuses_a_database_that_is_not_empty(app, tmp_path):
    run_shift(app.services, _police(app)[:2], calls=1)
    file = tmp_path / "b.sqlite3"
    assert _main("--data-dir", str(app.settings.data_dir), "backup", str(file)).returncode == 0
    live = app.settings.data_dir / "dispatch.sqlite3"
    before = _count(app)
    r = _main("restore", str(file), "--db", f"sqlite:///{live}")
    assert r.returncode == 2 and "不是空的" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _count(app) == before
    r = _main("--data-dir", str(app.settings.data_dir), "backup", str(file))  # never overwrites
    assert r.returncode == 2 and "已存在" in r.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_postgresql_backup_and_restore(pg_url, tmp_path, fmt):
    clock = TickingClock(NOON_UTC)  # a clock that moves, as the real one does
    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        run_shift(app.services, _police(app)[:4], calls=3)
        before = _count(app)
        with app.engine.connect() as c:
            schema = c.execute(text("SELECT current_schema()")).scalar()
        file = tmp_path / ("pg.jsonl" if fmt else "pg.dump")
        r = _main("--db", url, "--data-dir", str(tmp_path), "backup", str(file),
                  *(["--format", fmt] if fmt else []))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["format"] == (fmt or "pg_dump")
        app.engine.dispose()
        if fmt:  # a logical export restores into any new schema
            with fresh_schema(pg_url) as target:
                assert _main("restore", str(file), "--db", target).returncode == 0
                assert _check_restored(target, tmp_path, before) == before
                seat = bootstrap(Settings(db_url=target, data_dir=tmp_path, load_demo=False), clock=clock)
                seat.services.open_call("110", "")  # sequences were moved past the restored ids
                seat.engine.dispose()
        else:  # pg_dump restores into a new database, schema and all
            db = f"s9_{uuid.uuid4().hex[:8]}"
            admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f"CREATE DATABASE {db}"))
            base = pg_url.rsplit("/", 1)[0]
            target = f"{base}/{db}?options=-csearch_path%3D{schema}"
            try:
                r = _main("restore", str(file), "--db", target)
                assert r.returncode == 0, r.stderr
                assert _check_restored(target, tmp_path, before) == before
            finally:
                with admin.connect() as c:
                    c.execute(text(f"DROP DATABASE {db} WITH (FORCE)"))
                admin.dispose()


def test_anchor_is_part_of_the_backup(app, tmp_path):
    run_shift(app.services, _police(app)[:2], calls=1)
    file = tmp_path / "b.jsonl"
    assert _main("--data-dir", str(app.settings.data_dir), "backup", str(file), "--format", "jsonl").returncode == 0
    lines = file.read_text(encoding="utf-8").splitlines()
    tables = {json.loads(line)["t"] for line in lines[1:-1]}
    assert json.loads(lines[-1])["rows"]["events"] == _count(app)  # the closing line's row counts
    assert {"events", "incidents", "units", "log_anchor"} <= tables
    with app.engine.connect() as c:
        assert hashchain.read_anchor(c).events == _count(app)


def _damaged(file: Path, how: str) -> Path:
    """A copy of a logical export damaged as a disk, a copy or a hand does it."""
    lines = file.read_text(encoding="utf-8").splitlines()
    mid = len(lines) // 2
    if how == "cut line":
        lines[mid] = lines[mid][:40]
    elif how == "truncated":
        lines = lines[:mid]
    elif how == "line lost":
        del lines[mid]
    elif how == "line twice":
        lines.insert(mid, lines[mid - 1])
    out = file.with_name(f"{how.replace(' ', '-')}.jsonl")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("how, said", [("cut line", "行已损坏"), ("truncated", "不完整"),
                                       ("line lost", "行数与其结尾记录不符"), ("line twice", "无法写入")])
def test_a_damaged_export_is_refused_and_leaves_the_target_empty(app, tmp_path, how, said):
    from dispatch.domain.errors import DispatchError
    from dispatch.store.backup import backup, restore
    run_shift(app.services, _police(app)[:2], calls=2)
    good = tmp_path / "b.jsonl"
    backup(app.engine, good, "jsonl")
    target = tmp_path / "new.sqlite3"
    with pytest.raises(DispatchError, match=said):
        restore(_damaged(good, how), f"sqlite:///{target}")
    assert not target.exists()  # nothing half restored: the good copy goes into the same target
    assert restore(good, f"sqlite:///{target}")["format"] == "jsonl"
    assert _check_restored(f"sqlite:///{target}", tmp_path / "r", _count(app)) == _count(app)


def test_a_damaged_sqlite_backup_is_refused_and_an_empty_target_stays_empty(app, tmp_path):
    from dispatch.domain.errors import DispatchError
    from dispatch.store.backup import backup, restore
    run_shift(app.services, _police(app)[:2], calls=2)
    good = tmp_path / "b.sqlite3"
    backup(app.engine, good)
    body = bytearray(good.read_bytes())
    third = len(body) // 3
    body[third:third + 8192] = b"\xff" * 8192  # pages in the middle overwritten: the header is intact
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(bytes(body))
    target = tmp_path / "new.sqlite3"
    target.touch()  # an empty file made for it beforehand stays, empty
    with pytest.raises(DispatchError, match="已损坏"):
        restore(bad, f"sqlite:///{target}")
    assert target.exists() and target.stat().st_size == 0
    assert restore(good, f"sqlite:///{target}")["format"] == "sqlite"


@pytest.mark.postgres
def test_a_damaged_export_leaves_a_postgresql_schema_empty(app, pg_url, tmp_path):
    from sqlalchemy import inspect

    from dispatch.domain.errors import DispatchError
    from dispatch.store.backup import backup, restore
    from dispatch.store.db import make_engine
    run_shift(app.services, _police(app)[:2], calls=1)
    good = tmp_path / "b.jsonl"
    backup(app.engine, good, "jsonl")
    with fresh_schema(pg_url) as url:
        with pytest.raises(DispatchError, match="行已损坏"):
            restore(_damaged(good, "cut line"), url)
        engine = make_engine(url)
        try:
            assert inspect(engine).get_table_names() == []
            with engine.connect() as c:
                assert not c.execute(text("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON"
                                          " n.oid = p.pronamespace WHERE n.nspname = current_schema()")).scalar()
        finally:
            engine.dispose()
        assert restore(good, url)["format"] == "jsonl"
