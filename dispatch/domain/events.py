"""Event kinds of the append-only log. Every seat action appends one or more."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CALL_RECEIVED = "call.received"
INCIDENT_LOCATED = "incident.located"
INCIDENT_CATEGORISED = "incident.categorised"
INCIDENT_NOTED = "incident.noted"
UNIT_RECOMMENDED = "unit.recommended"
UNIT_DISPATCHED = "unit.dispatched"
UNIT_ACKNOWLEDGED = "unit.acknowledged"
UNIT_STATUS = "unit.status"
UNIT_POSITION = "unit.position"
INCIDENT_CLOSED = "incident.closed"
INCIDENT_LINKED = "incident.linked"
CALLBACK_DONE = "callback.done"

KIND_LABELS = {
    CALL_RECEIVED: "接警",
    INCIDENT_LOCATED: "定位",
    INCIDENT_CATEGORISED: "定性",
    INCIDENT_NOTED: "补充警情",
    UNIT_RECOMMENDED: "推荐警力",
    UNIT_DISPATCHED: "派警",
    UNIT_ACKNOWLEDGED: "签收",
    UNIT_STATUS: "警力状态",
    UNIT_POSITION: "位置",
    INCIDENT_CLOSED: "结警",
    INCIDENT_LINKED: "关联警情",
    CALLBACK_DONE: "回访",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One row of the log, as readers see it."""

    id: int
    occurred_at: datetime  # UTC, timezone-aware
    kind: str
    incident_id: int | None
    unit_id: int | None
    seat: str
    operator: str
    payload: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "kind": self.kind,
            "incident_id": self.incident_id,
            "unit_id": self.unit_id,
            "seat": self.seat,
            "operator": self.operator,
            "payload": self.payload,
        }

# 地名补录: the caller's words kept as a new place (or alias), confirmed by the shift lead.
PLACE_PROPOSED = "place.proposed"
PLACE_CONFIRMED = "place.confirmed"
KIND_LABELS[PLACE_PROPOSED] = "地名补录"
KIND_LABELS[PLACE_CONFIRMED] = "地名确认"

# 联动: a partner agency told of the incident, and its acknowledgement.
AGENCY_NOTIFIED = "agency.notified"
AGENCY_ACKNOWLEDGED = "agency.acknowledged"
# 转警: the incident handed to another centre or department (then closed as 转办).
INCIDENT_TRANSFERRED = "incident.transferred"
# The phone system's location of the caller (carrier cell or handset fix) at answer.
CALL_CARRIER_LOCATED = "call.carrier_located"
KIND_LABELS[AGENCY_NOTIFIED] = "联动通知"
KIND_LABELS[AGENCY_ACKNOWLEDGED] = "联动确认"
KIND_LABELS[INCIDENT_TRANSFERRED] = "转警"
KIND_LABELS[CALL_CARRIER_LOCATED] = "来电定位"

# 交接班: an open incident passes from the outgoing operator to the incoming one.
INCIDENT_HANDED_OVER = "incident.handed_over"
ACCOUNT_ADDED = "account.added"
KIND_LABELS[INCIDENT_HANDED_OVER] = "交接班"
KIND_LABELS[ACCOUNT_ADDED] = "新增账号"

# 值班长: a closed incident reopened, an open incident moved to another seat.
INCIDENT_REOPENED = "incident.reopened"
INCIDENT_MOVED = "incident.moved"
KIND_LABELS[INCIDENT_REOPENED] = "重新打开"
KIND_LABELS[INCIDENT_MOVED] = "改派席位"

# Repeated calls: a further call (its own caller and record) joined to an incident, or taken off.
CALL_LINKED = "call.linked"
CALL_UNLINKED = "call.unlinked"
# Caller history: a number marked by the shift lead as a repeat or nuisance caller (or cleared).
NUMBER_MARKED = "number.marked"
# 反诈 紧急止付: the stop-payment case recorded, the request sent, the centre's result.
FRAUD_RECORDED = "fraud.recorded"
FRAUD_REQUESTED = "fraud.requested"
FRAUD_RESULT = "fraud.result"
# 矛盾纠纷: a dispute referred to the grid's mediator or 人民调解, and its follow-up.
DISPUTE_REFERRED = "dispute.referred"
DISPUTE_FOLLOWED_UP = "dispute.followed_up"
KIND_LABELS[CALL_LINKED] = "关联来电"
KIND_LABELS[CALL_UNLINKED] = "取消关联"
KIND_LABELS[NUMBER_MARKED] = "标记号码"
KIND_LABELS[FRAUD_RECORDED] = "止付登记"
KIND_LABELS[FRAUD_REQUESTED] = "止付申请"
KIND_LABELS[FRAUD_RESULT] = "止付结果"
KIND_LABELS[DISPUTE_REFERRED] = "纠纷移交"
KIND_LABELS[DISPUTE_FOLLOWED_UP] = "纠纷回访"

# A unit added to the roster (roster/demo import, synthetic units): replay knows it from then on.
UNIT_CREATED = "unit.created"
KIND_LABELS[UNIT_CREATED] = "新增警力"

# A call of another system's call log (import-calls): an incident closed from the start,
# never dispatchable, in the source's own words; its own times are in the payload.
CALL_IMPORTED = "call.imported"
KIND_LABELS[CALL_IMPORTED] = "导入警情"

# A centre's own data (import-roster, import-stations, import-grids): a unit's roster fields
# changed (its post, kind, duty, terminal...; never its status), the posts loaded, the
# grids replaced as a whole. None of them changes an incident or a unit's status.
UNIT_UPDATED = "unit.updated"
STATIONS_IMPORTED = "stations.imported"
GRIDS_IMPORTED = "grids.imported"
# A whole city's OSM extract (import-city): the road network and the gazetteer's OSM features replaced.
ROADS_IMPORTED = "roads.imported"
KIND_LABELS[UNIT_UPDATED] = "警力信息变更"
KIND_LABELS[STATIONS_IMPORTED] = "导入驻点"
KIND_LABELS[GRIDS_IMPORTED] = "导入网格"
KIND_LABELS[ROADS_IMPORTED] = "导入路网"
