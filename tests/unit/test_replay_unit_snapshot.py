"""The fast UnitSnapshot constructor of replay.unit_table equals the dataclass's own."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone

from dispatch.domain.units import DutyWindow, UnitKind, UnitSnapshot, UnitStatus
from dispatch.replay.unit_table import snapshot


def test_fast_snapshot_equals_the_dataclass_field_by_field():
    at = datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)
    values = dict(id=7, callsign="巡11", kind=UnitKind.PATROL_CAR, status=UnitStatus.EN_ROUTE, lon=121.47,
                  lat=31.23, position_at=at, home_lon=121.46, home_lat=31.22, station="南京东路派出所",
                  duty=(DutyWindow.parse("08:00-20:00"),), incident_id=42, leader="王警官", phone="13800000000",
                  status_since=at, members=2, terminal="013800000001", position_source="avl")
    slow = UnitSnapshot(**values)
    fast = snapshot(7, "巡11", UnitKind.PATROL_CAR, UnitStatus.EN_ROUTE, 121.47, 31.23, at, 121.46, 31.22,
                    "南京东路派出所", values["duty"], 42, "王警官", "13800000000", at, 2, "013800000001", "avl")
    assert type(fast) is UnitSnapshot
    for f in fields(UnitSnapshot):
        assert getattr(fast, f.name) == getattr(slow, f.name), f.name
    assert fast == slow
    assert fast.extra == {} and fast.extra is not slow.extra


def test_fast_snapshot_is_as_frozen_and_hashable_as_the_dataclass():
    import dataclasses

    import pytest

    fast = snapshot(3, "巡03", UnitKind.PATROL_CAR, UnitStatus.AVAILABLE, 121.4, 31.2, None, 121.4, 31.2,
                    "", (), None, "", "", None, 1, None, "post")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.status = UnitStatus.DISPATCHED  # type: ignore[misc]
    slow = UnitSnapshot(id=3, callsign="巡03", kind=UnitKind.PATROL_CAR, status=UnitStatus.AVAILABLE, lon=121.4,
                        lat=31.2, position_at=None, home_lon=121.4, home_lat=31.2)
    assert hash(fast) == hash(slow) and dataclasses.replace(fast, lon=121.5) == dataclasses.replace(slow, lon=121.5)
