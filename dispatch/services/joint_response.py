"""联动 (joint response): tell a partner agency (119, 120, 122, 12345, 燃气, 供电, 供水,
住建) about an incident — who, how, when, their reference — and record its
acknowledgement. Both are events of the log (`agency.notified`, `agency.acknowledged`);
the list of notifications is read back from the log, so no projection table is needed."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.agencies import ACK_REMINDER_S, AGENCY_BY_CODE, METHODS, agency, method
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.incidents import IncidentStatus
from dispatch.services.calls import get_incident, open_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, IncidentRow

MAX_TEXT = 200


@dataclass(frozen=True)
class Notification:
    """One 联动 notification and, once it came, its acknowledgement."""

    id: int                      # the agency.notified event id
    incident_id: int
    agency: str                  # code, e.g. "119", "gas"
    method: str                  # phone / system / radio
    at: datetime                 # UTC
    reference: str               # the partner's reference (工单号, 接警员工号 …)
    note: str
    seat: str
    operator: str
    acknowledged_at: datetime | None = None
    ack_reference: str = ""

    @property
    def agency_label(self) -> str:
        return AGENCY_BY_CODE[self.agency].label if self.agency in AGENCY_BY_CODE else self.agency

    @property
    def method_label(self) -> str:
        return METHODS.get(self.method, self.method)

    def overdue(self, now: datetime, after_s: float = ACK_REMINDER_S) -> bool:
        """Not acknowledged `after_s` seconds after it was sent: time for a reminder."""
        return self.acknowledged_at is None and (now - self.at).total_seconds() >= after_s

    def as_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat().replace("+00:00", "Z") if t else None
        return {"id": self.id, "agency": self.agency, "label": self.agency_label, "method": self.method,
                "at": iso(self.at), "reference": self.reference, "note": self.note,
                "acknowledged_at": iso(self.acknowledged_at), "ack_reference": self.ack_reference}


def _clean(text: str | None, what: str) -> str:
    return clean_text(text, what, limit=MAX_TEXT)


def notify(ctx: Context, incident_id: int, agency_code: str, how: str = "phone",
           reference: str = "", note: str = "") -> Changes:
    """联动通知: record that a partner agency was told of an open incident, how and with
    which reference of theirs. Refused for a closed or unknown incident."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    a, m = agency(agency_code), method(how)
    reference, note = _clean(reference, "对方编号"), _clean(note, "备注")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        open_incident(s, incident_id)  # refused when closed or unknown
        eid = append_event(ctx, s, ev.AGENCY_NOTIFIED, incident_id, at=now,
                           payload={"agency": a.code, "label": a.label, "method": m,
                                    "reference": reference, "note": note})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def acknowledge(ctx: Context, incident_id: int, agency_code: str | None = None,
                notification_id: int | None = None, reference: str = "") -> Changes:
    """联动确认: the partner acknowledged. Names the notification by its id, or by the
    agency (its oldest unacknowledged notification on this incident). An acknowledgement
    may come after the incident was closed; a second one for the same notification is refused."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    code = agency(agency_code).code if agency_code else None
    reference = _clean(reference, "对方编号")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        get_incident(s, incident_id)
        pending = [n for n in notifications(s, [incident_id])[incident_id] if n.acknowledged_at is None]
        if notification_id is not None:
            match = [n for n in pending if n.id == notification_id]
            if not match:
                raise DispatchError(f"警情 {incident_id} 没有待确认的联动通知 {notification_id}")
        elif code is not None:
            match = [n for n in pending if n.agency == code]
            if not match:
                raise DispatchError(f"警情 {incident_id} 没有待确认的「{AGENCY_BY_CODE[code].label}」通知")
        else:
            raise DispatchError("请指明要确认的联动单位或通知")
        n = match[0]
        eid = append_event(ctx, s, ev.AGENCY_ACKNOWLEDGED, incident_id, at=now,
                           payload={"notification_id": n.id, "agency": n.agency,
                                    "reference": reference or n.reference,
                                    "after_s": round((now - n.at).total_seconds(), 1)})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def notifications(s: Session, incident_ids: list[int]) -> dict[int, list[Notification]]:
    """The notifications of these incidents, oldest first, with their acknowledgements."""
    out: dict[int, list[Notification]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    q = (select(EventRow).where(EventRow.kind.in_((ev.AGENCY_NOTIFIED, ev.AGENCY_ACKNOWLEDGED)),
                                EventRow.incident_id.in_(incident_ids)).order_by(EventRow.id))
    by_id: dict[int, Notification] = {}
    for r in s.scalars(q):
        p = r.payload or {}
        if r.incident_id is None:
            continue
        if r.kind == ev.AGENCY_NOTIFIED:
            by_id[r.id] = Notification(r.id, r.incident_id, p.get("agency", ""), p.get("method", ""),
                                       as_utc(r.occurred_at), p.get("reference", ""), p.get("note", ""),
                                       r.seat, r.operator)
        elif (n := by_id.get(int(p.get("notification_id") or 0))) is not None:
            by_id[n.id] = replace(n, acknowledged_at=as_utc(r.occurred_at),
                                  ack_reference=p.get("reference", ""))
    for n in by_id.values():
        out[n.incident_id].append(n)
    return out


def due_reminders(s: Session, now: datetime, after_s: float = ACK_REMINDER_S) -> list[Notification]:
    """Notifications of open incidents still unacknowledged `after_s` seconds after they
    were sent, oldest first: the seat should call the partner again."""
    open_ids = list(s.scalars(select(IncidentRow.id).where(IncidentRow.status != IncidentStatus.CLOSED.value)))
    by = notifications(s, open_ids)
    return sorted((n for ns in by.values() for n in ns if n.overdue(now, after_s)), key=lambda n: n.at)


def ack_summary(told: list[Notification]) -> dict[str, Any]:
    """For the statistics: how many notifications, how many acknowledged, and the
    notification → acknowledgement seconds (median and 90th percentile, nearest rank)."""
    waits = sorted((n.acknowledged_at - n.at).total_seconds() for n in told if n.acknowledged_at is not None)

    def rank(q: float) -> float | None:
        return waits[max(0, math.ceil(len(waits) * q) - 1)] if waits else None
    return {"notified": len(told), "acknowledged": len(waits), "median_ack_s": rank(0.5), "p90_ack_s": rank(0.9)}
