"""回访: the list of closed incidents due a callback, overdue ones flagged, the callback
recorded — through the services and through `act` / `incidents --json`."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dispatch.services import callbacks
from tests.integration.act_support import run_act

REPO = Path(__file__).resolve().parents[2]
HOUR = 3600


def _closed(app, number: str, result: str = "mediated") -> int:
    iid = app.services.open_call(number).incident_id
    app.services.close(iid, result)
    return iid


def test_due_overdue_and_done(app, clock):
    old = _closed(app, "13800000021")
    clock.advance(70 * HOUR)
    recent = _closed(app, "13800000022")
    _closed(app, "13800000023", "invalid")      # no callback for an invalid call
    _closed(app, "", "advised")                 # nobody to call back
    clock.advance(1 * HOUR)
    with app.session() as s:  # `recent` closed one hour ago: not due yet; `old` 71 hours ago
        assert [(d.incident_id, d.overdue) for d in callbacks.due(s, clock.now())] == [(old, False)]
    clock.advance(2 * HOUR)
    with app.session() as s:
        due = callbacks.due(s, clock.now())
        assert [(d.incident_id, d.overdue) for d in due] == [(old, True), (recent, False)]
        assert due[0].caller_number == "13800000021" and due[0].result_label == "调解"
    app.services.callback(old, False, "民警未回电")
    with app.session() as s:
        assert [d.incident_id for d in callbacks.due(s, clock.now())] == [recent]
        rec = callbacks.callbacks(s, [old, recent])
    assert rec[recent] is None
    assert (rec[old].satisfied, rec[old].note, rec[old].at) == (False, "民警未回电", clock.now())


def test_callback_through_act_and_incidents_json(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")

    def act(cmds: list[dict]) -> list[dict]:
        return run_act(tmp_path, cmds)

    iid = act([{"op": "open_call", "number": "13800000024"}])[0]["incident_id"]
    out = act([{"op": "callback", "incident_id": iid, "satisfied": True},
               {"op": "close", "incident_id": iid, "result": "advised"},
               {"op": "callback", "incident_id": iid, "satisfied": True, "note": "满意"}])
    assert [o["ok"] for o in out] == [False, True, True] and "尚未结警" in out[0]["error"]
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "incidents", "--all", "--json"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    mine = next(i for i in json.loads(r.stdout) if i["id"] == iid)
    assert mine["callback"]["satisfied"] is True and mine["callback"]["note"] == "满意"
    assert mine["notifications"] == []


def test_callback_rates_for_the_statistics(app, clock):
    start = clock.now()
    a, b, c = (_closed(app, f"1380000002{k}") for k in (5, 6, 7))
    _closed(app, "13800000028", "duplicate")  # not one that calls for a callback
    app.services.callback(a, True)
    app.services.callback(b, False, "未解决")
    with app.session() as s:
        summary = callbacks.callback_summary(s, start, clock.now() + timedelta(seconds=1))
    assert summary == {"closed": 3, "called_back": 2, "satisfied": 1, "callback_rate": 2 / 3,
                       "satisfaction_rate": 0.5}
