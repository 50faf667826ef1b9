from datetime import datetime, timezone

from dispatch.domain.duty import off_duty_reason, shown_status
from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus


def _unit(status=UnitStatus.AVAILABLE, duty=("19:00-01:00",)):
    return UnitSnapshot(1, "联防01", UnitKind.JOINT_DEFENCE, status, 121.47, 31.23, None, 121.47, 31.23,
                        duty=tuple(DutyWindow.parse(w) for w in duty))


def test_outside_window_is_off_duty_everywhere():
    noon = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)      # 12:00 Shanghai
    night = datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)   # 00:30 Shanghai
    assert shown_status(_unit(), noon, "Asia/Shanghai") is UnitStatus.OFF_DUTY
    assert off_duty_reason(_unit(), noon, "Asia/Shanghai").startswith("不在岗时段 19:00-01:00")
    assert shown_status(_unit(), night, "Asia/Shanghai") is UnitStatus.AVAILABLE
    # the time zone is the settings' one, not the machine's
    assert shown_status(_unit(), noon, "UTC") is UnitStatus.OFF_DUTY
    assert shown_status(_unit(), night, "UTC") is UnitStatus.OFF_DUTY


def test_committed_unit_stays_on_its_incident_and_always_on_duty_units():
    noon = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
    assert shown_status(_unit(UnitStatus.EN_ROUTE), noon, "Asia/Shanghai") is UnitStatus.EN_ROUTE
    assert shown_status(_unit(duty=()), noon, "Asia/Shanghai") is UnitStatus.AVAILABLE
    assert off_duty_reason(_unit(UnitStatus.OFF_DUTY, ()), noon, "Asia/Shanghai") == "不在线"
