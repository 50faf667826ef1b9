"""`python main.py act`: a whole call headless, and hostile lines refused one by one."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.integration.act_support import REPO, run_act


def test_a_whole_call_through_act(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    out = run_act(tmp_path, [json.dumps({"op": "open_call", "number": "13800000001", "name": "王先生"})])
    iid = out[0]["incident_id"]
    cmds = [{"op": "locate", "incident_id": iid, "text": "福州路和西藏中路路口"},
            {"op": "categorise", "incident_id": iid, "category": "dispute"},
            {"op": "dispatch", "incident_id": iid},
            {"op": "close", "incident_id": iid, "result": "mediated", "note": "已调解"},
            {"op": "callback", "incident_id": iid, "satisfied": True}]
    out = run_act(tmp_path, [json.dumps(c, ensure_ascii=False) for c in cmds])
    assert all(o["ok"] for o in out), out
    assert "福州路" in out[0]["name"] and "西藏中路" in out[0]["name"]
    assert out[2]["unit_ids"]
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "events", "--incident",
                        str(iid), "--json"], cwd=REPO, capture_output=True, text=True, timeout=60)
    kinds = [e["kind"] for e in json.loads(r.stdout)]
    assert kinds[0] == "call.received" and "unit.dispatched" in kinds and "incident.closed" in kinds
    assert kinds[-1] == "callback.done"


def test_hostile_lines_are_refused_one_by_one(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    lines = ["{", "[1,2]", '"op"', '{"op": 5}', '{"op": "drop_tables"}',
             '{"op": "locate", "incident_id": "1; DROP TABLE events", "text": "福州路"}',
             '{"op": "locate", "incident_id": 99999999999999999999999, "text": "福州路"}',
             '{"op": "locate", "incident_id": 1, "lon": NaN, "lat": 31.2}',
             '{"op": "status", "unit_id": true, "status": "available"}',
             '{"op": "status", "unit_id": 1, "status": "flying"}',
             '{"op": "dispatch", "incident_id": 12345}',
             '{"op": "close", "incident_id": 12345, "result": "handled"}',
             '{"op": "callback", "incident_id": 1, "satisfied": "yes"}',
             "[" * 5000 + "]" * 5000,
             '{"op": "open_call", "number": "x' + "9" * 100 + '"}',
             '{"op": "open_call", "number": "110"}']
    out = run_act(tmp_path, lines)
    assert len(out) == len(lines)
    assert [o["ok"] for o in out] == [False] * (len(lines) - 1) + [True]
    assert all(o["error"] for o in out[:-1])
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in o["error"]) for o in out[:-1])  # Chinese messages
