"""回访 (callbacks): which closed incidents are due a call back to the caller, which are
overdue, and the callback recorded for an incident. The callback itself is
`calls.callback` (a `callback.done` event); this module only reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.incidents import RESULT_CODES, IncidentStatus
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, IncidentRow

DUE_AFTER_H = 2.0        # a closed incident is called back once it has been closed this long
OVERDUE_AFTER_H = 72.0   # not called back within three days of closing: overdue
# results that get no callback: nothing happened, another call covers it, another body handles it
NO_CALLBACK_RESULTS = frozenset({"invalid", "duplicate", "transferred"})


@dataclass(frozen=True)
class DueCallback:
    incident_id: int
    closed_at: datetime        # UTC
    caller_number: str
    caller_name: str
    category: str
    result_code: str
    place_name: str
    overdue: bool

    @property
    def result_label(self) -> str:
        return RESULT_CODES.get(self.result_code, self.result_code)


@dataclass(frozen=True)
class CallbackRecord:
    at: datetime
    satisfied: bool
    note: str
    seat: str
    operator: str

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat().replace("+00:00", "Z"), "satisfied": self.satisfied,
                "note": self.note, "seat": self.seat, "operator": self.operator}


def callbacks(s: Session, incident_ids: list[int]) -> dict[int, CallbackRecord | None]:
    """The last callback of each incident, or None when it was not called back."""
    out: dict[int, CallbackRecord | None] = {i: None for i in incident_ids}
    if not incident_ids:
        return out
    q = (select(EventRow).where(EventRow.kind == ev.CALLBACK_DONE, EventRow.incident_id.in_(incident_ids))
         .order_by(EventRow.id))
    for r in s.scalars(q):
        if r.incident_id is None:
            continue
        p = r.payload or {}
        out[r.incident_id] = CallbackRecord(as_utc(r.occurred_at), bool(p.get("satisfied")),
                                            p.get("note", ""), r.seat, r.operator)
    return out


def due(s: Session, now: datetime, due_after_h: float = DUE_AFTER_H,
        overdue_after_h: float = OVERDUE_AFTER_H) -> list[DueCallback]:
    """Closed incidents with a caller number, closed more than `due_after_h` hours before
    `now` and not yet called back, oldest first; those closed more than `overdue_after_h`
    hours ago are flagged overdue. Invalid, duplicate and transferred incidents are left out."""
    cutoff = now - timedelta(hours=due_after_h)
    done = select(EventRow.incident_id).where(EventRow.kind == ev.CALLBACK_DONE,
                                              EventRow.incident_id.is_not(None))
    q = (select(IncidentRow).where(IncidentRow.status == IncidentStatus.CLOSED.value,
                                   IncidentRow.closed_at <= cutoff, IncidentRow.caller_number != "",
                                   IncidentRow.result_code.not_in(NO_CALLBACK_RESULTS),
                                   IncidentRow.id.not_in(done))
         .order_by(IncidentRow.closed_at))
    late = now - timedelta(hours=overdue_after_h)
    out = []
    for r in s.scalars(q):
        closed = as_utc(r.closed_at) if r.closed_at is not None else now  # closed rows have one
        out.append(DueCallback(r.id, closed, r.caller_number, r.caller_name, r.category,
                               r.result_code, r.place_name, closed <= late))
    return out


def callback_summary(s: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """For the statistics: incidents closed in [since, until) that call for a callback
    (same rule as `due`, without the waiting time), how many were called back, how many
    callers were satisfied, and the two rates (None when there is nothing to divide)."""
    q = select(IncidentRow.id).where(IncidentRow.status == IncidentStatus.CLOSED.value,
                                     IncidentRow.closed_at >= since, IncidentRow.closed_at < until,
                                     IncidentRow.caller_number != "",
                                     IncidentRow.result_code.not_in(NO_CALLBACK_RESULTS))
    ids = list(s.scalars(q))
    done = [r for r in callbacks(s, ids).values() if r is not None]
    happy = sum(r.satisfied for r in done)
    return {"closed": len(ids), "called_back": len(done), "satisfied": happy,
            "callback_rate": len(done) / len(ids) if ids else None,
            "satisfaction_rate": happy / len(done) if done else None}
