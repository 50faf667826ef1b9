"""`bench startup` (review finding 18): every figure measured from process start in a
fresh process, cold and warm apart, beside a bare web-view window measured in the same
run; the database it starts on is left as it was."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("window_usable_s", "map_drawn_s", "gazetteer_loaded_s", "road_graph_loaded_s", "kernels_compiled_s",
         "first_recommendation_s")


def test_bench_startup_reports_each_step_cold_and_warm_with_the_peer(tmp_path, demo_template):
    import shutil

    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from dispatch.store import eventlog

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "bench", "startup", "--runs", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert got["bench"] == "startup" and got["units"] > 0
    for run in ("cold", "warm_median"):
        for step in STEPS:
            assert got[run][step] > 0, (run, step)
        # usable means the queue and board show the database; everything else comes after start
        assert got[run]["window_usable_s"] < got[run]["first_recommendation_s"]
    for peer in ("cold_peer", "warm_peer_median"):
        assert 0 < got[peer]["usable_s"] <= got[peer]["ready_s"]
    assert got["ratio_usable_warm"] == round(got["warm_median"]["window_usable_s"]
                                             / got["warm_peer_median"]["usable_s"], 2)
    app = bootstrap(Settings(data_dir=tmp_path))
    try:
        with app.session() as s:
            assert [e.kind for e in eventlog.read(s)] == [e.kind for e in _template_events(demo_template, tmp_path)]
    finally:
        app.engine.dispose()


def _template_events(template: Path, tmp_path: Path) -> list:
    import shutil

    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from dispatch.store import eventlog

    d = tmp_path / "template"
    d.mkdir()
    shutil.copy(template, d / "dispatch.sqlite3")
    app = bootstrap(Settings(data_dir=d))
    try:
        with app.session() as s:
            return eventlog.read(s)
    finally:
        app.engine.dispose()
