"""The timeline says in words what the lead's actions, repeated calls, 止付 and referrals did."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.replay.timeline import describe

CASES = [
    (ev.INCIDENT_REOPENED, {"reason": "家属再次报警"}, "重新打开：家属再次报警"),
    (ev.INCIDENT_MOVED, {"from_seat": "席位01", "to_seat": "席位03", "reason": "换班"}, "改派席位 席位01 → 席位03：换班"),
    (ev.CALL_LINKED, {"to_incident": 12, "reason": ""}, "关联到警情 12"),
    (ev.CALL_UNLINKED, {"from_incident": 12}, "取消与警情 12 的关联"),
    (ev.NUMBER_MARKED, {"number": "13800000000", "mark": "nuisance", "note": "一夜十次"},
     "标记号码 13800000000 为骚扰电话：一夜十次"),
    (ev.FRAUD_RECORDED, {"victim_accounts": [{}], "fraud_accounts": [{}, {}], "total_amount": 52000.0},
     "止付登记：受害账户 1 个，涉案账户 2 个，合计 52,000.0 元"),
    (ev.FRAUD_REQUESTED, {"method": "系统", "reference": "ZF-1"}, "止付申请已发（系统），编号 ZF-1"),
    (ev.FRAUD_RESULT, {"outcome": "部分止付", "amount_stopped": 30000, "note": ""}, "止付结果：部分止付，止付 30,000 元"),
    (ev.DISPUTE_REFERRED, {"to": "人民调解", "contact": "王调解员", "follow_up_on": "2026-12-02", "note": ""},
     "移交人民调解 王调解员，回访日期 2026-12-02"),
    (ev.DISPUTE_FOLLOWED_UP, {"to": "网格员", "outcome": "已调解", "note": "双方签字"}, "纠纷回访（网格员）：已调解：双方签字"),
]


@pytest.mark.parametrize("kind,payload,line", CASES)
def test_each_kind_reads_as_a_sentence(kind, payload, line):
    e = Event(1, datetime(2026, 11, 30, tzinfo=timezone.utc), kind, 5, None, "席位01", "张三", payload)
    assert describe(e) == line


def test_a_confirmed_arrival_names_its_fix():
    fix = {"lon": 121.482315, "lat": 31.234, "at": "2026-11-23T04:01:02Z", "source": "avl", "metres": 30.0}
    e = Event(2, datetime(2026, 11, 30, tzinfo=timezone.utc), ev.UNIT_STATUS, 5, 7, "席位01", "张三",
              {"from": "en_route", "to": "on_scene", "callsign": "黄巡01", "fix": fix})
    line = describe(e)
    assert line.startswith("黄巡01 → 到场，定位到场提示") and "121.482315,31.234000" in line and "30米" in line


def test_a_categorised_line_shows_its_narrative_on_one_line_cut_short():
    at = datetime(2026, 11, 30, tzinfo=timezone.utc)
    bare = Event(3, at, ev.INCIDENT_CATEGORISED, 5, None, "席位01", "张三",
                 {"category": "dispute", "priority": "normal", "narrative": ""})
    assert describe(bare) == "矛盾纠纷，非紧急"
    told = Event(4, at, ev.INCIDENT_CATEGORISED, 5, None, "席位01", "张三",
                 {"category": "dispute", "priority": "normal", "narrative": "邻里因停车\n发生争吵，  无人受伤"})
    assert describe(told) == "矛盾纠纷，非紧急：邻里因停车 发生争吵， 无人受伤"
    long = Event(5, at, ev.INCIDENT_CATEGORISED, 5, None, "席位01", "张三",
                 {"category": "dispute", "priority": "normal", "narrative": "甲" * 100})
    assert describe(long) == "矛盾纠纷，非紧急：" + "甲" * 39 + "…"
