"""import-calls: a made-up call log in the shape of a real public export (NOPD "Calls for
Service": 12-hour clock with AM/PM, America/Chicago across the 2024-11-03 fall-back hour,
blank arrival times, quoted fields with commas) imports with its TOML mapping, and
`stats --by priority --json` reproduces figures computed here, independently, from the raw
file. Bad rows are reported by line and nothing is kept; a second import adds nothing;
imported calls never reach the queue and cannot be dispatched."""
from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.integration.act_support import run_act

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "call_logs"
CSV_FILE, MAPPING = DATA / "nopd_style_calls.csv", DATA / "nopd.toml"


def main_py(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


# ---- the figures, computed from the raw file without the importer ---------------------------
CHICAGO = ZoneInfo("America/Chicago")


def _readings(text: str) -> tuple[datetime, datetime] | None:
    if not text.strip():
        return None
    wall = datetime.strptime(text.strip(), "%m/%d/%Y %I:%M:%S %p")
    return tuple(wall.replace(tzinfo=CHICAGO, fold=f).astimezone(timezone.utc) for f in (0, 1))


def _row_times(row: dict) -> list[datetime | None]:
    """received, dispatched, arrived, closed: the first reading of a repeated wall time
    unless it would go back before the row's previous time (the README's rule)."""
    received = _readings(row["TimeCreate"])[0]
    out, before = [received], received
    for col in ("TimeDispatch", "TimeArrive", "TimeClosed"):
        pair = _readings(row[col])
        if pair is None:
            out.append(None)
        else:
            before = pair[0] if pair[0] >= before else pair[1]
            out.append(before)
    return out


def _figures(rows: list[dict]) -> dict:
    def stats_of(pairs: list[tuple]) -> dict:
        xs = [(b - a).total_seconds() for a, b in pairs if a is not None and b is not None]
        if not xs:
            return {"n": 0, "p50_s": None, "p90_s": None}
        p90 = statistics.quantiles(xs, n=10, method="inclusive")[8] if len(xs) > 1 else xs[0]
        return {"n": len(xs), "p50_s": round(statistics.median(xs), 1), "p90_s": round(p90, 1)}

    times = [_row_times(r) for r in rows]
    return {"calls": len(rows), "intervals": {
        "received_to_dispatched": stats_of([(t[0], t[1]) for t in times]),
        "received_to_arrived": stats_of([(t[0], t[2]) for t in times]),
        "arrived_to_closed": stats_of([(t[2], t[3]) for t in times])}}


def test_import_then_stats_by_priority_match_the_raw_file(tmp_path):
    data = ["--data-dir", str(tmp_path), "--no-demo"]
    r = main_py(*data, "import-calls", str(CSV_FILE), "--mapping", str(MAPPING), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"source": "nopd-style", "rows": 64, "added": 64, "skipped": 0}
    r = main_py(*data, "import-calls", str(CSV_FILE), "--mapping", str(MAPPING), "--json")
    assert json.loads(r.stdout)["added"] == 0                              # a second import adds nothing
    r = main_py(*data, "stats", "--by", "priority", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    with CSV_FILE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    want = _figures(rows)
    assert got["calls"] == want["calls"] == 64
    assert got["intervals"] == want["intervals"]
    by_priority: dict[str, list[dict]] = {}
    for row in rows:
        by_priority.setdefault(row["Priority"], []).append(row)
    assert set(got["groups"]) == set(by_priority)
    for prio, members in by_priority.items():
        assert got["groups"][prio] == _figures(members), prio
    # a blank arrival leaves the call out of the arrival intervals, not out of the count
    assert want["intervals"]["received_to_arrived"]["n"] < 64
    # the repeated hour: some calls were received in the second 01:xx (after the fall-back)
    assert any(r["TimeCreate"].startswith("11/03/2024 01:") for r in rows)
    r = main_py(*data, "incidents", "--json")
    assert json.loads(r.stdout) == []                                      # history, not the queue
    r = main_py(*data, "verify-log", "--json")
    assert json.loads(r.stdout)["ok"] is True


def test_imported_calls_cannot_be_dispatched(tmp_path):
    data = ["--data-dir", str(tmp_path), "--no-demo"]
    assert main_py(*data, "import-calls", str(CSV_FILE), "--mapping", str(MAPPING)).returncode == 0
    out = run_act(tmp_path, [{"op": "status", "unit_id": 1, "status": "en_route"},
                             {"op": "note", "incident_id": 1, "text": "补充"},
                             {"op": "close", "incident_id": 1, "result": "handled"}])
    assert [o["ok"] for o in out] == [False, False, False] and "结警" in out[1]["error"]


def test_bad_rows_are_reported_by_line_and_nothing_is_kept(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = CSV_FILE.read_text(encoding="utf-8").splitlines()
    cells = next(csv.reader([lines[3]]))
    cells[9] = "2024-11-02 22:15"                       # line 4: a time not in the mapping's format
    row4 = _csv_line(cells)
    cells = next(csv.reader([lines[5]]))
    cells[9] = ""                                       # line 6: no received time
    row6 = _csv_line(cells)
    bad.write_text("\n".join(lines[:3] + [row4, lines[4], row6] + lines[6:]) + "\n", encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "d"), "--no-demo"]
    r = main_py(*data, "import-calls", str(bad), "--mapping", str(MAPPING))
    assert r.returncode == 2 and "第 4 行" in r.stderr and "第 6 行" in r.stderr and "received_at" in r.stderr
    r = main_py(*data, "events", "--json")
    assert json.loads(r.stdout) == []                                      # nothing of it was kept


def test_mapping_mistakes_are_explained(tmp_path):
    m = tmp_path / "m.toml"
    for text, says in (('[columns]\nreceived_at = "TimeCreate"\n[time]\nformat = "%m"\ntimezone = "Mars/Olympus"\n', "时区"),
                       ('[columns]\nwhen = "TimeCreate"\n[time]\nformat = "%m"\ntimezone = "UTC"\n', "未知字段"),
                       ('[columns\n', "TOML"),
                       ('[columns]\nreceived_at = "NoSuchColumn"\n[time]\nformat = "%m"\ntimezone = "UTC"\n', "缺少映射中的列")):
        m.write_text(text, encoding="utf-8")
        r = main_py("--data-dir", str(tmp_path / "d"), "--no-demo", "import-calls", str(CSV_FILE), "--mapping", str(m))
        assert r.returncode == 2 and says in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_only_an_administrator_imports_on_a_database_with_accounts(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    r = main_py(*data, "--user", "demo-lead", "import-calls", str(CSV_FILE), "--mapping", str(MAPPING),
                env={"DISPATCH_PASSWORD": "demo"})
    assert r.returncode == 2 and "管理员" in r.stderr
    r = main_py(*data, "--user", "demo-admin", "import-calls", str(CSV_FILE), "--mapping", str(MAPPING), "--json",
                env={"DISPATCH_PASSWORD": "demo"})
    assert r.returncode == 0 and json.loads(r.stdout)["added"] == 64, r.stderr


def _csv_line(cells: list[str]) -> str:
    import io
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue().rstrip("\r\n")
