"""Incident timelines and period statistics from IncidentViews (no database)."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.domain.incidents import IncidentStatus
from dispatch.replay.stats import compute_stats, write_csv
from dispatch.replay.timeline import incident_timeline, intervals, is_suburb
from dispatch.services.queries import AssignmentView, IncidentView
from dispatch.settings import Targets

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 Shanghai


def view(i, received, dispatch_s=None, ack_s=None, arrive_s=None, close_s=None, category="dispute",
         grid="G1", admin=("上海市", "黄浦区")):
    a = ()
    if dispatch_s is not None:
        d = received + timedelta(seconds=dispatch_s)
        a = (AssignmentView(7, "黄巡01", d, d + timedelta(seconds=ack_s) if ack_s is not None else None, None,
                            d + timedelta(seconds=arrive_s) if arrive_s is not None else None, None, 100.0, 900.0),)
    closed = received + timedelta(seconds=close_s) if close_s is not None else None
    return IncidentView(i, IncidentStatus.CLOSED if closed else IncidentStatus.DISPATCHED, received,
                        received, "138", "", "", "某路", "intersection", list(admin), "", 121.4, 31.2, grid,
                        category, "normal", "", "", "", closed, "席位01", "甲", 3, a)


def test_intervals_against_targets_city_and_suburb():
    targets = Targets()
    v = view(1, T0, dispatch_s=45, ack_s=20, arrive_s=330, close_s=1800)
    got = {i.name: (i.seconds, i.met) for i in intervals(v, targets)}
    assert got["接警→派警"] == (45, True)
    assert got["派警→签收"] == (20, True)
    assert got["派警→到场"] == (330, False)          # city: 5 minutes
    assert got["到场→结警"] == (1800 - 45 - 330, None)
    suburb = view(2, T0, dispatch_s=45, ack_s=20, arrive_s=330, admin=("宁波市", "镇海区", "庄市街道", "某村"))
    assert is_suburb(suburb)
    assert {i.name: i.met for i in intervals(suburb, targets)}["派警→到场"] is True  # suburb: 10 minutes
    pending = view(3, T0)
    assert [i.seconds for i in intervals(pending, targets)] == [None, None, None, None]


def test_timeline_lists_events_in_order_with_words():
    v = view(1, T0, dispatch_s=30, ack_s=10)
    events = [Event(2, T0 + timedelta(seconds=30), ev.UNIT_DISPATCHED, 1, 7, "席位01", "甲",
                    {"callsign": "黄巡01", "eta_s": 120.0}),
              Event(1, T0, ev.CALL_RECEIVED, 1, None, "席位01", "甲", {"caller_number": "138"}),
              Event(3, T0 + timedelta(seconds=40), ev.UNIT_ACKNOWLEDGED, 1, 7, "席位01", "甲",
                    {"from": "dispatched", "to": "acknowledged", "callsign": "黄巡01"})]
    tl = incident_timeline(v, events, Targets())
    assert [e.what for e in tl.entries] == ["接警", "派警", "签收"]
    assert "黄巡01" in tl.entries[1].detail and "预计 2分00秒到达" in tl.entries[1].detail
    assert "已签收" in tl.entries[2].detail


def test_timeline_names_units_by_callsign_and_eta_in_minutes():
    """The review read "警力 14 → 空闲" and "预计 1699 秒到达"."""
    v = view(1, T0, dispatch_s=30)
    events = [Event(1, T0, ev.UNIT_DISPATCHED, 1, 7, "席位01", "甲", {"eta_s": 1699.4}),
              Event(2, T0 + timedelta(seconds=60), ev.UNIT_STATUS, 1, 7, "席位01", "甲",
                    {"from": "dispatched", "to": "available"}),
              Event(3, T0 + timedelta(seconds=90), ev.UNIT_STATUS, 1, 14, "席位01", "甲",
                    {"from": "on_scene", "to": "available"})]
    details = [e.detail for e in incident_timeline(v, events, Targets(), callsigns={14: "浦巡03"}).entries]
    assert details[0] == "派出 黄巡01，预计 28分19秒到达"
    assert details[1] == "黄巡01 → 空闲" and details[2] == "浦巡03 → 空闲"
    assert not any("警力 " in d or "秒到达" in d and "分" not in d for d in details)


def test_stats_counts_percentiles_year_on_year_and_csv(tmp_path):
    targets = Targets()
    now = [view(i, T0 + timedelta(minutes=10 * i), dispatch_s=30 + i, ack_s=10, arrive_s=200 + 20 * i,
                close_s=1200, category="dispute" if i % 2 else "theft", grid=f"G{i % 3}") for i in range(12)]
    last_year = [view(100 + i, T0.replace(year=2025) + timedelta(minutes=5 * i)) for i in range(4)]
    stats = compute_stats(now + last_year, targets, T0, T0 + timedelta(hours=2))
    assert stats.calls == 12
    assert sum(n for _, n in stats.per_hour) == 12 and len(stats.per_hour) == 2
    assert stats.hour_of_day[9] == 6 and stats.hour_of_day[10] == 6
    assert dict(stats.by_category) == {"矛盾纠纷": 6, "盗窃": 6}
    assert sum(n for _, n in stats.by_grid) == 12
    dispatch = stats.intervals[0]
    assert dispatch.n == 12 and dispatch.percentiles[50] == 35.5 and dispatch.share_met == 1.0
    arrival = stats.intervals[2]
    assert arrival.share_met == 6 / 12  # 200..300 s within 5 min, 320..420 not
    assert stats.last_year_calls == 4 and round(stats.year_on_year, 2) == 2.0
    out = tmp_path / "s.csv"
    write_csv(stats, out)
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert ["by_category", "矛盾纠纷", "6", ""] in rows
    assert any(r[0] == "interval" and r[1] == "接警→派警 p50" and r[2] == "35.5" for r in rows)


def test_year_on_year_is_none_when_data_does_not_reach_back():
    now = [view(i, T0 + timedelta(minutes=i)) for i in range(3)]
    stats = compute_stats(now, Targets(), T0, T0 + timedelta(hours=1))
    assert stats.last_year_calls is None and stats.year_on_year is None
