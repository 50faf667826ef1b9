"""联动: notify partners, acknowledge, reminders when unacknowledged — through the
services on a real demo database, and through `act` and `incidents --json`."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from dispatch.domain.agencies import ACK_REMINDER_S
from dispatch.domain.errors import DispatchError
from dispatch.services import joint_response as jr
from dispatch.store import eventlog

REPO = Path(__file__).resolve().parents[2]


def test_notify_acknowledge_and_reminder(app, clock):
    ctx = app.services.ctx
    iid = app.services.open_call("13800000011").incident_id
    jr.notify(ctx, iid, "119", "电话", reference="FD-0931", note="三楼冒烟")
    clock.advance(40)
    jr.notify(ctx, iid, "燃气", "system")
    with app.session() as s:
        told = jr.notifications(s, [iid])[iid]
        assert [(n.agency, n.method, n.reference) for n in told] == [("119", "phone", "FD-0931"), ("gas", "system", "")]
        assert jr.due_reminders(s, clock.now()) == []
    clock.advance(ACK_REMINDER_S - 40)
    with app.session() as s:  # 119 is due a reminder now, 燃气 forty seconds later
        assert [n.agency for n in jr.due_reminders(s, clock.now())] == ["119"]
    jr.acknowledge(ctx, iid, "119", reference="FD-0931")
    clock.advance(40)
    with app.session() as s:
        told = jr.notifications(s, [iid])[iid]
        assert told[0].acknowledged_at == clock.now() - timedelta(seconds=40)
        assert told[1].acknowledged_at is None
        assert [n.agency for n in jr.due_reminders(s, clock.now())] == ["gas"]
        kinds = [e.kind for e in eventlog.read(s, incident_id=iid)]
    assert kinds.count("agency.notified") == 2 and kinds.count("agency.acknowledged") == 1
    # a closed incident drops out of the reminders, and its acknowledgement may still come
    app.services.close(iid, "advised")
    with app.session() as s:
        assert jr.due_reminders(s, clock.now()) == []
    jr.acknowledge(ctx, iid, "gas")
    with pytest.raises(DispatchError, match="没有待确认"):
        jr.acknowledge(ctx, iid, "gas")
    with pytest.raises(DispatchError, match="已结警"):
        jr.notify(ctx, iid, "120")


def test_refusals_change_nothing(app):
    ctx = app.services.ctx
    iid = app.services.open_call("13800000012").incident_id
    with app.session() as s:
        before = eventlog.last_id(s)
    for call in (lambda: jr.notify(ctx, iid, "110消防"), lambda: jr.notify(ctx, iid, "120", "飞鸽"),
                 lambda: jr.notify(ctx, 999999, "120"), lambda: jr.notify(ctx, iid, "120", note="x" * 500),
                 lambda: jr.acknowledge(ctx, iid, "120"), lambda: jr.acknowledge(ctx, iid)):
        with pytest.raises(DispatchError) as exc:
            call()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc.value))
    with app.session() as s:
        assert eventlog.last_id(s) == before


def _run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), *args], cwd=REPO,
                       input=stdin, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_notify_and_acknowledge_through_act(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    out = [json.loads(x) for x in _run(tmp_path, "act", stdin='{"op": "open_call", "number": "13800000013"}\n').stdout.splitlines()]
    iid = out[0]["incident_id"]
    cmds = [{"op": "notify", "incident_id": iid, "agency": "120", "method": "电话", "reference": "JJ-77"},
            {"op": "notify", "incident_id": iid, "agency": "供电", "method": "对讲"},
            {"op": "acknowledge", "incident_id": iid, "agency": "120"},
            {"op": "notify", "incident_id": iid, "agency": "消防队"},
            {"op": "acknowledge", "incident_id": iid, "notification_id": 1},
            {"op": "acknowledge", "incident_id": iid}]
    out = [json.loads(x) for x in _run(tmp_path, "act", stdin="\n".join(json.dumps(c, ensure_ascii=False) for c in cmds) + "\n").stdout.splitlines()]
    assert [o["ok"] for o in out] == [True, True, True, False, False, False], out
    assert "未知的联动单位" in out[3]["error"] and out[1]["notification_id"] > out[0]["notification_id"]
    listed = json.loads(_run(tmp_path, "incidents", "--json").stdout)
    mine = next(i for i in listed if i["id"] == iid)
    assert [(n["agency"], n["method"], n["reference"], n["acknowledged_at"] is not None)
            for n in mine["notifications"]] == [("120", "phone", "JJ-77", True), ("power", "radio", "", False)]
    assert mine["callback"] is None


def test_the_timeline_says_who_was_told(app, clock):
    from dispatch.replay.timeline import describe
    iid = app.services.open_call("13800000014").incident_id
    jr.notify(app.services.ctx, iid, "122", "对讲", reference="JG-5", note="高架匝道三车追尾")
    clock.advance(95)
    jr.acknowledge(app.services.ctx, iid, "122")
    with app.session() as s:
        lines = [describe(e) for e in eventlog.read(s, incident_id=iid)][1:]
    assert lines == ["联动通知 122 交警（对讲），对方编号 JG-5，高架匝道三车追尾",
                     "联动确认 122 交警，对方编号 JG-5，通知后 1 分 35 秒"]


def test_ack_summary_for_the_statistics(app, clock):
    ctx = app.services.ctx
    iid = app.services.open_call("13800000015").incident_id
    for code in ("119", "120", "gas"):
        jr.notify(ctx, iid, code)
    for code, wait in (("120", 30), ("119", 90)):
        clock.advance(wait)
        jr.acknowledge(ctx, iid, code)
    with app.session() as s:
        summary = jr.ack_summary(jr.notifications(s, [iid])[iid])
    assert summary == {"notified": 3, "acknowledged": 2, "median_ack_s": 30.0, "p90_ack_s": 120.0}


def test_joint_response_transfer_and_callbacks_on_postgresql(pg_url, tmp_path, clock):
    from dispatch.bootstrap import bootstrap
    from dispatch.services import callbacks
    from dispatch.services.transfer import transfer
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        try:
            ctx = app.services.ctx
            a = app.services.open_call("13800000016").incident_id
            b = app.services.open_call("13800000017").incident_id
            jr.notify(ctx, a, "供水", "系统", reference="GS-1")
            clock.advance(60)
            jr.acknowledge(ctx, a, "water")
            transfer(ctx, b, "12345 政务服务热线", "非警务求助")
            app.services.close(a, "rescued")
            clock.advance(3 * 3600)
            with app.session() as s:
                assert jr.notifications(s, [a])[a][0].acknowledged_at is not None
                assert [d.incident_id for d in callbacks.due(s, clock.now())] == [a]
        finally:
            app.engine.dispose()


def test_statistics_give_acknowledgement_times_and_callback_rates(app, clock, capsys):
    from dispatch.cli import main
    ctx = app.services.ctx
    iid = app.services.open_call("13800000012").incident_id
    jr.notify(ctx, iid, "120", "电话")
    clock.advance(90)
    jr.acknowledge(ctx, iid, "120")
    jr.notify(ctx, iid, "供电", "电话")          # never acknowledged
    app.services.close(iid, "advised")
    app.services.callback(iid, True)
    other = app.services.open_call("13800000013").incident_id
    app.services.close(other, "advised")       # closed, no callback yet
    app.engine.dispose()
    assert main(["--data-dir", str(app.settings.data_dir), "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["joint_response"] == {"notified": 2, "acknowledged": 1, "median_ack_s": 90.0, "p90_ack_s": 90.0}
    cb = stats["callbacks"]
    assert (cb["closed"], cb["called_back"], cb["satisfied"]) == (2, 1, 1) and cb["callback_rate"] == 0.5
