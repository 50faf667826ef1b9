"""转警: hand an incident to another centre or department with a reason.

The incident keeps its whole record and leaves the queue as a closed incident with the
result 转办 (`transferred`), after an `incident.transferred` event naming where it went
and why. No new incident status: 转办 is already a result code of GA/T 2000.152, and a
closed incident is what every queue, board, replay and statistic already understands
(leaves the queue, units released, counted by result)."""
from __future__ import annotations

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus, check_incident_move
from dispatch.services.calls import close_in, get_incident
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
        units, closed = close_in(ctx, s, inc, "transferred", f"转至{to}：{reason}", now, {"to": to})
        ids += closed
        return Changes(incidents=frozenset({incident_id}), units=frozenset(units), last_event_id=ids[-1],
                       incident_id=incident_id, event_ids=tuple(ids))
