"""The one duty rule: whether a unit is on duty at an instant, and what every screen
(board, map, recommendation, replay) shows for it. A unit whose status is 空闲 but
whose duty windows do not cover the local time is 不在岗 everywhere."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from dispatch.domain.units import UnitSnapshot, UnitStatus


@lru_cache(maxsize=8)
def zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def minute_of_day(now: datetime, tz: str) -> int:
    """Minutes since local midnight of an aware instant, in the time zone `tz`."""
    local = now.astimezone(zone(tz))
    return local.hour * 60 + local.minute


def off_duty_reason(unit: UnitSnapshot, now: datetime, tz: str) -> str | None:
    """Why the unit is not on duty now (None when it is). A committed unit stays on its
    incident past the end of its window: it is on duty until it is stood down."""
    if unit.status is UnitStatus.OFF_DUTY:
        return "不在线"
    if unit.status.committed or not unit.duty:
        return None
    if unit.on_duty(minute_of_day(now, tz)):
        return None
    return "不在岗时段 " + "、".join(str(w) for w in unit.duty)


def shown_status(unit: UnitSnapshot, now: datetime, tz: str) -> UnitStatus:
    """The status a screen shows: OFF_DUTY for a unit outside its duty windows."""
    return UnitStatus.OFF_DUTY if off_duty_reason(unit, now, tz) else unit.status
