"""Caller history: earlier incidents from a number (90 days, any spelling of it), their
counts, and the number's mark — set only by the shift lead, with a note, as an event."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.services.caller_history import caller_history, mark_number, number_mark
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.store import eventlog
from tests.integration.act_support import checked, REPO

DAY = 86400


def _last_id(app) -> int:  # noqa: ANN001
    with app.session() as s:
        return eventlog.last_id(s)


def test_earlier_calls_counts_and_window(app, clock):
    sv = app.services
    old = sv.open_call("13600001111").incident_id          # 100 days ago: outside the window
    clock.advance(10 * DAY)
    month = sv.open_call("+8613600001111").incident_id     # 90 days ago, another spelling
    sv.categorise(month, "dispute")
    sv.locate(month, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    sv.close(month, "mediated")
    clock.advance(85 * DAY)
    week = sv.open_call("136 0000 1111").incident_id       # 5 days ago
    sv.close(week, "invalid")
    clock.advance(4.5 * DAY)
    today = sv.open_call("13600001111").incident_id        # 12 hours ago, still open
    clock.advance(DAY / 2)
    now_call = sv.open_call("13600001111").incident_id     # the call in hand
    sv.open_call("13600002222")
    with app.session() as s:
        h = caller_history(s, "13600001111", clock.now(), exclude_id=now_call)
        everything = caller_history(s, "8613600001111", clock.now())
    assert [c.incident_id for c in h.calls] == [today, week, month] and old not in [c.incident_id for c in h.calls]
    assert (h.total, h.last_24h, h.last_7d) == (3, 1, 2)
    assert h.by_result == {"未结警": 1, "无效警情": 1, "调解": 1}
    m = h.calls[-1]
    assert (m.category, m.result, m.place) == ("矛盾纠纷", "调解", "人民广场")
    assert h.calls[0].place == "未定位" and h.mark is None
    assert everything.total == 4 and everything.calls[0].incident_id == now_call
    with app.session() as s:
        assert caller_history(s, "", clock.now()).total == 0


def test_only_the_lead_marks_with_a_note(app, clock):
    calltaker = app.services_for(Actor("席位01", "接警员甲", "calltaker")).ctx
    lead = app.services_for(Actor("席位09", "值班长甲", "lead")).ctx
    before = _last_id(app)
    for ctx, number, mark, note, words in (
            (calltaker, "13600003333", "nuisance", "反复骚扰", "需要值班长权限"),
            (app.services_for(Actor("席位01", "调度员", "dispatcher")).ctx, "13600003333", "repeat", "x", "值班长"),
            (lead, "13600003333", "nuisance", " ", "需要填写说明"),
            (lead, "13600003333", "spam", "x", "未知的号码标记"),
            (lead, "abc", "repeat", "x", "号码格式不正确"),
            (lead, "13600003333", "clear", "", "没有标记"),
            (lead, "13600003333", "repeat", "长" * 300, "最多")):
        with pytest.raises(DispatchError, match=words):
            mark_number(ctx, number, mark, note)
    assert _last_id(app) == before
    changes = mark_number(lead, "13600003333", "骚扰电话", "一周内无效来电 12 次")
    with app.session() as s:
        e = eventlog.read(s, since_id=before)[0]
        mark = number_mark(s, "+86 136-0000-3333".replace(" ", "").replace("-", ""))
    assert (e.kind, e.incident_id, e.id) == (ev.NUMBER_MARKED, None, changes.last_event_id)
    assert e.payload == {"number": "13600003333", "mark": "nuisance", "note": "一周内无效来电 12 次"}
    assert e.operator == "值班长甲"
    assert (mark.mark, mark.label, mark.note) == ("nuisance", "骚扰电话", "一周内无效来电 12 次")
    clock.advance(60)
    mark_number(lead, "13600003333", "repeat", "老人反复来电求助，已转社区")
    with app.session() as s:
        assert number_mark(s, "13600003333").label == "重复来电"
        assert caller_history(s, "13600003333", clock.now()).mark.note == "老人反复来电求助，已转社区"
    mark_number(lead, "13600003333", "clear")
    with app.session() as s:
        assert number_mark(s, "13600003333") is None


def test_mark_through_act_needs_the_lead(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")

    def act(user: str, cmds: list[dict]) -> list[dict]:
        r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "--user", user, "act"],
                           cwd=REPO, input="\n".join(json.dumps(c, ensure_ascii=False) for c in cmds) + "\n",
                           capture_output=True, text=True, timeout=180,
                           env=os.environ | {"DISPATCH_PASSWORD": "demo"})
        return checked(r)

    mark = {"op": "mark_number", "number": "13600004444", "mark": "nuisance", "note": "恶意骚扰"}
    out = act("demo-calltaker", [mark, {"op": "history", "number": "13600004444"}])
    assert out[0]["ok"] is False and "需要值班长权限" in out[0]["error"], out
    assert out[1]["ok"] and out[1]["mark"] is None
    out = act("demo-lead", [mark, {"op": "history", "number": "13600004444"}])
    assert out[0]["ok"] and out[1]["mark"]["label"] == "骚扰电话" and out[1]["mark"]["operator"] == "demo-lead"
