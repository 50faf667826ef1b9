"""`roads import-osm`, `recommend` and `bench recommend` run as a user runs them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OSM = REPO / "resources" / "demo" / "shanghai-huangpu.osm"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_import_osm(tmp_path):
    r = run("--data-dir", str(tmp_path), "--no-demo", "roads", "import-osm", str(OSM))
    assert r.returncode == 0, r.stderr
    assert "路网已导入" in r.stdout and "强连通分量" in r.stdout
    assert list(tmp_path.rglob("*.roads.npz"))


def test_import_osm_missing_file(tmp_path):
    r = run("--data-dir", str(tmp_path), "--no-demo", "roads", "import-osm", str(tmp_path / "x.osm"))
    assert r.returncode != 0 and "找不到 OSM 文件" in r.stderr and "Traceback" not in r.stderr


def test_recommend_json_and_text(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    db = ["--data-dir", str(tmp_path)]
    r = run(*db, "recommend", "--at", "121.4737,31.2305", "--category", "missing_person", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    ranked = [u for u in out if not u["busy"]]
    assert ranked and {"id", "callsign", "eta_s", "route_m", "reasons"} <= set(ranked[0])
    assert [u["eta_s"] for u in ranked] == sorted(u["eta_s"] for u in ranked)
    r = run(*db, "recommend", "--at", "121.4737,31.2305", "--limit", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("1. ") and "预计" in r.stdout
    r = run(*db, "recommend", "--at", "abc")
    assert r.returncode == 2 and "坐标格式" in r.stderr


def test_bench_recommend_small(tmp_path):
    r = run("bench", "recommend", "--nodes", "20000", "--units", "200", "--queries", "20",
            "--cache-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    fig = json.loads(lines[0])
    assert fig["bench"] == "recommend" and fig["units"] == 200 and 19000 < fig["nodes"] <= 20000
    assert 0 < fig["p50_ms"] <= fig["p95_ms"]
    # the peer in the same run, cold apart from warm, and F5 through the services
    assert fig["scipy_p95_ms"] > 0 and fig["ratio"] == round(fig["scipy_p95_ms"] / fig["p95_ms"], 2)
    assert fig["cold_ms"] > 0 and fig["queries"] == 20 and fig["moved_per_query"] >= 1
    assert 0 < fig["e2e_p50_ms"] <= fig["e2e_p95_ms"] and fig["e2e_queries"] == 20
