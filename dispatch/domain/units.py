"""Units (警力 and 民力): kinds, statuses and the allowed status moves."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from enum import Enum

from dispatch.domain.errors import IllegalTransition


class Travel(str, Enum):
    """How a unit moves on the road graph; sets its speed."""

    CAR = "car"
    EBIKE = "ebike"
    FOOT = "foot"


class UnitKind(str, Enum):
    PATROL_CAR = "patrol_car"
    SPECIAL_PATROL = "special_patrol"
    TRAFFIC = "traffic"
    EBIKE_PATROL = "ebike_patrol"
    FOOT_PATROL = "foot_patrol"
    COMMUNITY = "community"
    # 群防群治 forces
    VOLUNTEER_PATROL = "volunteer_patrol"
    JOINT_DEFENCE = "joint_defence"
    PEACE_VOLUNTEER = "peace_volunteer"
    VILLAGE_TEAM = "village_team"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def is_police(self) -> bool:
        return self in _POLICE

    @property
    def travel(self) -> Travel:
        return _KIND_TRAVEL[self]

    @property
    def capabilities(self) -> frozenset[str]:
        """What this kind of unit may do. Police may do everything; volunteers
        only search, mediate and watch a scene (no arrests, no danger alone)."""
        return POLICE_CAPABILITIES if self.is_police else VOLUNTEER_CAPABILITIES


POLICE_CAPABILITIES = frozenset({"enforce", "search", "mediate", "watch_scene", "rescue", "traffic"})
VOLUNTEER_CAPABILITIES = frozenset({"search", "mediate", "watch_scene"})

_POLICE = {UnitKind.PATROL_CAR, UnitKind.SPECIAL_PATROL, UnitKind.TRAFFIC,
           UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL, UnitKind.COMMUNITY}

_KIND_LABELS = {
    UnitKind.PATROL_CAR: "巡逻警车",
    UnitKind.SPECIAL_PATROL: "巡特警",
    UnitKind.TRAFFIC: "交警中队",
    UnitKind.EBIKE_PATROL: "电动车巡逻",
    UnitKind.FOOT_PATROL: "步巡",
    UnitKind.COMMUNITY: "社区民警",
    UnitKind.VOLUNTEER_PATROL: "义警巡逻队",
    UnitKind.JOINT_DEFENCE: "联防中队",
    UnitKind.PEACE_VOLUNTEER: "平安志愿者",
    UnitKind.VILLAGE_TEAM: "护村队",
}

_KIND_TRAVEL = {
    UnitKind.PATROL_CAR: Travel.CAR,
    UnitKind.SPECIAL_PATROL: Travel.CAR,
    UnitKind.TRAFFIC: Travel.CAR,
    UnitKind.EBIKE_PATROL: Travel.EBIKE,
    UnitKind.FOOT_PATROL: Travel.FOOT,
    UnitKind.COMMUNITY: Travel.EBIKE,
    UnitKind.VOLUNTEER_PATROL: Travel.FOOT,
    UnitKind.JOINT_DEFENCE: Travel.EBIKE,
    UnitKind.PEACE_VOLUNTEER: Travel.FOOT,
    UnitKind.VILLAGE_TEAM: Travel.FOOT,
}


class UnitStatus(str, Enum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def committed(self) -> bool:
        """True while the unit is assigned to an incident."""
        return self in (UnitStatus.DISPATCHED, UnitStatus.ACKNOWLEDGED,
                        UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE)


_STATUS_LABELS = {
    UnitStatus.AVAILABLE: "空闲",
    UnitStatus.DISPATCHED: "已派",
    UnitStatus.ACKNOWLEDGED: "已签收",
    UnitStatus.EN_ROUTE: "出发",
    UnitStatus.ON_SCENE: "到场",
    UnitStatus.OFF_DUTY: "不在岗",
}

# The allowed moves, written once. DISPATCHED is entered only by a dispatch.
UNIT_MOVES: dict[UnitStatus, frozenset[UnitStatus]] = {
    UnitStatus.AVAILABLE: frozenset({UnitStatus.DISPATCHED, UnitStatus.OFF_DUTY}),
    UnitStatus.DISPATCHED: frozenset({UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE,
                                      UnitStatus.AVAILABLE}),
    UnitStatus.ACKNOWLEDGED: frozenset({UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE,
                                        UnitStatus.AVAILABLE}),
    UnitStatus.EN_ROUTE: frozenset({UnitStatus.ON_SCENE, UnitStatus.AVAILABLE}),
    UnitStatus.ON_SCENE: frozenset({UnitStatus.AVAILABLE}),
    UnitStatus.OFF_DUTY: frozenset({UnitStatus.AVAILABLE}),
}


def check_unit_move(callsign: str, current: UnitStatus, target: UnitStatus) -> None:
    """Raise IllegalTransition unless current -> target is an allowed move."""
    if target not in UNIT_MOVES[current]:
        raise IllegalTransition(
            f"{callsign} 当前为「{current.label}」，不能改为「{target.label}」")


def next_unit_statuses(current: UnitStatus) -> list[UnitStatus]:
    """The moves offered on the unit board, in workflow order."""
    order = [UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE,
             UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY]
    return [s for s in order if s in UNIT_MOVES[current]]


@dataclass(frozen=True, slots=True)
class DutyWindow:
    """A daily duty window in local time, minutes since midnight; may cross midnight
    (19:00-01:00 is start=1140, end=60)."""

    start_min: int
    end_min: int

    @classmethod
    def parse(cls, text: str) -> "DutyWindow":
        a, b = text.split("-")
        return cls(_hm(a), _hm(b))

    def contains(self, minute_of_day: int) -> bool:
        if self.start_min <= self.end_min:
            return self.start_min <= minute_of_day < self.end_min
        return minute_of_day >= self.start_min or minute_of_day < self.end_min

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-{self.end_min // 60:02d}:{self.end_min % 60:02d}"


def _hm(text: str) -> int:
    h, m = text.strip().split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True, slots=True)
class UnitSnapshot:
    """A unit as the recommendation, the board and replay see it (no database)."""

    id: int
    callsign: str
    kind: UnitKind
    status: UnitStatus
    lon: float
    lat: float
    position_at: datetime | None  # UTC, of the last position
    home_lon: float
    home_lat: float
    station: str = ""
    duty: tuple[DutyWindow, ...] = ()  # empty: always on duty
    incident_id: int | None = None
    leader: str = ""
    phone: str = ""
    status_since: datetime | None = None  # UTC
    members: int = 1
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    terminal: str | None = None     # JT/T 808 terminal number, if the unit has one
    position_source: str = "post"   # post | avl | manual

    def on_duty(self, minute_of_day_local: int) -> bool:
        return not self.duty or any(w.contains(minute_of_day_local) for w in self.duty)


# How long a unit's fix stays current, by kind: a vehicle terminal reports every 10–30 s;
# a handset app (foot, e-bike, community officers) about once a minute; volunteers' phones
# less often. A unit silent longer is stale: grey on the board, faded on the map, and the
# recommendation counts it from its post. A deployment may set one limit for every kind
# (settings `stale_position_s`).
STALE_AFTER_S: dict[UnitKind, float] = {
    UnitKind.PATROL_CAR: 120.0, UnitKind.SPECIAL_PATROL: 120.0, UnitKind.TRAFFIC: 120.0,
    UnitKind.EBIKE_PATROL: 180.0, UnitKind.FOOT_PATROL: 300.0, UnitKind.COMMUNITY: 300.0,
    UnitKind.VOLUNTEER_PATROL: 600.0, UnitKind.JOINT_DEFENCE: 600.0, UnitKind.PEACE_VOLUNTEER: 600.0,
    UnitKind.VILLAGE_TEAM: 600.0,
}


def stale_after_s(kind: UnitKind, override_s: float | None = None) -> float:
    """The unit kind's limit (or the deployment's one limit for every kind)."""
    return STALE_AFTER_S[kind] if override_s is None else override_s


def fix_is_current(kind: UnitKind, position_at: datetime | None, now: datetime,
                   override_s: float | None = None) -> bool:
    """A fix no older than the kind's limit (no fix: not current)."""
    return position_at is not None and (now - position_at).total_seconds() <= stale_after_s(kind, override_s)


def position_stale(u: UnitSnapshot, now: datetime, override_s: float | None = None) -> bool:
    """A unit with a terminal or manual fix that has been silent longer than its kind's
    limit. A unit shown at its post (no fix source) is not stale: it is where it is posted."""
    return u.position_source != "post" and not fix_is_current(u.kind, u.position_at, now, override_s)
