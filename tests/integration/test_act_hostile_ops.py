"""Every `act` operation added this round refuses nonsense with a message and goes on:
wrong types, huge numbers, missing fields, unknown ids — never a traceback, never a write."""
from __future__ import annotations

import json
import sqlite3

from tests.integration.act_support import run_act

OPS = ["reopen", "move", "link", "unlink", "suggest_links", "calls", "history", "mark_number",
       "fraud_record", "fraud_request", "fraud_result", "fraud_case", "fraud_export", "refer",
       "follow_up", "overdue_referrals"]
JUNK = [{}, {"incident_id": "一"}, {"incident_id": 2 ** 70}, {"incident_id": -3}, {"incident_id": None},
        {"incident_id": 999999, "to": 5, "reason": ["x"]}, {"number": {"a": 1}, "mark": 7},
        {"incident_id": 1.5, "victim_accounts": "6222", "fraud_accounts": None, "transfers": "lots"},
        {"incident_id": True, "path": "/nonexistent-dir/x.csv"},
        {"today": "明天", "to": "外星人", "contact": "", "follow_up_on": "2026-13-45"}]


def test_new_operations_refuse_nonsense_and_write_nothing(tmp_path):
    run_act(tmp_path, [{"op": "units"}])  # creates the demo database
    db = tmp_path / "dispatch.sqlite3"
    with sqlite3.connect(db) as c:
        before = c.execute("select count(*) from events").fetchone()[0]
    lines = [json.dumps({"op": op, **junk}, ensure_ascii=False) for op in OPS for junk in JUNK]
    out = run_act(tmp_path, lines)
    assert len(out) == len(lines)
    for line, result in zip(lines, out):
        if result.get("ok"):  # a read that has nothing to say about junk (e.g. overdue_referrals)
            assert json.loads(line)["op"] in ("overdue_referrals", "history", "suggest_links", "calls"), (line, result)
        else:
            assert isinstance(result.get("error"), str) and result["error"], (line, result)
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from events").fetchone()[0] == before
