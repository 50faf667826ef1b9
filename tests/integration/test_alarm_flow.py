"""One alarm end to end through the services, on a real SQLite file and, when
DISPATCH_TEST_PG_URL is set, on a real PostgreSQL."""
from __future__ import annotations


import pytest
from sqlalchemy import text

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError, IllegalTransition
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.services.locations import Location
from dispatch.store import eventlog


def run_whole_alarm(app, clock) -> int:
    sv = app.services
    iid = sv.open_call("13916000000", "王女士").incident_id
    with app.session() as s:  # the call exists before anything else is typed
        assert [e.kind for e in eventlog.read(s, incident_id=iid)] == [ev.CALL_RECEIVED]
    clock.advance(15)
    cands = app.geocoder.search("福州路和西藏中路路口")
    assert cands and "福州路" in cands[0].name and "西藏中路" in cands[0].name
    sv.locate(iid, Location.from_candidate(cands[0], "福州路和西藏中路路口"))
    sv.categorise(iid, "dispute", None, "两名男子在路口争吵")
    clock.advance(10)
    rec = sv.recommend(iid)
    assert rec.ranked, "an available police unit must be found"
    assert all(r.eta_s > 0 and r.route_m > 0 for r in rec.ranked)
    assert [r.eta_s for r in rec.ranked] == sorted(r.eta_s for r in rec.ranked)
    first = rec.ranked[0]
    sv.dispatch(iid, [first.unit_id], {first.unit_id: (first.eta_s, first.route_m)})
    with pytest.raises(DispatchError):
        sv.dispatch(iid, [first.unit_id])  # dispatched twice
    for status in (UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
        clock.advance(30)
        sv.set_unit_status(first.unit_id, status)
    with app.session() as s:
        assert queries.incident(s, iid).status is IncidentStatus.ON_SCENE
    with pytest.raises(IllegalTransition):
        sv.set_unit_status(first.unit_id, UnitStatus.EN_ROUTE)
    clock.advance(600)
    sv.set_unit_status(first.unit_id, UnitStatus.AVAILABLE)
    sv.close(iid, "mediated", "双方和解")
    with pytest.raises(DispatchError):
        sv.dispatch(iid, [first.unit_id])  # closed incident
    with app.session() as s:
        kinds = [e.kind for e in eventlog.read(s, incident_id=iid)]
        assert queries.incident(s, iid).status is IncidentStatus.CLOSED
        assert all(v.id != iid for v in queries.open_incidents(s))
    assert kinds == [ev.CALL_RECEIVED, ev.INCIDENT_LOCATED, ev.INCIDENT_CATEGORISED, ev.UNIT_RECOMMENDED,
                     ev.UNIT_DISPATCHED, ev.UNIT_ACKNOWLEDGED, ev.UNIT_STATUS, ev.UNIT_STATUS,
                     ev.UNIT_STATUS, ev.INCIDENT_CLOSED]
    return iid


def test_whole_alarm_on_sqlite(app, clock):
    iid = run_whole_alarm(app, clock)
    with app.session() as s:
        inc = queries.incident(s, iid)
        assert inc.grid_id is not None  # the intersection lies in a demo grid
        a = inc.assignments[0]
        assert (a.acknowledged_at - a.dispatched_at).total_seconds() == 30
        assert (a.arrived_at - a.dispatched_at).total_seconds() == 90


def test_refusals_write_nothing(app):
    sv = app.services
    with app.session() as s:
        before = eventlog.last_id(s)
    iid = sv.open_call("110", "").incident_id
    with app.session() as s:
        after_open = eventlog.last_id(s)
    for bad in (lambda: sv.open_call("abc#", ""),
                lambda: sv.dispatch(iid, [1]),           # not located yet
                lambda: sv.dispatch(9999, [1]),
                lambda: sv.set_unit_status(1, UnitStatus.ON_SCENE),
                lambda: sv.set_unit_status(1, "flying"),
                lambda: sv.categorise(iid, "unknown"),
                lambda: sv.close(iid, "no-such-code"),
                lambda: sv.locate(iid, Location(name="x", lon=500, lat=0)),
                lambda: app.geocoder.search("   ")):
        with pytest.raises(DispatchError):
            bad()
    with app.session() as s:
        assert eventlog.last_id(s) == after_open == before + 1


def test_two_seats_cannot_both_win(app, clock):
    """Optimistic versions: a stale write by another seat is refused clearly."""
    from dispatch.store.schema import UnitRow
    from dispatch.domain.errors import ConcurrentChange

    with pytest.raises(ConcurrentChange):
        with app.store.transaction() as s1:
            u1 = s1.get(UnitRow, 1)
            with app.store.transaction() as s2:
                s2.get(UnitRow, 1).status = UnitStatus.OFF_DUTY.value
            u1.status = UnitStatus.DISPATCHED.value
    with app.session() as s:
        assert s.get(UnitRow, 1).status == UnitStatus.OFF_DUTY.value


@pytest.mark.postgres
def test_whole_alarm_on_postgresql(pg_url, tmp_path, clock):
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        assert app.engine.dialect.name == "postgresql"
        run_whole_alarm(app, clock)
        with app.engine.connect() as c:  # the database itself refuses to rewrite history
            with pytest.raises(Exception, match="append-only"):
                c.execute(text("UPDATE events SET kind='x'"))
        app.engine.dispose()


def test_incidents_near_give_premise_history_and_possible_duplicates(app, clock):
    from datetime import timedelta

    sv = app.services
    old = sv.open_call("13800000000", "").incident_id
    sv.locate(old, Location(name="A", lon=121.4737, lat=31.2304))
    sv.close(old, "duplicate")
    clock.advance(3600)
    near_open = sv.open_call("13800000001", "").incident_id
    sv.locate(near_open, Location(name="B", lon=121.4740, lat=31.2306))   # ~35 m away
    far = sv.open_call("13800000002", "").incident_id
    sv.locate(far, Location(name="C", lon=121.4837, lat=31.2304))         # ~950 m away
    new = sv.open_call("13800000003", "").incident_id
    with app.session() as s:
        found = queries.incidents_near(s, 121.4738, 31.2305, 150, clock.now() - timedelta(days=30), new)
    assert [v.id for v in found] == [near_open, old]
    assert found[0].status.open and not found[1].status.open
