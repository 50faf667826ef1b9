"""`roads build-hierarchy` run as a user runs it: on the demo (below CH_MIN_NODES) it
says the hierarchy is not needed and writes nothing; a bad option changes nothing."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_build_hierarchy_on_a_small_graph_builds_nothing(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    r = run("--data-dir", str(tmp_path), "roads", "build-hierarchy")
    assert r.returncode == 0, r.stderr
    assert "无需构建" in r.stdout and "Traceback" not in r.stderr
    assert not list(tmp_path.rglob("*-ch*.npz"))


def test_build_hierarchy_rejects_an_unknown_option(tmp_path):
    r = run("--data-dir", str(tmp_path), "--no-demo", "roads", "build-hierarchy", "--fast")
    assert r.returncode != 0 and "--fast" in r.stderr and not list(tmp_path.rglob("*-ch*.npz"))


def test_bench_recommend_few_units_measures_the_hierarchy(tmp_path):
    """50 units: the car mode is answered on the hierarchy, built first (and timed) when
    its cache is absent, loaded the next time; 200 units: not on it."""
    import json
    args = ("bench", "recommend", "--nodes", "20000", "--queries", "10", "--cache-dir", str(tmp_path))
    figs, errs = [], []
    for units in ("50", "50", "200"):
        r = run(*args, "--units", units)
        assert r.returncode == 0, r.stderr
        figs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        errs.append(r.stderr)
    built, loaded, many = figs
    assert built["ch"] and built["ch_queries"] == built["queries"] == 10
    assert built["ch_build_cpu_s"] > 0 and built["ch_build_s"] > 0 and "ch_load_s" not in built
    assert built["build_cpu_s"] > 0 and "路网分层索引已构建" in errs[0]
    assert loaded["ch"] and loaded["ch_queries"] == 10 and "ch_load_s" in loaded
    assert "ch_build_s" not in loaded and "build_s" not in loaded and "路网分层索引已载入" in errs[1]
    assert not many["ch"] and many["ch_queries"] == 0 and "ch_load_s" not in many
    assert len(list(tmp_path.glob("*-ch*.npz"))) == 1
