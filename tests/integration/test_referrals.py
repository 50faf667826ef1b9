"""矛盾纠纷 referral: refer, follow up, overdue — through the services on a real demo
database and through `act`."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.services import referrals as rf
from dispatch.store import eventlog

from tests.integration.act_support import run_act

TODAY = date(2026, 11, 23)  # the test clock: 2026-11-23 12:00 Asia/Shanghai


def _dispute(app) -> int:
    iid = app.services.open_call("13700000001").incident_id
    app.services.categorise(iid, "dispute")
    return iid


def test_refer_follow_up_and_overdue(app, clock):
    ctx = app.services.ctx
    a, b = _dispute(app), _dispute(app)
    theft = app.services.open_call("13700000003").incident_id
    app.services.categorise(theft, "theft")
    rf.refer(ctx, a, "网格员", "李网格 13800001111", TODAY, "邻里噪音")
    app.services.close(a, "mediated")
    rf.refer(ctx, a, "司法所", "城关司法所 0574-1234", "2026-11-25")  # after closing, a second one
    rf.refer(ctx, b, "人民调解", "张调解员", TODAY + timedelta(days=1))
    rf.refer(ctx, theft, "社区民警", "王警官", TODAY)
    with app.session() as s:
        got = rf.referrals(s, [a, theft])
        assert [r.to for r in got[a]] == ["网格员", "司法所"] and got[a][0].flag == ""
        assert got[theft][0].flag == "非纠纷类（盗窃）"  # allowed, flagged
        assert rf.overdue(s, TODAY) == []
        assert [r.incident_id for r in rf.due(s, TODAY)] == [a, theft]
        assert [(r.incident_id, r.to) for r in rf.overdue(s, TODAY + timedelta(days=3))] == \
            [(a, "网格员"), (theft, "社区民警"), (b, "人民调解"), (a, "司法所")]
    rf.follow_up(ctx, a, "已化解", "双方和解")  # the oldest waiting one: 网格员
    with app.session() as s:
        first = rf.referrals(s, [a])[a][0]
        assert (first.outcome, first.followed_up_at) == ("已化解", clock.now())
        late = rf.overdue(s, TODAY + timedelta(days=3))
    assert [(r.incident_id, r.to) for r in late] == [(theft, "社区民警"), (b, "人民调解"), (a, "司法所")]
    second = late[2].id
    rf.follow_up(ctx, a, "调解中", referral_id=second)
    with pytest.raises(DispatchError, match="没有待回访"):
        rf.follow_up(ctx, a, "已化解")


def test_refusals_write_nothing(app, clock):
    ctx = app.services.ctx
    iid = _dispute(app)
    with app.session() as s:
        before = eventlog.last_id(s)
    for call, message in [
        (lambda: rf.refer(ctx, iid, "居委会", "x", TODAY), "未知的移交对象"),
        (lambda: rf.refer(ctx, iid, "网格员", "  ", TODAY), "对接人"),
        (lambda: rf.refer(ctx, iid, "网格员", "x" * 201, TODAY), "过长"),
        (lambda: rf.refer(ctx, iid, "网格员", "李", TODAY - timedelta(days=1)), "已过"),
        (lambda: rf.refer(ctx, iid, "网格员", "李", "2026-13-01"), "格式不正确"),
        (lambda: rf.refer(ctx, iid, "网格员", "李", TODAY + timedelta(days=400)), "太远"),
        (lambda: rf.refer(ctx, 99999, "网格员", "李", TODAY), "不存在"),
        (lambda: rf.follow_up(ctx, iid, "已化解"), "没有待回访"),
        (lambda: rf.follow_up(ctx, iid, "还行"), "未知的回访结果"),
    ]:
        with pytest.raises(DispatchError, match=message):
            call()
    with app.session() as s:
        assert eventlog.last_id(s) == before


def test_local_date_decides_the_past(app, clock):
    """At 00:30 Shanghai (16:30 UTC the day before) 'today' is the Shanghai date."""
    ctx = app.services.ctx
    iid = _dispute(app)
    clock.advance(12.5 * 3600)  # 2026-11-24 00:30 local
    with pytest.raises(DispatchError, match="已过"):
        rf.refer(ctx, iid, "网格员", "李", TODAY)
    rf.refer(ctx, iid, "网格员", "李", TODAY + timedelta(days=1))


def test_act_ops(tmp_path: Path):
    res = run_act(tmp_path, [
        {"op": "open_call", "number": "13700000009"},
        {"op": "overdue_referrals"},
    ])
    iid = res[0]["incident_id"]
    res = run_act(tmp_path, [
        {"op": "categorise", "incident_id": iid, "category": "dispute"},
        {"op": "refer", "incident_id": iid, "to": "人民调解", "contact": "赵调解 139", "follow_up_on": "2000-01-01"},
        {"op": "refer", "incident_id": iid, "to": "人民调解", "contact": "赵调解 139", "follow_up_on": "2999-01-01"},
        {"op": "refer", "incident_id": iid, "to": "人民调解", "contact": "赵调解 139",
         "follow_up_on": (date.today() + timedelta(days=2)).isoformat()},
        {"op": "overdue_referrals", "today": (date.today() + timedelta(days=5)).isoformat()},
        {"op": "overdue_referrals", "today": "明天"},
        {"op": "follow_up", "incident_id": iid, "outcome": "已化解", "note": "签调解协议"},
        {"op": "overdue_referrals", "today": (date.today() + timedelta(days=5)).isoformat()},
        {"op": "follow_up", "incident_id": iid, "outcome": "已化解"},
    ])
    assert [r["ok"] for r in res] == [True, False, False, True, True, False, True, True, False], res
    assert "已过" in res[1]["error"] and res[3]["flag"] == ""
    assert [r["id"] for r in res[4]["referrals"]] == [res[3]["referral_id"]]
    assert res[7]["referrals"] == [] and "没有待回访" in res[8]["error"]


def test_fraud_and_referrals_on_postgresql(pg_url, tmp_path, clock):
    """The same reads from the log on PostgreSQL (JSON payloads, event order)."""
    from dispatch.bootstrap import bootstrap
    from dispatch.services import fraud
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=clock)
        try:
            ctx = app.services.ctx
            a = app.services.open_call("13700000021").incident_id
            app.services.categorise(a, "dispute")
            rf.refer(ctx, a, "人民调解", "赵调解", TODAY)
            b = app.services.open_call("13900000021").incident_id
            fraud.record(ctx, b, [{"account": "6222021234567890123", "bank": "工行"}],
                         [{"account": "6217000011112222333", "bank": "建行"}],
                         [{"amount": 500, "at": "2026-11-23T11:30"}])
            clock.advance(90)
            fraud.request_sent(ctx, b, "FZ-PG")
            with app.session() as s:
                assert [r.incident_id for r in rf.overdue(s, TODAY + timedelta(days=1))] == [a]
                assert fraud.case(s, b, clock.now()).answer_to_request_s == 90
                assert fraud.fraud_summary(s, None, None)["p50_s"] == 90
        finally:
            app.engine.dispose()
