"""The batch writer and what uses it: fixes never bump the version a seat checks (a
status change during a storm of fixes on the same unit never conflicts, on SQLite and
PostgreSQL), `unit_json`, the 0002 migration, `avl listen` and `bench avl` commands."""
from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import select, text

from dispatch.domain.units import UnitStatus
from dispatch.feeds.avl_store import PositionWriter
from dispatch.store.positions import Fix
from dispatch.services import queries
from dispatch.store import migrate
from dispatch.store.schema import UnitRow
from tests.conftest import REPO
from tests.integration.avl_support import TERMINAL, unit_id


def _unit(app, uid: int):  # noqa: ANN001, ANN202
    with app.store.reader() as s:
        return s.execute(select(UnitRow.lon, UnitRow.lat, UnitRow.position_at, UnitRow.position_source,
                                UnitRow.version, UnitRow.status).where(UnitRow.id == uid)).one()


def _storm_and_toggle(app) -> None:  # noqa: ANN001
    uid = unit_id(app)
    before = _unit(app, uid)
    writer = PositionWriter(app.store, max_delay_s=0.002, max_batch=50)
    stop = threading.Event()
    t0 = app.clock.now()

    def storm() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            writer.submit(Fix(uid, t0 + timedelta(milliseconds=k), 121.47 + k * 1e-7, 31.23, 30.0, 90.0))
            if k % 10 == 0:
                time.sleep(0.0005)

    thread = threading.Thread(target=storm)
    thread.start()
    try:
        time.sleep(0.05)
        moves = [UnitStatus.OFF_DUTY, UnitStatus.AVAILABLE] * 10
        for target in moves:  # each a seat's transaction with its version check: none may conflict
            app.services.set_unit_status(uid, target)
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join()
        writer.close()
    after = _unit(app, uid)
    assert writer.batches > len(moves) and writer.failed == 0
    assert after.version == before.version + len(moves)  # only the seat's changes count
    assert after.status == UnitStatus.AVAILABLE.value
    assert after.position_source == "avl" and after.lon > 121.47


def test_status_changes_during_a_storm_of_fixes_never_conflict(app):
    _storm_and_toggle(app)


def test_storm_on_postgresql(pg_url, tmp_path, clock):
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        _storm_and_toggle(app)
        app.engine.dispose()


def test_unit_json_has_terminal_source_and_staleness(app):
    uid = unit_id(app)
    writer = PositionWriter(app.store)
    at = app.clock.now() + timedelta(seconds=10)
    writer.submit(Fix(uid, at, 121.4805, 31.2351))
    writer.close()
    with app.session() as s:
        snap = next(u for u in queries.unit_snapshots(s) if u.id == uid)
        other = next(u for u in queries.unit_snapshots(s) if u.id != uid)
    d = queries.unit_json(snap, at + timedelta(seconds=299), 300)
    assert (d["terminal"], d["position_source"], d["stale"]) == (TERMINAL, "avl", False)
    assert d["position_at"] == "2026-11-23T04:00:10Z" and (d["lon"], d["lat"]) == (121.4805, 31.2351)
    assert queries.unit_json(snap, at + timedelta(seconds=301), 300)["stale"] is True
    assert queries.unit_json(other, at, 300)["position_source"] == "post"


def test_a_fix_older_than_the_projection_does_not_move_the_unit(app):
    uid = unit_id(app)
    writer = PositionWriter(app.store)
    now = app.clock.now()
    writer.submit(Fix(uid, now + timedelta(seconds=20), 121.49, 31.24))
    writer.close()
    writer = PositionWriter(app.store)
    writer.submit(Fix(uid, now + timedelta(seconds=10), 121.40, 31.20))
    writer.close()
    assert (_unit(app, uid).lon, _unit(app, uid).lat) == (121.49, 31.24)


def test_migration_0002_upgrades_a_0001_database(tmp_path):
    from dispatch.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    command.upgrade(migrate.alembic_config(engine), "0001")
    with engine.begin() as c:
        c.execute(text("INSERT INTO units (version, callsign, kind, status, status_since, lon, lat, home_lon,"
                       " home_lat, station, duty, leader, phone, members) VALUES (1, '旧01', 'patrol_car',"
                       " 'available', '2026-01-01 00:00:00', 121.4, 31.2, 121.4, 31.2, '', '[]', '', '', 2)"))
    migrate.upgrade(engine)
    with engine.connect() as c:
        row = c.execute(text("SELECT terminal, auth_code, position_source FROM units")).one()
    assert tuple(row) == (None, "", "post")
    engine.dispose()


def _main(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_avl_listen_stores_and_stops_cleanly_on_sigterm(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    proc = _main("--data-dir", str(tmp_path), "avl", "listen", "--jt808", "127.0.0.1:0", "--udp", "127.0.0.1:0")
    try:
        line = proc.stderr.readline()
        m = re.search(r"udp=127\.0\.0\.1:(\d+)", line)
        assert m and "jt808=127.0.0.1:" in line, line
        at = datetime.now(timezone.utc).isoformat()  # the command runs on the system clock
        fix = {"terminal": TERMINAL, "code": TERMINAL, "lon": 121.4811, "lat": 31.2388, "at": at, "crs": "wgs84"}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(json.dumps(fix).encode() + b"\n{broken\n", ("127.0.0.1", int(m.group(1))))
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    stats = json.loads(out.strip().splitlines()[-1])["avl"]
    assert (stats["stored"], stats["fixes"], stats["bad_json"]) == (1, 1, 1)
    units = json.loads(subprocess.run([sys.executable, str(REPO / "main.py"), "--data-dir", str(tmp_path),
                                       "units", "--json"], cwd=REPO, capture_output=True, text=True).stdout)
    assert any(u["callsign"] == "黄巡01" and (u["lon"], u["lat"]) == (121.4811, 31.2388) for u in units)


@pytest.mark.parametrize("argv", [["avl", "listen"], ["avl", "listen", "--jt808", "nowhere"],
                                  ["bench", "avl", "--hz", "2", "--units", "1", "--seconds", "1"]])
def test_avl_user_mistakes_are_one_line_and_exit_2(tmp_path, argv):
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "--data-dir", str(tmp_path), "--no-demo",
                           *argv], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_bench_avl_small_run(capsys):
    from dispatch.cli import main

    assert main(["bench", "avl", "--units", "4", "--seconds", "2", "--peer-sample", "4"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (figures["bench"], figures["units"], figures["fixes"], figures["dropped"]) == ("avl", 4, 8, 0)
    assert figures["stored_p95_ms"] is not None and figures["peer_ms_per_fix"] > 0


def test_a_failed_batch_is_counted_and_the_writer_goes_on(app, caplog):
    uid = unit_id(app)
    writer = PositionWriter(app.store, max_delay_s=0.01)
    at = app.clock.now() + timedelta(seconds=5)
    writer.submit(Fix(uid, at, None, None))  # type: ignore[arg-type]  # NOT NULL in positions
    time.sleep(0.6)  # its own batch (and its one retry)
    writer.submit(Fix(uid, at, 121.4805, 31.2351))
    writer.close()
    assert (writer.failed, writer.stored) == (1, 1)
    assert (_unit(app, uid).lon, _unit(app, uid).lat) == (121.4805, 31.2351)
