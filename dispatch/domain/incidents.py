"""Incidents (警情): statuses, categories, priorities, result codes and allowed moves."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dispatch.domain.errors import IllegalTransition


class IncidentStatus(str, Enum):
    PENDING = "pending"        # 接警, not yet dispatched
    DISPATCHED = "dispatched"  # at least one unit sent
    ON_SCENE = "on_scene"      # a unit has arrived (处警)
    CLOSED = "closed"          # 结警

    @property
    def label(self) -> str:
        return {"pending": "待派警", "dispatched": "已派警", "on_scene": "处警中",
                "closed": "已结警"}[self.value]

    @property
    def open(self) -> bool:
        return self is not IncidentStatus.CLOSED


INCIDENT_MOVES: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.PENDING: frozenset({IncidentStatus.DISPATCHED, IncidentStatus.CLOSED}),
    IncidentStatus.DISPATCHED: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.CLOSED,
                                          IncidentStatus.PENDING}),
    IncidentStatus.ON_SCENE: frozenset({IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
}


def check_incident_move(incident_id: int, current: IncidentStatus, target: IncidentStatus) -> None:
    if target not in INCIDENT_MOVES[current]:
        raise IllegalTransition(
            f"警情 {incident_id} 当前为「{current.label}」，不能改为「{target.label}」")


class Priority(str, Enum):
    URGENT = "urgent"
    NORMAL = "normal"

    @property
    def label(self) -> str:
        return "紧急" if self is Priority.URGENT else "非紧急"


@dataclass(frozen=True, slots=True)
class Category:
    """A 警情类别. `needs` is the capability a unit must have to handle it alone;
    `danger` keeps volunteer forces from going alone."""

    code: str
    label: str
    group: str          # 报警 / 求助 / 投诉
    danger: bool
    needs: str          # enforce / search / mediate / watch_scene / rescue / traffic
    urgent: bool        # default priority


CATEGORIES: tuple[Category, ...] = (
    Category("criminal", "刑事案件", "报警", True, "enforce", True),
    Category("public_order", "治安案件", "报警", True, "enforce", True),
    Category("traffic_accident", "交通事故", "报警", True, "traffic", True),
    Category("fire", "火灾", "报警", True, "rescue", True),
    Category("mass_incident", "群体性事件", "报警", True, "enforce", True),
    Category("disaster", "灾害事故", "报警", True, "rescue", True),
    Category("dispute", "矛盾纠纷", "报警", False, "mediate", False),
    Category("telecom_fraud", "电信网络诈骗", "报警", False, "enforce", True),
    Category("theft", "盗窃", "报警", True, "enforce", False),
    Category("provocation", "寻衅滋事", "报警", True, "enforce", True),
    Category("gambling", "涉赌", "报警", True, "enforce", False),
    Category("life_risk", "溺水/坠楼/自杀", "求助", True, "rescue", True),
    Category("missing_person", "走失", "求助", False, "search", True),
    Category("stranded", "孤立无援", "求助", False, "search", False),
    Category("utility_hazard", "水电气热险情", "求助", False, "watch_scene", False),
    Category("lost_property", "丢失物品", "求助", False, "search", False),
    Category("complaint", "投诉", "投诉", False, "mediate", False),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}
CATEGORY_BY_LABEL = {c.label: c for c in CATEGORIES}


def category(code_or_label: str) -> Category:
    """Look a category up by code or Chinese label; DispatchError if unknown."""
    from dispatch.domain.errors import DispatchError
    c = CATEGORY_BY_CODE.get(code_or_label) or CATEGORY_BY_LABEL.get(code_or_label)
    if c is None:
        raise DispatchError(f"未知的警情类别: {code_or_label}")
    return c


# Result codes for 结警, after GA/T 2000.152 (the common ones a call-taker picks).
RESULT_CODES: dict[str, str] = {
    "handled": "查处",
    "mediated": "调解",
    "rescued": "救助",
    "invalid": "无效警情",
    "duplicate": "重复报警",
    "transferred": "转办",
    "advised": "告知/劝解",
    "no_trace": "到场未见",
}
