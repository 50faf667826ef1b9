"""When a dispatch needs the call-taker's attention (it turns red on the board)."""
from __future__ import annotations

from datetime import datetime


def assignment_alert(dispatched_at: datetime, acknowledged_at: datetime | None,
                     arrived_at: datetime | None, eta_s: float | None, now: datetime,
                     ack_timeout_s: float, arrival_target_s: float) -> str | None:
    """'未签收' when a dispatch is not acknowledged within ack_timeout_s; '超时未到场'
    when the unit has not arrived by max(1.5 x ETA + 60 s, the arrival target)."""
    if arrived_at is not None:
        return None
    waited = (now - dispatched_at).total_seconds()
    if acknowledged_at is None and waited > ack_timeout_s:
        return "未签收"
    due = max(1.5 * eta_s + 60.0, arrival_target_s) if eta_s else arrival_target_s
    if waited > due:
        return "超时未到场"
    return None
