"""Who may go: availability, duty windows, capability, stale positions, busy units."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from dispatch.domain.incidents import category
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus
from dispatch.geo.recommend import fitness, format_eta, recommend
from dispatch.geo.roads import RoadGraph

LON0, LAT0, D = 121.47, 31.23, 0.001
NOON = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)        # 12:00 Shanghai
HALF_PAST_MIDNIGHT = datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)  # 00:30
EVENING = datetime(2026, 11, 23, 11, 30, tzinfo=timezone.utc)   # 19:30
AT = (LON0 + 5 * D, LAT0 + 5 * D)


@pytest.fixture(scope="module")
def grid() -> RoadGraph:
    """A 11x11 two-way residential grid, ~100 m blocks."""
    n = 11
    r, c = np.divmod(np.arange(n * n), n)
    lon, lat = LON0 + c * D, LAT0 + r * D
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return RoadGraph.from_edges(lon, lat, u, v, np.full(len(u), 20.0), np.zeros(len(u), bool),
                                np.zeros(len(u), bool))


def unit(i, kind=UnitKind.PATROL_CAR, status=UnitStatus.AVAILABLE, blocks=(1, 0), now=NOON,
         age_s=10, duty=(), home=(0, 0), incident=None) -> UnitSnapshot:
    lon, lat = AT[0] + blocks[0] * D, AT[1] + blocks[1] * D
    return UnitSnapshot(i, f"U{i}", kind, status, lon, lat,
                        None if age_s is None else now - timedelta(seconds=age_s),
                        AT[0] + home[0] * D, AT[1] + home[1] * D, duty=duty, incident_id=incident)


def ids(items):
    return [x.unit_id for x in items]


def test_ranked_by_eta_with_reasons(grid):
    units = [unit(1, blocks=(3, 0)), unit(2, blocks=(1, 0)), unit(3, blocks=(2, 2))]
    rec = recommend(grid, units, AT, category("theft"), NOON)
    assert ids(rec.ranked) == [2, 1, 3]
    etas = [r.eta_s for r in rec.ranked]
    assert etas == sorted(etas)
    first = rec.ranked[0]
    assert first.route_m == pytest.approx(D * 111_195 * np.cos(np.radians(AT[1])), rel=0.01)
    assert first.reasons[0] == "最快到达"
    assert any("路程" in s and "预计" in s for s in first.reasons)
    assert {"id", "callsign", "eta_s", "route_m"} <= set(first.as_json())


def test_limit(grid):
    units = [unit(i, blocks=(i - 3, 1)) for i in range(1, 8)]
    rec = recommend(grid, units, AT, None, NOON, limit=3)
    assert len(rec.ranked) == 3 and not rec.excluded


def test_duty_window_across_midnight(grid):
    night = (DutyWindow.parse("19:00-01:00"),)
    for now, on in ((NOON, False), (HALF_PAST_MIDNIGHT, True), (EVENING, True)):
        units = [unit(1, UnitKind.JOINT_DEFENCE, duty=night, now=now)]
        rec = recommend(grid, units, AT, category("dispute"), now)
        if on:
            assert ids(rec.ranked) == [1]
        else:
            assert rec.ranked == [] and rec.excluded[0].reason == "不在岗时段 19:00-01:00"


def test_volunteers_never_alone_to_danger(grid):
    units = [unit(1, UnitKind.PEACE_VOLUNTEER), unit(2, UnitKind.PATROL_CAR, blocks=(4, 4))]
    danger = recommend(grid, units, AT, category("criminal"), NOON)
    assert ids(danger.ranked) == [2]
    assert danger.excluded[0].unit_id == 1 and danger.excluded[0].reason == "群防力量不单独处置有危险的警情"
    for code in ("missing_person", "dispute", "utility_hazard"):
        rec = recommend(grid, units, AT, category(code), NOON)
        assert ids(rec.ranked) == [1, 2], code


def test_capability_and_no_category():
    assert fitness(UnitKind.VOLUNTEER_PATROL, category("telecom_fraud")) == "不具备执法能力"
    assert fitness(UnitKind.VILLAGE_TEAM, None) == "未选警情类别，仅推荐警力"
    assert fitness(UnitKind.COMMUNITY, None) is None
    assert fitness(UnitKind.JOINT_DEFENCE, category("lost_property")) is None


def test_no_category_means_police_only(grid):
    units = [unit(1, UnitKind.VOLUNTEER_PATROL), unit(2, UnitKind.FOOT_PATROL, blocks=(2, 0))]
    rec = recommend(grid, units, AT, None, NOON)
    assert ids(rec.ranked) == [2] and ids(rec.excluded) == [1]


def test_stale_position_uses_home_post(grid):
    fresh = unit(1, blocks=(1, 0), age_s=100, home=(5, 5))
    stale = unit(2, blocks=(0, 1), age_s=12 * 60, home=(4, 4))
    never = unit(3, blocks=(0, -1), age_s=None, home=(-3, -3))
    rec = recommend(grid, [fresh, stale, never], AT, None, NOON, stale_after_s=300)
    assert ids(rec.ranked) == [1, 3, 2]
    by = {r.unit_id: r for r in rec.ranked}
    assert not by[1].stale and by[2].stale and by[3].stale
    assert "位置已过期 12 分钟，按驻点计算" in by[2].reasons
    assert "无位置上报，按驻点计算" in by[3].reasons
    assert by[2].from_lonlat == pytest.approx((AT[0] + 4 * D, AT[1] + 4 * D))


def test_busy_units_closer_are_listed(grid):
    units = [unit(1, blocks=(3, 0)), unit(2, blocks=(0, 4)),
             unit(3, status=UnitStatus.EN_ROUTE, blocks=(1, 0), incident=42),
             unit(4, status=UnitStatus.ON_SCENE, blocks=(5, 5), incident=43),
             unit(5, status=UnitStatus.OFF_DUTY, blocks=(0, 1))]
    rec = recommend(grid, units, AT, None, NOON, limit=2)
    assert ids(rec.ranked) == [1, 2]
    assert ids(rec.busy) == [3] and rec.busy[0].busy
    assert rec.busy[0].eta_s < rec.ranked[-1].eta_s
    assert "已派往警情 42" in rec.busy[0].reasons[0]
    reasons = {e.unit_id: e.reason for e in rec.excluded}
    assert reasons[5] == "不在线"
    assert reasons[4].startswith("已派往警情 43")


def test_eta_counts_the_snap_leg(grid):
    on_road = unit(1, blocks=(2, 0))
    rec0 = recommend(grid, [on_road], AT, None, NOON)
    off = UnitSnapshot(1, "U1", UnitKind.PATROL_CAR, UnitStatus.AVAILABLE, AT[0] + 2 * D,
                       AT[1] + 0.0003, NOON, AT[0], AT[1])
    rec1 = recommend(grid, [off], AT, None, NOON)
    r0, r1 = rec0.ranked[0], rec1.ranked[0]
    assert r1.snap_m == pytest.approx(0.0003 * 111_195, rel=0.01)
    assert r1.eta_s - r0.eta_s == pytest.approx(r1.snap_m / (10 / 3.6), rel=1e-6)


def test_format_eta():
    assert format_eta(190) == "3 分 10 秒"
    assert format_eta(45) == "45 秒"


def test_one_duty_rule_committed_unit_stays_on_its_incident(grid):
    # a 联防中队 on 19:00-01:00 still on scene at noon is on duty (dispatch.domain.duty):
    # it is searched and shown busy, never excluded as 不在岗
    night = (DutyWindow.parse("19:00-01:00"),)
    units = [unit(1, blocks=(3, 0)),
             unit(2, UnitKind.JOINT_DEFENCE, UnitStatus.ON_SCENE, blocks=(1, 0), duty=night, incident=7)]
    rec = recommend(grid, units, AT, category("dispute"), NOON, limit=1)
    assert ids(rec.ranked) == [1] and ids(rec.busy) == [2]
    assert not any("不在岗" in e.reason for e in rec.excluded)


def test_a_fix_goes_stale_by_its_unit_kind(grid):
    """A car's terminal reports every few seconds, a volunteer's phone rarely: the same
    150 s of silence makes the car stale (counted from its post) but not the volunteer."""
    car = unit(1, UnitKind.PATROL_CAR, blocks=(1, 0), age_s=150, home=(5, 5))
    foot = unit(2, UnitKind.FOOT_PATROL, blocks=(0, 2), age_s=150, home=(6, 6))
    rec = recommend(grid, [car, foot], AT, None, NOON)
    by = {r.unit_id: r for r in rec.ranked}
    assert by[1].stale and not by[2].stale
    assert by[1].from_lonlat == pytest.approx((AT[0] + 5 * D, AT[1] + 5 * D))
    rec = recommend(grid, [car, foot], AT, None, NOON, stale_after_s=100)  # one limit for every kind
    assert all(r.stale for r in rec.ranked)
