"""The shift lead's read model (值班长视图): every seat seen recently with its operator,
role, last activity and the open incidents it holds, and the calls waiting for
dispatch with their wait against the dispatch target. Reads only, two queries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from dispatch.domain.events import UNIT_POSITION
from dispatch.domain.incidents import IncidentStatus
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import AccountRow, AssignmentRow, EventRow, IncidentRow

RECENT = timedelta(hours=12)  # a seat with no event for longer (and no open incident) is not shown


@dataclass(frozen=True)
class HeldIncident:
    """An open incident as the lead sees it in a seat's row or the waiting list."""

    id: int
    status: IncidentStatus
    category: str
    place: str
    received_at: datetime
    seat: str


@dataclass(frozen=True)
class SeatRow:
    seat: str
    operator: str
    role: str | None              # dispatch.domain.roles.Role value, None when no account knows the operator
    last_activity: datetime | None
    incidents: tuple[HeldIncident, ...]


@dataclass(frozen=True)
class WaitingCall:
    """An open, pending incident with no unit on it."""

    incident: HeldIncident
    wait_s: float
    overdue: bool


@dataclass(frozen=True)
class SeatOverview:
    at: datetime
    dispatch_target_s: float
    seats: tuple[SeatRow, ...]
    waiting: tuple[WaitingCall, ...]   # longest wait first

    def seat(self, name: str) -> SeatRow | None:
        return next((s for s in self.seats if s.seat == name), None)


def seat_overview(session: Session, now: datetime, dispatch_target_s: float,
                  recent: timedelta = RECENT) -> SeatOverview:
    """The seats active since `now - recent` (from the log) or holding an open incident,
    and the calls waiting for dispatch; a wait longer than `dispatch_target_s` is overdue."""
    if dispatch_target_s <= 0:
        raise ValueError("dispatch_target_s must be positive")
    seats: dict[str, tuple[str, str | None, datetime | None]] = {}
    for seat, operator, at, role in session.execute(_latest_event_per_seat(now - recent)):
        if seat:
            seats[seat] = (operator, role, as_utc(at))

    held: dict[str, list[HeldIncident]] = {}
    waiting: list[WaitingCall] = []
    has_unit = exists().where(and_(AssignmentRow.incident_id == IncidentRow.id,
                                   AssignmentRow.cleared_at.is_(None)))
    open_rows = session.execute(
        select(IncidentRow.id, IncidentRow.status, IncidentRow.category, IncidentRow.place_name,
               IncidentRow.place_text, IncidentRow.received_at, IncidentRow.updated_at, IncidentRow.seat,
               IncidentRow.operator, has_unit.label("has_unit"), AccountRow.role)
        .outerjoin(AccountRow, AccountRow.name == IncidentRow.operator)
        .where(IncidentRow.status != IncidentStatus.CLOSED.value)
        .order_by(IncidentRow.received_at, IncidentRow.id))
    for r in open_rows:
        inc = HeldIncident(id=r.id, status=IncidentStatus(r.status), category=r.category,
                           place=r.place_name or r.place_text, received_at=as_utc(r.received_at), seat=r.seat)
        if r.seat:
            held.setdefault(r.seat, []).append(inc)
            if r.seat not in seats:  # quiet for longer than `recent`, but still holds this call
                seats[r.seat] = (r.operator, r.role, as_utc(r.updated_at))
        if inc.status is IncidentStatus.PENDING and not r.has_unit:
            wait = max(0.0, (now - inc.received_at).total_seconds())
            waiting.append(WaitingCall(inc, wait, wait > dispatch_target_s))

    rows = tuple(SeatRow(seat, op, role, at, tuple(held.get(seat, ())))
                 for seat, (op, role, at) in sorted(seats.items(), key=lambda kv: _seat_key(kv[0])))
    waiting.sort(key=lambda w: (-w.wait_s, w.incident.id))
    return SeatOverview(now, dispatch_target_s, rows, tuple(waiting))


def _latest_event_per_seat(since: datetime) -> Any:  # a Select
    """seat, operator, occurred_at and the operator's role of each seat's newest event
    since `since` (unit positions are not a seat's work)."""
    newest = (select(func.max(EventRow.id))
              .where(EventRow.occurred_at >= since, EventRow.kind != UNIT_POSITION)
              .group_by(EventRow.seat))
    return (select(EventRow.seat, EventRow.operator, EventRow.occurred_at, AccountRow.role)
            .outerjoin(AccountRow, AccountRow.name == EventRow.operator)
            .where(EventRow.id.in_(newest)))


def _seat_key(name: str) -> tuple[Any, ...]:
    """席位2 before 席位10: digits compared as numbers."""
    import re
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
