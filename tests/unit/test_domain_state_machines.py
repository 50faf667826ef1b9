import pytest

from dispatch.domain.errors import IllegalTransition
from dispatch.domain.incidents import IncidentStatus, check_incident_move, category
from dispatch.domain.units import DutyWindow, UnitStatus, check_unit_move, next_unit_statuses


def test_unit_walks_the_dispatch_cycle():
    path = [UnitStatus.AVAILABLE, UnitStatus.DISPATCHED, UnitStatus.ACKNOWLEDGED,
            UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.AVAILABLE]
    for a, b in zip(path, path[1:]):
        check_unit_move("黄巡01", a, b)


@pytest.mark.parametrize("a,b", [
    (UnitStatus.AVAILABLE, UnitStatus.ON_SCENE),
    (UnitStatus.ON_SCENE, UnitStatus.DISPATCHED),
    (UnitStatus.OFF_DUTY, UnitStatus.DISPATCHED),
    (UnitStatus.EN_ROUTE, UnitStatus.ACKNOWLEDGED),
])
def test_illegal_unit_moves_are_refused_with_labels(a, b):
    with pytest.raises(IllegalTransition) as exc:
        check_unit_move("黄巡01", a, b)
    assert a.label in str(exc.value) and b.label in str(exc.value)


def test_board_offers_only_allowed_moves():
    assert next_unit_statuses(UnitStatus.DISPATCHED) == [
        UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE, UnitStatus.AVAILABLE]
    assert next_unit_statuses(UnitStatus.ON_SCENE) == [UnitStatus.AVAILABLE]


def test_closed_incident_cannot_move():
    with pytest.raises(IllegalTransition):
        check_incident_move(7, IncidentStatus.CLOSED, IncidentStatus.DISPATCHED)
    check_incident_move(7, IncidentStatus.PENDING, IncidentStatus.CLOSED)


def test_duty_window_crossing_midnight():
    w = DutyWindow.parse("22:00-01:00")
    assert w.contains(23 * 60) and w.contains(30) and not w.contains(60) and not w.contains(12 * 60)
    assert str(w) == "22:00-01:00"


def test_category_by_code_or_label():
    assert category("矛盾纠纷").code == "dispute"
    assert category("missing_person").danger is False
    from dispatch.domain.errors import DispatchError
    with pytest.raises(DispatchError):
        category("不存在的类别")


# ---- decide and evolve (dispatch.domain.decide / .evolve) -------------------------------
from datetime import datetime, timedelta, timezone  # noqa: E402

from dispatch.domain import events as ev  # noqa: E402
from dispatch.domain.decide import (UnitFacts, decide_close, decide_dispatch, decide_transfer,  # noqa: E402
                                    decide_unit_status)
from dispatch.domain.errors import DispatchError  # noqa: E402
from dispatch.domain.evolve import evolve_incident, evolve_unit, new_incident  # noqa: E402

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _fold(state, drafts, at):
    for d in drafts:
        evolve_incident(state, d.kind, at, d.unit_id, d.payload)
    return state


