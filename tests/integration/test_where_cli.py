"""`where --at LON,LAT [--json]` as a user runs it."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_where_json_and_text(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    # 40 m east of the eastern shared node of 福州路 and 西藏中路 (OSM node 9381975894)
    lon, lat = 121.4719013, 31.2335565
    lon += 40 / (6371008.8 * math.pi / 180 * math.cos(math.radians(lat)))
    r = run("--data-dir", str(tmp_path), "where", "--at", f"{lon:.7f},{lat:.7f}", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["name"] == "福州路与西藏中路交叉口" and out["kind"] == "intersection"
    assert out["direction"] == "东" and abs(out["distance_m"] - 40) < 1
    assert out["admin"] == ["上海市", "黄浦区"] and out["grid"]
    assert out["label"] == "福州路与西藏中路交叉口 东40米"
    r = run("--data-dir", str(tmp_path), "where", "--at", f"{lon:.7f},{lat:.7f}")
    assert r.returncode == 0 and r.stdout.startswith("福州路与西藏中路交叉口 东40米")


def test_where_bad_coordinates(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    for bad in ("abc", "121.47", "200,31", "nan,nan", "116.397,39.909"):
        r = run("--data-dir", str(tmp_path), "where", "--at", bad)
        assert r.returncode == 2, (bad, r.stdout)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
