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
