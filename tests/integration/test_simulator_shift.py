"""The simulator drives the real services like a real shift: the hourly profile, the
category mix, result codes, units moving at road speed, volunteers' duty windows."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.domain import events as ev
from dispatch.domain.incidents import RESULT_CODES
from dispatch.domain.units import UnitKind
from dispatch.feeds.sim_setup import STRAIGHT_SPEED
from dispatch.geo.coords import haversine_m as haversine
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.store import eventlog
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import PositionRow
from tests.integration.replay_support import roster_app

MIDNIGHT_SHANGHAI = datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)


def test_a_24_hour_shift_looks_like_a_shift(tmp_path):
    app, clock, places = roster_app(tmp_path, MIDNIGHT_SHANGHAI)
    result = Simulator(app.services, clock, app.unit_snapshots(), places,
                       SimConfig(hours=24, calls=160, seed=5, start=MIDNIGHT_SHANGHAI)).run()
    assert result.calls == 160 and result.closed >= 150
    with app.session() as s:
        events = eventlog.read(s)
        positions = list(s.execute(select(PositionRow.unit_id, PositionRow.at, PositionRow.lon,
                                          PositionRow.lat).order_by(PositionRow.unit_id, PositionRow.at)))
    calls = [e for e in events if e.kind == ev.CALL_RECEIVED]
    hours = Counter(e.occurred_at.astimezone(ZoneInfo("Asia/Shanghai")).hour for e in calls)
    night = sum(hours[h] for h in range(2, 6))
    evening = sum(hours[h] for h in range(19, 23))
    assert evening > 2 * night  # quiet before dawn, busy in the evening
    cats = Counter(e.payload["category"] for e in events if e.kind == ev.INCIDENT_CATEGORISED)
    assert 0.35 <= cats["dispute"] / sum(cats.values()) <= 0.6  # 矛盾纠纷 nearly half
    assert len(cats) >= 8
    closes = [e.payload["result_code"] for e in events if e.kind == ev.INCIDENT_CLOSED]
    assert set(closes) <= set(RESULT_CODES) and len(set(closes)) >= 4
    # acknowledgements: mostly quick, some late (the board turns them red)
    dispatched = {(e.incident_id, e.unit_id): e.occurred_at for e in events if e.kind == ev.UNIT_DISPATCHED}
    waits = [(e.occurred_at - dispatched[(e.incident_id, e.unit_id)]).total_seconds()
             for e in events if e.kind == ev.UNIT_ACKNOWLEDGED]
    assert sum(w <= 60 for w in waits) > 0.8 * len(waits) and any(w > 60 for w in waits)
    # units move at (straight-line router) road speed between their fixes
    kind_of = {u.id: u.kind for u in app.unit_snapshots()}
    fastest = Counter()
    for (u1, t1, x1, y1), (u2, t2, x2, y2) in zip(positions, positions[1:]):
        dt = (as_utc(t2) - as_utc(t1)).total_seconds()
        if u1 == u2 and dt > 0:
            v = haversine(x1, y1, x2, y2) / dt
            fastest[kind_of[u1]] = max(fastest[kind_of[u1]], v)
    assert 0 < fastest[UnitKind.PATROL_CAR] <= STRAIGHT_SPEED[UnitKind.PATROL_CAR.travel] * 1.01
    # 群防群治 forces follow their duty windows: off duty by day, on in the evening
    volunteers = [u for u in app.unit_snapshots() if u.duty]
    moves = [e for e in events if e.unit_id in {u.id for u in volunteers} and e.kind == ev.UNIT_STATUS]
    assert {e.payload["to"] for e in moves} >= {"off_duty", "available"}


def _fix_gaps(app) -> dict[int, list[float]]:  # noqa: ANN001
    """Per unit: the seconds between its consecutive fixes."""
    with app.session() as s:
        rows = list(s.execute(select(PositionRow.unit_id, PositionRow.at).order_by(PositionRow.unit_id, PositionRow.at)))
    gaps: dict[int, list[float]] = {}
    for (u1, t1), (u2, t2) in zip(rows, rows[1:]):
        if u1 == u2:
            gaps.setdefault(u1, []).append((as_utc(t2) - as_utc(t1)).total_seconds())
    return gaps


def test_parked_terminals_keep_reporting_so_no_car_turns_grey(tmp_path):
    start = MIDNIGHT_SHANGHAI.replace(hour=4)  # noon in Shanghai: every roster unit on duty
    app, clock, places = roster_app(tmp_path, start)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=0.5, calls=3, seed=2, start=start, idle_report_s=60.0)).run()
    gaps = _fix_gaps(app)
    on_duty_all_day = [u.id for u in app.unit_snapshots() if not u.duty]
    assert on_duty_all_day and all(u in gaps for u in on_duty_all_day)
    for uid in on_duty_all_day:
        assert max(gaps[uid]) <= 60.0 + 1e-6, (uid, max(gaps[uid]))  # within a patrol car's 2-minute limit
        assert len(gaps[uid]) >= 29  # half an hour of fixes, not only the first one


def test_without_an_idle_interval_a_parked_unit_reports_only_at_the_start(tmp_path):
    start = MIDNIGHT_SHANGHAI.replace(hour=4)
    app, clock, places = roster_app(tmp_path, start)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=0.5, calls=0, seed=2, start=start)).run()
    assert _fix_gaps(app) == {}  # one fix per unit: AVL on at the start of the shift
