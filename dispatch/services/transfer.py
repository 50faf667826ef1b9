"""转警: hand an incident to another centre or department with a reason.

The incident keeps its whole record and leaves the queue as a closed incident with the
result 转办 (`transferred`), after an `incident.transferred` event naming where it went
and why. No new incident status: 转办 is already a result code of GA/T 2000.152, and a
closed incident is what every queue, board, replay and statistic already understands
(leaves the queue, units released, counted by result)."""
from __future__ import annotations

from dispatch.domain.decide import MAX_REASON, MAX_TO, decide_transfer, transfer_fields
from dispatch.domain.units import UnitStatus
from dispatch.services.calls import assigned_units, get_incident
from dispatch.services.context import Changes, Context, ensure_writable, instant, require
from dispatch.services.projection_rows import IncidentProjection, record

__all__ = ["MAX_REASON", "MAX_TO", "transfer"]


def transfer(ctx: Context, incident_id: int, to: str, reason: str) -> Changes:
    """转警: one transaction — `incident.transferred` (to, reason), the units still on it
    released to 空闲, and `incident.closed` with result 转办."""
    ensure_writable(ctx)
    require(ctx, "incident.close")
    transfer_fields(to, reason)  # refused before the write transaction
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        p = IncidentProjection(s, get_incident(s, incident_id))
        units = assigned_units(s, incident_id)
        drafts = decide_transfer(p.state, to, reason, {u.id: UnitStatus(u.status) for u in units})
        ids = record(ctx, s, now, drafts, [p], units)
        return Changes(incidents=frozenset({incident_id}), units=frozenset(u.id for u in units),
                       last_event_id=ids[-1], incident_id=incident_id, event_ids=tuple(ids))
