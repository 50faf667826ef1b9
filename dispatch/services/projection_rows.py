"""The adapter between the domain's states (domain.evolve) and the projection rows: a
service reads the rows it acts on as states, decides (domain.decide), and `record`
appends the drafts and applies the same evolve to the rows, in its transaction with one
`now`. The incident row's `version` is the ORM's: one UPDATE per event that changes the
incident, which is what evolve counts."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from dispatch.domain.decide import Draft, UnitFacts
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import (ASSIGNMENT_FIELDS, INCIDENT_FIELDS, Assignment, IncidentState, UnitState,
                                    evolve_incident, evolve_unit, fast_view)
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Context, append_event
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import AssignmentRow, IncidentRow, UnitRow

_ROW_FIELDS = tuple(f for f in INCIDENT_FIELDS if f not in ("id", "version", "assignments"))


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


# Built once: a statement object keeps its cache key, so a service call neither builds nor keys it.
_WITH_ASSIGNMENTS = (select(IncidentRow, AssignmentRow)
                     .outerjoin(AssignmentRow, AssignmentRow.incident_id == IncidentRow.id)
                     .where(IncidentRow.id == bindparam("incident_id")).order_by(AssignmentRow.id))


class IncidentProjection:
    """One incident row with its assignment rows, read as a domain state."""

    def __init__(self, s: Session, row: IncidentRow, assignments: list[AssignmentRow] | None = None) -> None:
        self.row = row
        self.rows = assignments if assignments is not None else list(s.scalars(
            select(AssignmentRow).where(AssignmentRow.incident_id == row.id).order_by(AssignmentRow.id)))
        state = {f: getattr(row, f) for f in INCIDENT_FIELDS if f != "assignments"}
        state["status"] = IncidentStatus(row.status)
        state["place_admin"] = list(row.place_admin or [])
        for f in ("received_at", "updated_at", "closed_at"):
            state[f] = _utc(state[f])
        state["assignments"] = tuple(fast_view(Assignment, {
            **{f: getattr(a, f) for f in ASSIGNMENT_FIELDS if f != "callsign"}, "callsign": "",
            **{f: _utc(getattr(a, f)) for f in ("dispatched_at", "acknowledged_at", "en_route_at",
                                                  "arrived_at", "cleared_at")}}) for a in self.rows)
        self.state = state

    @classmethod
    def load(cls, s: Session, incident_id: int) -> IncidentProjection:
        """The incident and its assignments in one query; refused when there is no such incident."""
        pairs = s.execute(_WITH_ASSIGNMENTS, {"incident_id": incident_id}).all()
        if not pairs:
            raise DispatchError(f"警情 {incident_id} 不存在")
        return cls(s, pairs[0][0], [a for _, a in pairs if a is not None])

    def write(self, s: Session) -> None:
        """Put the evolved state into the rows (only what changed); the incident row is
        marked changed even when no column differs, so that it takes its version step."""
        row, state = self.row, self.state
        for f in _ROW_FIELDS:
            value = state[f]
            if f == "status":
                value = value.value
            current = getattr(row, f)
            if f in ("received_at", "updated_at", "closed_at"):
                current = _utc(current)
            if current != value:
                setattr(row, f, value)
        flag_modified(row, "updated_at")
        for i, a in enumerate(state["assignments"]):
            values = {f: getattr(a, f) for f in ASSIGNMENT_FIELDS if f != "callsign"}
            if i < len(self.rows):
                target = self.rows[i]
                for f, v in values.items():
                    current = getattr(target, f)
                    if isinstance(current, datetime):
                        current = as_utc(current)
                    if current != v:
                        setattr(target, f, v)
            else:
                target = AssignmentRow(incident_id=row.id, **values)
                s.add(target)
                self.rows.append(target)


def unit_facts(row: UnitRow) -> UnitFacts:
    return UnitFacts(row.id, row.callsign, UnitStatus(row.status), row.incident_id)


def record(ctx: Context, s: Session, now: datetime, drafts: Iterable[Draft],
           incidents: Iterable[IncidentProjection] = (), units: Iterable[UnitRow] = ()) -> list[int]:
    """Append the drafts (at `now`) and evolve the incidents and units they name; returns
    the event ids."""
    incs = {p.row.id: p for p in incidents}
    unit_rows = {u.id: u for u in units}
    unit_states: dict[int, UnitState] = {uid: (UnitStatus(u.status), _utc(u.status_since), u.incident_id)
                   for uid, u in unit_rows.items()}
    ids = []
    for d in drafts:
        ids.append(append_event(ctx, s, d.kind, d.incident_id, d.unit_id, d.payload, at=now))
        p = incs.get(d.incident_id) if d.incident_id is not None else None
        if p is not None and evolve_incident(p.state, d.kind, now, d.unit_id, d.payload):
            p.write(s)  # one UPDATE (one version step) per event that changes the incident
            s.flush()
        if d.unit_id in unit_states:
            nxt = evolve_unit(unit_states[d.unit_id], d.kind, now, d.incident_id, d.payload)
            if nxt is not None:
                unit_states[d.unit_id] = nxt
    for uid, (status, since, inc) in unit_states.items():
        row = unit_rows[uid]
        if row.status != status.value:
            row.status = status.value
        if since is not None and _utc(row.status_since) != since:
            row.status_since = since
        if row.incident_id != inc:
            row.incident_id = inc
    return ids


def new_incident_row(state: IncidentState) -> IncidentRow:
    """The row of an incident a call.received created (domain.evolve.new_incident)."""
    values = {f: state[f] for f in _ROW_FIELDS}
    values["status"] = state["status"].value
    return IncidentRow(**values)
