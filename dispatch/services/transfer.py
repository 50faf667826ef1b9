"""转警: hand an incident to another centre or department with a reason.

The incident keeps its whole record and leaves the queue as a closed incident with the
result 转办 (`transferred`), after an `incident.transferred` event naming where it went
and why. No new incident status: 转办 is already a result code of GA/T 2000.152, and a
closed incident is what every queue, board, replay and statistic already understands
(leaves the queue, units released, counted by result)."""
from __future__ import annotations

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import RESULT_CODES, IncidentStatus, check_incident_move
from dispatch.domain.units import UnitStatus
from dispatch.services.calls import _open_assignments, get_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, require

MAX_TO, MAX_REASON = 64, 200


def transfer(ctx: Context, incident_id: int, to: str, reason: str) -> Changes:
    """转警: one transaction — `incident.transferred` (to, reason), the units still on it
    released to 空闲, and `incident.closed` with result 转办."""
    ensure_writable(ctx)
    require(ctx, "incident.close")
    to, reason = (to or "").strip(), (reason or "").strip()
    if not to:
        raise DispatchError("请填写转往的单位（其他接警中心或部门）")
    if not reason:
        raise DispatchError("请填写转警原因")
    if len(to) > MAX_TO or len(reason) > MAX_REASON:
        raise DispatchError(f"转往单位最多 {MAX_TO} 字，原因最多 {MAX_REASON} 字")
    with ctx.store.transaction(appends=True) as s:
        now = ctx.clock.now()
        inc = get_incident(s, incident_id)
        if inc.status == IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 已结警，不能再转警")
        check_incident_move(incident_id, IncidentStatus(inc.status), IncidentStatus.CLOSED)
        ids = [append_event(ctx, s, ev.INCIDENT_TRANSFERRED, incident_id, at=now,
                            payload={"to": to, "reason": reason})]
        units: set[int] = set()
        for a, unit in _open_assignments(s, incident_id):
            a.cleared_at = now
            prev = unit.status
            unit.status, unit.status_since, unit.incident_id = UnitStatus.AVAILABLE.value, now, None
            units.add(unit.id)
            ids.append(append_event(ctx, s, ev.UNIT_STATUS, incident_id, unit.id,
                                    {"from": prev, "to": UnitStatus.AVAILABLE.value, "reason": "转警释放"},
                                    at=now))
        note = f"转至{to}：{reason}"
        inc.status, inc.result_code, inc.close_note = IncidentStatus.CLOSED.value, "transferred", note
        inc.closed_at = inc.updated_at = now
        ids.append(append_event(ctx, s, ev.INCIDENT_CLOSED, incident_id, at=now,
                                payload={"result_code": "transferred", "result": RESULT_CODES["transferred"],
                                         "note": note, "to": to}))
        return Changes(incidents=frozenset({incident_id}), units=frozenset(units), last_event_id=ids[-1],
                       incident_id=incident_id, event_ids=tuple(ids))
