"""The adapter between the domain's states (domain.evolve) and the projection rows: a
service reads the rows it acts on as states, decides (domain.decide), and `record`
appends the drafts and applies the same evolve to the rows, in its transaction with one
`now`. The incident row's `version` is the ORM's: one UPDATE per event that changes the
incident, which is what evolve counts."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Column, DateTime, Float, Integer, String, Table, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from dispatch.domain.decide import Draft, UnitFacts
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import (ASSIGNMENT_FIELDS, INCIDENT_FIELDS, Assignment, IncidentState, UnitState,
                                    evolve_incident, evolve_unit, fast_view)
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Context, append_event
from dispatch.store.db import ROWS_AT_COMMIT, VERSIONS_SEEN
from dispatch.store.eventlog import as_utc
from dispatch.store.hashchain import GUARDED, GuardedWrites
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
        changed, added = self.assignment_changes()
        for target, values in changed:
            for f, v in values.items():
                if _differs(getattr(target, f), v):
                    setattr(target, f, v)
        for values in added:
            target = AssignmentRow(incident_id=row.id, **values)
            s.add(target)
            self.rows.append(target)

    def assignment_changes(self) -> tuple[list[tuple[AssignmentRow, dict[str, Any]]], list[dict[str, Any]]]:
        """The assignment rows the evolved state changed, each with its values, and the
        values of the assignments it added (no row yet); callsign is not a column."""
        changed, added = [], []
        for i, a in enumerate(self.state["assignments"]):
            values = {f: getattr(a, f) for f in ASSIGNMENT_FIELDS if f != "callsign"}
            if i >= len(self.rows):
                added.append(values)
            elif any(_differs(getattr(self.rows[i], f), v) for f, v in values.items()):
                changed.append((self.rows[i], values))
        return changed, added


def unit_facts(row: UnitRow) -> UnitFacts:
    return UnitFacts(row.id, row.callsign, UnitStatus(row.status), row.incident_id)


def record(ctx: Context, s: Session, now: datetime, drafts: Iterable[Draft],
           incidents: Iterable[IncidentProjection] = (), units: Iterable[UnitRow] = ()) -> list[int]:
    """Append the drafts (at `now`) and evolve the incidents and units they name; returns
    the event ids. The rows are written through the ORM (one version-checked UPDATE per
    event that changes an incident), or, in a lock_late PostgreSQL transaction
    (store.db.ROWS_AT_COMMIT), once each at the commit with the events (_write_at_commit):
    such an action reads nothing after its record()."""
    incs = {p.row.id: p for p in incidents}
    unit_rows = {u.id: u for u in units}
    unit_states: dict[int, UnitState] = {uid: (UnitStatus(u.status), _utc(u.status_since), u.incident_id)
                   for uid, u in unit_rows.items()}
    at_commit = bool(s.info.get(ROWS_AT_COMMIT))
    ids = []
    for d in drafts:
        ids.append(append_event(ctx, s, d.kind, d.incident_id, d.unit_id, d.payload, at=now))
        p = incs.get(d.incident_id) if d.incident_id is not None else None
        if p is not None and evolve_incident(p.state, d.kind, now, d.unit_id, d.payload) and not at_commit:
            p.write(s)  # one UPDATE (one version step) per event that changes the incident
            s.flush()
        if d.unit_id in unit_states:
            nxt = evolve_unit(unit_states[d.unit_id], d.kind, now, d.incident_id, d.payload)
            if nxt is not None:
                unit_states[d.unit_id] = nxt
    if at_commit:
        _write_at_commit(s, incs.values(), unit_rows, unit_states)
        return ids
    for uid, (status, since, inc) in unit_states.items():
        row = unit_rows[uid]
        if row.status != status.value:
            row.status = status.value
        if since is not None and _utc(row.status_since) != since:
            row.status_since = since
        if row.incident_id != inc:
            row.incident_id = inc
    return ids


def _pg_type(column: Column[Any]) -> str:
    """The json_to_recordset type of a projection column."""
    kind = column.type
    if isinstance(kind, DateTime):
        return "timestamptz"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, String):  # Text as well
        return "text"
    raise TypeError(f"no recordset type for {column}")


def _recordset(table: Table, names: Iterable[str], param: str) -> str:
    cols = ", ".join(f"{n} {_pg_type(table.c[n])}" for n in names)
    return f"json_to_recordset(%({param})s::json) AS r({cols})"


_INCIDENTS: Table = IncidentRow.__table__  # type: ignore[assignment]
_UNITS: Table = UnitRow.__table__  # type: ignore[assignment]
_ASSIGNMENTS: Table = AssignmentRow.__table__  # type: ignore[assignment]
_ASSIGNMENT_COLUMNS = ("incident_id",) + tuple(f for f in ASSIGNMENT_FIELDS if f != "callsign")
_UNIT_COLUMNS = ("status", "status_since", "incident_id")
# The projection rows of a lock_late action, sent with its events (store.hashchain.GuardedWrites):
# incidents and units version-checked (the guard: each found its row at the version read),
# assignments updated by id or inserted. Fixed text: the rows travel as JSON arrays.
_ROWS_AT_COMMIT = (
    f"incidents_written AS (UPDATE incidents AS t SET version = r.next_version, "
    f"{', '.join(f'{f} = r.{f}' for f in _ROW_FIELDS)} "
    f"FROM {_recordset(_INCIDENTS, ('id', 'version', *_ROW_FIELDS), 'incidents')[:-1]}, next_version integer) "
    f"WHERE t.id = r.id AND t.version = r.version RETURNING t.id), "
    f"units_written AS (UPDATE units AS t SET version = t.version + 1, "
    f"{', '.join(f'{f} = r.{f}' for f in _UNIT_COLUMNS)} "
    f"FROM {_recordset(_UNITS, ('id', 'version', *_UNIT_COLUMNS), 'units')} "
    f"WHERE t.id = r.id AND t.version = r.version RETURNING t.id), "
    f"assignments_written AS (UPDATE assignments AS t SET "
    f"{', '.join(f'{f} = r.{f}' for f in _ASSIGNMENT_COLUMNS)} "
    f"FROM {_recordset(_ASSIGNMENTS, ('id', *_ASSIGNMENT_COLUMNS), 'assignments')} WHERE t.id = r.id), "
    f"assignments_added AS (INSERT INTO assignments ({', '.join(_ASSIGNMENT_COLUMNS)}) "
    f"SELECT {', '.join(_ASSIGNMENT_COLUMNS)} FROM {_recordset(_ASSIGNMENTS, _ASSIGNMENT_COLUMNS, 'new_assignments')})")
_ROWS_FOUND = ("(SELECT count(*) FROM incidents_written) = %(incidents_n)s"
               " AND (SELECT count(*) FROM units_written) = %(units_n)s")


def _json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY).decode()


def _write_at_commit(s: Session, incidents: Iterable[IncidentProjection], unit_rows: dict[int, UnitRow],
                     unit_states: dict[int, UnitState]) -> None:
    """Queue the rows the action changed, to be written with its events at the commit;
    the versions read are noted for a refusal naming who moved a row (store.db.VERSIONS_SEEN)."""
    if s.info.get(GUARDED) is not None:
        raise RuntimeError("record() twice in one lock_late transaction")
    seen = s.info.setdefault(VERSIONS_SEEN, {})
    incident_rows, assignments, added = [], [], []
    for p in incidents:
        state, row = p.state, p.row
        if state["version"] == row.version:
            continue
        seen.setdefault((IncidentRow, row.id), row.version)
        incident_rows.append({"id": row.id, "version": row.version, "next_version": state["version"],
                              **{f: state[f] for f in _ROW_FIELDS}, "status": state["status"].value})
        changed, new = p.assignment_changes()
        assignments += [{"id": target.id, "incident_id": row.id, **values} for target, values in changed]
        added += [{"incident_id": row.id, **values} for values in new]
    units = []
    for uid, (status, since, inc) in unit_states.items():
        unit = unit_rows[uid]
        since = since if since is not None else _utc(unit.status_since)
        if (unit.status, _utc(unit.status_since), unit.incident_id) != (status.value, since, inc):
            seen.setdefault((UnitRow, uid), unit.version)
            units.append({"id": uid, "version": unit.version, "status": status.value, "status_since": since,
                          "incident_id": inc})
    s.info[GUARDED] = GuardedWrites(_ROWS_AT_COMMIT, _ROWS_FOUND, {
        "incidents": _json(incident_rows), "units": _json(units), "assignments": _json(assignments),
        "new_assignments": _json(added), "incidents_n": len(incident_rows), "units_n": len(units)})


def _differs(current: object, value: object) -> bool:
    return (as_utc(current) if isinstance(current, datetime) else current) != value


def new_incident_row(state: IncidentState) -> IncidentRow:
    """The row of an incident a call.received created (domain.evolve.new_incident)."""
    values = {f: state[f] for f in _ROW_FIELDS}
    values["status"] = state["status"].value
    return IncidentRow(**values)
