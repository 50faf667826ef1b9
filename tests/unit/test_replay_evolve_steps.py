"""evolve_incident's per-kind steps (dispatch.domain.evolve): the replay fold keeps the
state after every event as a view sharing the state's values, so a step must replace an
assignment tuple and the assignment it changes, never change either in place."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dispatch.domain import events as ev
from dispatch.domain.evolve import RELEASED_ON_CLOSE, evolve_incident, new_incident
from dispatch.domain.incidents import IncidentStatus
from dispatch.services.queries import AssignmentView

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def _dispatched_two() -> dict:
    inc = new_incident(1, T0, "席位01", "张三", {})
    for uid, cs in ((1, "巡1"), (2, "巡2")):
        assert evolve_incident(inc, ev.UNIT_DISPATCHED, _at(1), uid,
                               {"callsign": cs, "eta_s": 60.0, "route_m": 500.0}, AssignmentView)
    return inc


def test_a_step_replaces_the_assignment_and_its_tuple_never_changes_them_in_place():
    inc = _dispatched_two()
    before_rows = inc["assignments"]
    before = [dict(a.__dict__) for a in before_rows]
    assert evolve_incident(inc, ev.UNIT_STATUS, _at(5), 2, {"to": "en_route"}, AssignmentView)
    assert [dict(a.__dict__) for a in before_rows] == before  # the earlier tuple and objects as they were
    rows = inc["assignments"]
    assert rows is not before_rows and rows[0] is before_rows[0] and rows[1] is not before_rows[1]
    assert type(rows[1]) is AssignmentView
    assert (rows[1].en_route_at, rows[1].acknowledged_at, rows[1].callsign) == (_at(5), _at(5), "巡2")


def test_en_route_keeps_an_earlier_acknowledgement_and_on_scene_moves_the_incident():
    inc = _dispatched_two()
    evolve_incident(inc, ev.UNIT_ACKNOWLEDGED, _at(2), 1, {}, AssignmentView)
    evolve_incident(inc, ev.UNIT_STATUS, _at(3), 1, {"to": "en_route"}, AssignmentView)
    a = inc["assignments"][0]
    assert (a.acknowledged_at, a.en_route_at, a.arrived_at) == (_at(2), _at(3), None)
    assert inc["status"] is IncidentStatus.DISPATCHED
    evolve_incident(inc, ev.UNIT_STATUS, _at(4), 1, {"to": "on_scene"}, AssignmentView)
    assert inc["status"] is IncidentStatus.ON_SCENE and inc["assignments"][0].arrived_at == _at(4)


def test_standing_down_returns_to_pending_only_when_no_other_unit_is_still_assigned():
    inc = _dispatched_two()
    evolve_incident(inc, ev.UNIT_STATUS, _at(3), 1, {"to": "available"}, AssignmentView)
    assert inc["status"] is IncidentStatus.DISPATCHED and inc["assignments"][0].cleared_at == _at(3)
    evolve_incident(inc, ev.UNIT_STATUS, _at(4), 2, {"to": "available"}, AssignmentView)
    assert inc["status"] is IncidentStatus.PENDING and inc["version"] == 5


def test_the_close_release_clears_without_a_status_change_and_the_latest_open_assignment_is_changed():
    inc = _dispatched_two()
    evolve_incident(inc, ev.UNIT_STATUS, _at(3), 1, {"to": "available"}, AssignmentView)
    evolve_incident(inc, ev.UNIT_DISPATCHED, _at(4), 1, {"callsign": "巡1"}, AssignmentView)  # sent again
    evolve_incident(inc, ev.UNIT_STATUS, _at(5), 1, {"to": "available", "reason": RELEASED_ON_CLOSE},
                    AssignmentView)
    first, _second, again = inc["assignments"]
    assert (first.cleared_at, again.cleared_at) == (_at(3), _at(5))
    assert inc["status"] is IncidentStatus.DISPATCHED  # the release itself moves no incident status


def test_events_that_change_nothing_leave_the_state_and_its_version_alone():
    inc = _dispatched_two()
    snapshot = dict(inc)
    assert not evolve_incident(inc, ev.UNIT_STATUS, _at(3), 9, {"to": "en_route"}, AssignmentView)  # not sent here
    assert not evolve_incident(inc, ev.UNIT_STATUS, _at(3), None, {"to": "en_route"}, AssignmentView)
    for kind in (ev.CALLBACK_DONE, ev.UNIT_RECOMMENDED, ev.INCIDENT_LINKED, ev.INCIDENT_TRANSFERRED, "x.y"):
        assert not evolve_incident(inc, kind, _at(3), 1, {"to": "available"}, AssignmentView)
    assert inc == snapshot
    # another status of an assigned unit (off duty) is a step of the incident, its assignment as it was
    assert evolve_incident(inc, ev.UNIT_STATUS, _at(6), 1, {"to": "off_duty"}, AssignmentView)
    assert inc["assignments"] == snapshot["assignments"] and inc["version"] == snapshot["version"] + 1
    assert inc["updated_at"] == _at(6)


def test_located_categorised_closed_and_noted_set_their_fields():
    inc = new_incident(1, T0, "席位01", "张三", {"caller_number": "139"})
    admin = ["上海市", "黄浦区"]
    evolve_incident(inc, ev.INCIDENT_LOCATED, _at(1), None,
                    {"text": "南京东路", "name": "南京东路", "kind": "road", "admin": admin, "lon": 121.48,
                     "lat": 31.24, "grid_id": "G7"})
    assert (inc["place_text"], inc["place_kind"], inc["place_admin"], inc["qualifier"], inc["grid_id"]) == (
        "南京东路", "road", admin, "", "G7")
    assert inc["place_admin"] is not admin  # a copy: the payload stays the log's
    evolve_incident(inc, ev.INCIDENT_CATEGORISED, _at(2), None, {"category": "theft"})
    assert (inc["category"], inc["priority"], inc["narrative"]) == ("theft", "normal", "")
    evolve_incident(inc, ev.INCIDENT_NOTED, _at(3), None, {"caller_number": "138", "caller_name": "李"})
    evolve_incident(inc, ev.INCIDENT_CLOSED, _at(4), None, {"result_code": "handled"})
    assert (inc["caller_number"], inc["caller_name"], inc["status"], inc["closed_at"], inc["close_note"]) == (
        "138", "李", IncidentStatus.CLOSED, _at(4), "")
    assert inc["version"] == 5 and inc["updated_at"] == _at(4)
