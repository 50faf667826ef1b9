"""The headless commands, run as a user runs them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path, demo_template) -> list[str]:
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    return ["--data-dir", str(tmp_path)]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_units_json(db):
    r = run(*db, "units", "--json")
    assert r.returncode == 0, r.stderr
    units = json.loads(r.stdout)
    assert len(units) >= 20
    assert {"id", "callsign", "kind", "status", "lon", "lat"} <= set(units[0])
    assert {u["kind"] for u in units} >= {"patrol_car", "foot_patrol", "ebike_patrol", "community",
                                          "volunteer_patrol", "joint_defence", "peace_volunteer"}


def test_geocode_and_recommend_json(db):
    r = run(*db, "geocode", "福州路与西藏中路交叉口", "--json", "--limit", "3")
    assert r.returncode == 0, r.stderr
    cands = json.loads(r.stdout)
    assert cands and {"name", "kind", "lon", "lat", "admin", "score"} <= set(cands[0])
    top = cands[0]
    r = run(*db, "recommend", "--at", f"{top['lon']},{top['lat']}", "--category", "dispute", "--json")
    assert r.returncode == 0, r.stderr
    ranked = json.loads(r.stdout)
    assert ranked and {"id", "callsign", "eta_s", "route_m"} <= set(ranked[0])
    assert [u["eta_s"] for u in ranked] == sorted(u["eta_s"] for u in ranked)


def test_events_json_after_a_call(db):
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    app = bootstrap(Settings(data_dir=Path(db[1])))
    iid = app.services.open_call("13800000000", "测试").incident_id
    app.engine.dispose()
    r = run(*db, "events", "--incident", str(iid), "--json")
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)
    assert events[0]["kind"] == "call.received" and events[0]["incident_id"] == iid
    assert set(events[0]) >= {"id", "occurred_at", "kind", "incident_id", "unit_id", "seat", "operator", "payload"}
    assert events[0]["occurred_at"].endswith("Z")


@pytest.mark.parametrize("args", [
    ("geocode", ""), ("geocode", "？？？"), ("recommend", "--at", "abc"),
    ("recommend", "--at", "121.47,31.23", "--category", "飞碟"), ("nonsense-command",),
])
def test_user_mistakes_exit_nonzero_with_one_line(db, args):
    r = run(*db, *args)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr


def test_new_database_is_created_with_demo_or_empty(tmp_path):
    r = run("--data-dir", str(tmp_path / "a"), "units", "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)) >= 20
    r = run("--data-dir", str(tmp_path / "b"), "--no-demo", "units", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_unsupported_or_unreachable_database_one_line(tmp_path):
    for url in ("mysql://x/y", "postgresql://nobody@127.0.0.1:1/none"):
        r = run("--db", url, "units")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_setup_builds_every_cache_ahead_of_the_first_start(tmp_path):
    r = run("--data-dir", str(tmp_path), "setup")
    assert r.returncode == 0, r.stderr
    assert "已就绪" in r.stderr and "Traceback" not in r.stderr
    cache = next((tmp_path / "cache").iterdir())
    names = {p.name for p in cache.iterdir()}
    assert any(n.startswith("geocoder") for n in names) and any(n.endswith(".npz") for n in names), names
