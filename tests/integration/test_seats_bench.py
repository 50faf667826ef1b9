"""`bench seats`: seats as separate processes on one database (SQLite, and PostgreSQL
when DISPATCH_TEST_PG_URL is set) print one JSON line with no missed event, no double
dispatch and fold = projections; the checks behind those figures do catch a planted
fault; bad arguments are one line and exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from dispatch.commands.seats_bench import _double_dispatches, _fold_mismatches
from dispatch.services.locations import Location
from tests.conftest import REPO

KEYS = {"seats", "events", "events_per_s", "p50_ms", "p95_ms", "missed", "double_dispatch",
        "visible_p95_ms", "fold_equal"}


def _bench(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), "--data-dir", str(tmp_path),
                           "bench", "seats", *argv], cwd=REPO, capture_output=True, text=True, timeout=300)


def _figures(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # the JSON line only; progress goes to stderr
    figures = json.loads(lines[0])
    assert KEYS <= figures.keys()
    return figures


def _assert_sound(figures: dict, seats: int) -> None:
    assert figures["seats"] == seats and figures["events"] > 0 and figures["events_per_s"] > 0
    assert (figures["missed"], figures["double_dispatch"], figures["fold_equal"]) == (0, 0, True)
    assert figures["delivered_twice"] == 0 and figures["errors"] == 0
    assert figures["calls"] > 0 and 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert figures["visible_n"] > 0 and figures["visible_p95_ms"] is not None


def test_two_seats_on_sqlite(tmp_path):
    figures = _figures(_bench(tmp_path, "--seats", "2", "--seconds", "5"))
    assert figures["db"] == "sqlite"
    _assert_sound(figures, 2)


def _bench_schemas(pg_url: str) -> set[str]:
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as c:
        names = set(c.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'seats_bench_%'")).scalars())
    engine.dispose()
    return names


@pytest.mark.postgres
def test_two_seats_on_postgresql_in_a_schema_dropped_after(tmp_path, pg_url):
    before = _bench_schemas(pg_url)
    figures = _figures(_bench(tmp_path, "--seats", "2", "--seconds", "5", "--db", pg_url))
    assert figures["db"] == "postgresql"
    _assert_sound(figures, 2)
    # the append lock's queue and hold, measured on the actions' real statements
    assert 0 < figures["lock_hold_p50_ms"] <= figures["lock_hold_p95_ms"]
    assert 0 <= figures["lock_wait_p50_ms"] <= figures["lock_wait_p95_ms"]
    assert _bench_schemas(pg_url) <= before


@pytest.mark.parametrize("argv", [["--seats", "0"], ["--seats", "many"], ["--seconds", "0"],
                                  ["--seconds", "99999"], ["--seats", "65"], ["--pace-ms", "-1"],
                                  ["--db", "sqlite:///tmp/live.sqlite3"], ["--db", "mysql://x/y"]])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, argv):
    proc = _bench(tmp_path, *argv)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "dispatch.sqlite3").exists()  # refused before anything was opened


def _dispatched(app) -> tuple[int, int]:  # noqa: ANN001
    sv = app.services
    iid = sv.open_call("13800000000", "").incident_id
    sv.locate(iid, Location("人民广场", 121.4737, 31.2304, "landmark"))
    sv.categorise(iid, "theft")
    unit = next(u.id for u in app.unit_snapshots() if u.status.value == "available" and u.kind.is_police)
    sv.dispatch(iid, [unit])
    return iid, unit


def test_the_checks_find_a_second_open_assignment_and_a_projection_off_the_log(app):
    iid, unit = _dispatched(app)
    assert _double_dispatches(app) == 0 and _fold_mismatches(app) == []
    with app.engine.begin() as c:  # a second open assignment of the same unit, behind the services
        c.execute(text("INSERT INTO assignments (incident_id, unit_id, dispatched_at) "
                       "SELECT incident_id, unit_id, dispatched_at FROM assignments WHERE unit_id = :u"), {"u": unit})
        c.execute(text("UPDATE incidents SET status = 'closed' WHERE id = :i"), {"i": iid})
    assert _double_dispatches(app) == 1
    assert f"incident {iid}" in _fold_mismatches(app)


@pytest.mark.postgres
def test_a_burst_of_commits_is_coalesced_into_few_wakes_and_the_last_is_never_dropped(pg_url, tmp_path):
    """The listener wakes at once after quiet, at most once per coalesce_s during a burst,
    and once more after the burst's last commit: the follower then reads every event."""
    import time

    from dispatch.bootstrap import bootstrap
    from dispatch.feeds.follower import Follower
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
        follower = Follower(app.store)
        wakes: list[float] = []
        follower.listen(lambda: wakes.append(time.monotonic()), coalesce_s=1.0)
        assert follower.listener is not None and follower.listener.connected.wait(10)
        delays = []
        for _ in range(3):  # other databases' tests may NOTIFY on the same channel: up to 3 tries
            time.sleep(1.2)  # quiet for longer than coalesce_s
            wakes.clear()
            first = time.monotonic()
            app.services.open_call("13800000001", "")
            time.sleep(0.6)
            delays.append(wakes[0] - first if wakes else 9.9)
            if delays[-1] < 0.5:
                break
        assert min(delays) < 0.5  # after quiet: at once, not a coalesce_s later
        wakes.clear()
        notified, burst_start = follower.listener.notifications, time.monotonic()
        for k in range(30):  # a burst: 30 commits, each with its NOTIFY
            app.services.open_call(f"1380000{k:04d}", "")
        burst_end = time.monotonic()
        time.sleep(1.6)
        assert follower.listener.notifications - notified >= 30
        assert 1 <= len(wakes) <= 2 + (burst_end - burst_start) / 1.0  # coalesced, not 30 wakes
        assert wakes[-1] >= burst_end - 0.05  # the burst's tail woke the follower after it ended
        assert len(follower.read_new()) == len(delays) + 30
        follower.close()
        app.engine.dispose()