def test_decide_then_evolve_walks_an_incident_through_its_states():
    inc = new_incident(7, T0, "席位01", "张三", {"caller_number": "110"})
    with pytest.raises(DispatchError, match="尚未定位"):
        decide_dispatch(inc, [UnitFacts(1, "巡1", UnitStatus.AVAILABLE)])
    evolve_incident(inc, ev.INCIDENT_LOCATED, T0, None, {"name": "某路", "lon": 121.4, "lat": 31.2})
    with pytest.raises(DispatchError, match="巡2 当前为「已派」（已派往警情 3），不能派出"):
        decide_dispatch(inc, [UnitFacts(1, "巡1", UnitStatus.AVAILABLE), UnitFacts(2, "巡2", UnitStatus.DISPATCHED, 3)])
    drafts = decide_dispatch(inc, [UnitFacts(1, "巡1", UnitStatus.AVAILABLE), UnitFacts(2, "巡2", UnitStatus.AVAILABLE)])
    assert [(d.kind, d.unit_id) for d in drafts] == [(ev.UNIT_DISPATCHED, 1), (ev.UNIT_DISPATCHED, 2)]
    _fold(inc, drafts, T0 + timedelta(seconds=10))
    assert inc["status"] is IncidentStatus.DISPATCHED and len(inc["assignments"]) == 2
    with pytest.raises(IllegalTransition):  # 已派 -> 到场 skips 签收/出发
        decide_unit_status(UnitFacts(1, "巡1", UnitStatus.DISPATCHED, 7), "on_scene", inc=inc)
    _fold(inc, decide_unit_status(UnitFacts(1, "巡1", UnitStatus.DISPATCHED, 7), "en_route", inc=inc), T0)
    _fold(inc, decide_unit_status(UnitFacts(1, "巡1", UnitStatus.EN_ROUTE, 7), "on_scene", inc=inc), T0)
    assert inc["status"] is IncidentStatus.ON_SCENE and inc["assignments"][0].acknowledged_at == T0
    closing = decide_close(inc, "查处", " 完毕 ", {1: UnitStatus.ON_SCENE, 2: UnitStatus.DISPATCHED})
    assert [d.payload.get("reason") for d in closing] == ["结警释放", "结警释放", None]
    version = inc["version"]
    _fold(inc, closing, T0 + timedelta(seconds=60))
    assert inc["status"] is IncidentStatus.CLOSED and inc["version"] == version + 3  # a step per event
    assert all(a.cleared_at is not None for a in inc["assignments"]) and inc["close_note"] == "完毕"
    with pytest.raises(IllegalTransition):
        decide_close(inc, "handled", "", {})
    with pytest.raises(DispatchError, match="已结警，不能再转警"):
        decide_transfer(inc, "消防", "火情", {})


def test_evolve_reopen_move_and_unknown_kinds():
    inc = new_incident(1, T0, "席位01", "张三", {})
    evolve_incident(inc, ev.INCIDENT_CLOSED, T0, None, {"result_code": "invalid", "note": "x"})
    assert evolve_incident(inc, ev.INCIDENT_REOPENED, T0, None, {"reason": "复查"})
    assert (inc["status"], inc["closed_at"], inc["result_code"], inc["close_note"]) == (
        IncidentStatus.PENDING, None, "", "")
    evolve_incident(inc, ev.INCIDENT_MOVED, T0, None, {"to_seat": "席位02", "to_operator": ""})
    assert (inc["seat"], inc["operator"]) == ("席位02", "张三")
    evolve_incident(inc, ev.INCIDENT_MOVED, T0, None, {"to_seat": "席位03", "to_operator": "王五"})
    assert (inc["seat"], inc["operator"], inc["version"]) == ("席位03", "王五", 5)
    for kind in (ev.CALL_LINKED, ev.FRAUD_RECORDED, ev.DISPUTE_REFERRED, ev.NUMBER_MARKED, "some.future"):
        assert not evolve_incident(inc, kind, T0, None, {"to": "available"})
        assert evolve_unit((UnitStatus.AVAILABLE, None, None), kind, T0, 1, {"to": "on_scene"}) is None
    assert evolve_unit((UnitStatus.AVAILABLE, None, None), ev.UNIT_CREATED, T0, None, {}) == (
        UnitStatus.AVAILABLE, T0, None)
    assert evolve_unit((UnitStatus.ON_SCENE, T0, 4), ev.UNIT_STATUS, T0, 4, {"to": "available"}) == (
        UnitStatus.AVAILABLE, T0, None)


def test_decide_reopen_and_move_for_the_shift_lead():
    from dispatch.domain.decide import decide_move, decide_reopen
    inc = new_incident(3, T0, "席位01", "张三", {})
    with pytest.raises(DispatchError, match="只有已结警的警情才能重新打开"):
        decide_reopen(inc, "复查", None)
    with pytest.raises(DispatchError, match="已在席位01，无需改派"):
        decide_move(inc, "席位01", "", "")
    _fold(inc, decide_move(inc, "席位02", "李四", ""), T0)
    assert (inc["seat"], inc["operator"]) == ("席位02", "李四")
    evolve_incident(inc, ev.INCIDENT_CLOSED, T0, None, {"result_code": "invalid"})
    with pytest.raises(DispatchError, match="不能改派席位"):
        decide_move(inc, "席位03", "", "")
    drafts = decide_reopen(inc, "复查", "2026-11-02T00:00:00Z")
    assert drafts[0].payload["previous_result"] == "invalid"
    assert _fold(inc, drafts, T0)["status"] is IncidentStatus.PENDING
