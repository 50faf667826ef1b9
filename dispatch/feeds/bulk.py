"""A bulk recorder with the Services methods the simulator uses, for benchmarks only.

Each action decides and evolves with the domain's functions (dispatch.domain.decide and
.evolve), as the services do, but keeps the events, positions and projections in memory
and inserts them in a few executemany statements at the end instead of one transaction
per action. tests/integration/test_simulator_bulk.py proves the database it leaves
equals the one the real services leave for the same shift.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update

from dispatch.domain.decide import (Draft, UnitFacts, decide_categorise, decide_close, decide_dispatch,
                                    decide_locate, decide_open_call, decide_unit_status)
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import (ASSIGNMENT_FIELDS, INCIDENT_FIELDS, IncidentState, evolve_incident, evolve_unit,
                                    new_incident)
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Actor, Changes
from dispatch.services.locations import Location
from dispatch.store import hashchain
from dispatch.store.db import Store
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import AssignmentRow, EventRow, IncidentRow, PositionRow, UnitRow

_ROW_FIELDS = tuple(f for f in INCIDENT_FIELDS if f != "assignments")


class BulkRecorder:
    """Services-like recorder (open_call, locate, categorise, dispatch, set_unit_status,
    report_position, close); call `flush()` once at the end."""

    def __init__(self, store: Store, clock, actor: Actor, grid_of=None) -> None:  # noqa: ANN001
        self.store, self.clock, self.actor, self.grid_of = store, clock, actor, grid_of
        with store.reader() as s:
            self._next_event = (s.scalar(select(func.max(EventRow.id))) or 0) + 1
            self._next_incident = (s.scalar(select(func.max(IncidentRow.id))) or 0) + 1
            self._next_assignment = (s.scalar(select(func.max(AssignmentRow.id))) or 0) + 1
            self.units: dict[int, dict[str, Any]] = {u.id: {"id": u.id, "callsign": u.callsign,
                                 "state": (UnitStatus(u.status), as_utc(u.status_since), u.incident_id),
                                 "lon": u.lon, "lat": u.lat, "position_at": u.position_at,
                                 "position_source": u.position_source,
                                 "version": u.version, "dirty": False}
                          for u in s.scalars(select(UnitRow))}
        self.events: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.incidents: dict[int, IncidentState] = {}  # domain.evolve states
        self._assignments: list[tuple[int, int]] = []  # (incident id, index) in creation order

    def _facts(self, unit_id: int) -> UnitFacts:
        u = self.units.get(unit_id)
        if u is None:
            raise DispatchError(f"警力 {unit_id} 不存在")
        status, _since, incident_id = u["state"]
        return UnitFacts(unit_id, u["callsign"], status, incident_id)

    def _incident(self, incident_id: int) -> IncidentState:
        inc = self.incidents.get(incident_id)
        if inc is None:
            raise DispatchError(f"警情 {incident_id} 不存在")
        return inc

    def _record(self, drafts: list[Draft]) -> Changes:
        """Append the drafts (one transaction, one instant) and evolve what they name."""
        now = self.clock.now()
        touched_units: set[int] = set()
        touched_incidents: set[int] = set()
        eid = 0
        for d in drafts:
            eid = self._next_event
            self._next_event += 1
            self.events.append({"id": eid, "occurred_at": now, "seat": self.actor.seat,
                                "operator": self.actor.operator, "kind": d.kind,
                                "incident_id": d.incident_id, "unit_id": d.unit_id, "payload": d.payload})
            inc = self.incidents.get(d.incident_id) if d.incident_id is not None else None
            if inc is not None and d.incident_id is not None:
                n = len(inc["assignments"])
                if evolve_incident(inc, d.kind, now, d.unit_id, d.payload):
                    touched_incidents.add(d.incident_id)
                if len(inc["assignments"]) > n:
                    self._assignments.append((d.incident_id, n))
            unit = self.units.get(d.unit_id) if d.unit_id is not None else None
            if unit is not None and d.unit_id is not None:
                nxt = evolve_unit(unit["state"], d.kind, now, d.incident_id, d.payload)
                if nxt is not None:
                    unit["state"] = nxt
                    touched_units.add(d.unit_id)
        for uid in touched_units:  # one UPDATE per transaction that changes the unit
            self.units[uid]["version"] += 1
            self.units[uid]["dirty"] = True
        return Changes(incidents=frozenset(touched_incidents), units=frozenset(touched_units),
                       last_event_id=eid, incident_id=drafts[-1].incident_id if drafts else None)

    def open_call(self, caller_number: str = "", caller_name: str = "") -> Changes:
        draft = decide_open_call(caller_number, caller_name)
        iid = self._next_incident
        self._next_incident += 1
        self.incidents[iid] = new_incident(iid, self.clock.now(), self.actor.seat, self.actor.operator,
                                           draft.payload)
        return self._record([Draft(draft.kind, iid, None, draft.payload)])

    def locate(self, incident_id: int, location: Location) -> Changes:
        location.validate()
        grid = self.grid_of(location.lon, location.lat) if self.grid_of else None
        payload = location.payload() | {"grid_id": grid}
        return self._record(decide_locate(self._incident(incident_id), payload))

    def categorise(self, incident_id: int, category_code: str, priority: str | None = None,
                   narrative: str | None = None) -> Changes:
        return self._record(decide_categorise(self._incident(incident_id), category_code, priority, narrative))

    def dispatch(self, incident_id: int, unit_ids, estimates=None) -> Changes:  # noqa: ANN001
        units = [self._facts(uid) for uid in unit_ids]
        return self._record(decide_dispatch(self._incident(incident_id), units, estimates))

    def set_unit_status(self, unit_id: int, target, note: str = "") -> Changes:  # noqa: ANN001
        facts = self._facts(unit_id)
        inc = self.incidents.get(facts.incident_id) if facts.status.committed and facts.incident_id else None
        return self._record(decide_unit_status(facts, target, note, inc))

    def report_position(self, unit_id: int, lon: float, lat: float, at: datetime | None = None,
                        speed: float | None = None, heading: float | None = None) -> Changes:
        at = at or self.clock.now()
        self.positions.append({"unit_id": unit_id, "at": at, "lon": lon, "lat": lat,
                               "speed": speed, "heading": heading})
        unit = self.units[unit_id]
        unit.update(lon=lon, lat=lat, position_at=at, position_source="avl")
        unit["dirty"] = True  # a position never bumps the version (see feeds.avl_store)
        return Changes(units=frozenset({unit_id}))

    def close(self, incident_id: int, result_code: str, note: str = "") -> Changes:
        inc = self._incident(incident_id)
        units = {a.unit_id: self.units[a.unit_id]["state"][0] for a in inc["assignments"] if a.cleared_at is None}
        return self._record(decide_close(inc, result_code, note, units))

    def flush(self, chunk: int = 20000) -> None:
        """Insert everything recorded, in one transaction."""
        incidents = []
        for state in self.incidents.values():
            row = {f: state[f] for f in _ROW_FIELDS}
            row["status"] = state["status"].value
            incidents.append(row)
        assignments = []
        for k, (iid, i) in enumerate(self._assignments):
            a = self.incidents[iid]["assignments"][i]
            assignments.append({"id": self._next_assignment + k, "incident_id": iid,
                                **{f: getattr(a, f) for f in ASSIGNMENT_FIELDS if f != "callsign"}})
        with self.store.write_connection() as conn:
            hashchain.seal(conn, self.events)  # ids and hashes continue the log's chain
            for table, rows in ((_table(IncidentRow), incidents), (_table(AssignmentRow), assignments),
                                (_table(EventRow), self.events), (_table(PositionRow), self.positions)):
                for i in range(0, len(rows), chunk):
                    conn.execute(insert(table), rows[i:i + chunk])
            dirty = [{"b_id": u["id"], "status": u["state"][0].value, "status_since": u["state"][1],
                      "incident_id": u["state"][2],
                      **{k: u[k] for k in ("lon", "lat", "position_at", "position_source", "version")}}
                     for u in self.units.values() if u["dirty"]]
            if dirty:
                t = _table(UnitRow)
                conn.execute(update(t).where(t.c.id == bindparam("b_id")), dirty)
            if conn.dialect.name == "postgresql":  # ids were given: move the sequences past them
                for name in ("incidents", "assignments", "events"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                      f"GREATEST((SELECT max(id) FROM {name}), 1))"))


def _table(row: type) -> Table:
    return cast(Table, row.__table__)  # type: ignore[attr-defined]
