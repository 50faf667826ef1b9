"""A bulk recorder with the Services methods the simulator uses, for benchmarks only.

It writes exactly the rows the services write (events with the same kinds and
payloads, positions, the incident/assignment/unit projections with their versions),
but keeps them in memory and inserts them in a few executemany statements at the end,
instead of one transaction per action. tests/integration/test_simulator_bulk.py proves
the database it leaves equals the one the real services leave for the same shift.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update

from dispatch.domain import events as ev
from dispatch.domain.incidents import RESULT_CODES, Priority, category
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Actor, Changes
from dispatch.services.locations import Location
from dispatch.store import hashchain
from dispatch.store.db import Store
from dispatch.store.schema import AssignmentRow, EventRow, IncidentRow, PositionRow, UnitRow


class BulkRecorder:
    """Services-like recorder (open_call, locate, categorise, dispatch, set_unit_status,
    report_position, close); call `flush()` once at the end."""

    def __init__(self, store: Store, clock, actor: Actor, grid_of=None) -> None:  # noqa: ANN001
        self.store, self.clock, self.actor, self.grid_of = store, clock, actor, grid_of
        with store.reader() as s:
            self._next_event = (s.scalar(select(func.max(EventRow.id))) or 0) + 1
            self._next_incident = (s.scalar(select(func.max(IncidentRow.id))) or 0) + 1
            self._next_assignment = (s.scalar(select(func.max(AssignmentRow.id))) or 0) + 1
            self.units = {u.id: {"id": u.id, "callsign": u.callsign, "status": u.status,
                                 "status_since": u.status_since, "incident_id": u.incident_id,
                                 "lon": u.lon, "lat": u.lat, "position_at": u.position_at,
                                 "position_source": u.position_source,
                                 "version": u.version, "dirty": False}
                          for u in s.scalars(select(UnitRow))}
        self.events: list[dict] = []
        self.positions: list[dict] = []
        self.incidents: dict[int, dict] = {}
        self.assignments: list[dict] = []
        self._open: dict[int, dict] = {}  # unit id -> its open assignment

    def _event(self, kind: str, incident_id: int | None, unit_id: int | None, payload: dict) -> int:
        eid = self._next_event
        self._next_event += 1
        self.events.append({"id": eid, "occurred_at": self.clock.now(), "seat": self.actor.seat,
                            "operator": self.actor.operator, "kind": kind, "incident_id": incident_id,
                            "unit_id": unit_id, "payload": payload})
        return eid

    def _touch(self, inc: dict) -> None:
        inc["updated_at"] = self.clock.now()
        inc["version"] += 1

    def open_call(self, caller_number: str = "", caller_name: str = "") -> Changes:
        now, iid = self.clock.now(), self._next_incident
        self._next_incident += 1
        self.incidents[iid] = {
            "id": iid, "version": 1, "status": "pending", "received_at": now, "updated_at": now,
            "caller_number": caller_number.strip(), "caller_name": caller_name.strip()[:64],
            "place_text": "", "place_name": "", "place_kind": "", "place_admin": [], "qualifier": "",
            "lon": None, "lat": None, "grid_id": None, "category": "", "priority": Priority.NORMAL.value,
            "narrative": "", "result_code": "", "close_note": "", "closed_at": None,
            "seat": self.actor.seat, "operator": self.actor.operator}
        eid = self._event(ev.CALL_RECEIVED, iid, None, {"caller_number": caller_number.strip(),
                                                       "caller_name": caller_name.strip()})
        return Changes(incidents=frozenset({iid}), last_event_id=eid, incident_id=iid, event_ids=(eid,))

    def locate(self, incident_id: int, location: Location) -> Changes:
        location.validate()
        grid = self.grid_of(location.lon, location.lat) if self.grid_of else None
        inc = self.incidents[incident_id]
        inc.update(place_text=location.text, place_name=location.name, place_kind=location.kind,
                   place_admin=list(location.admin), qualifier=location.qualifier,
                   lon=location.lon, lat=location.lat, grid_id=grid)
        self._touch(inc)
        eid = self._event(ev.INCIDENT_LOCATED, incident_id, None, location.payload() | {"grid_id": grid})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id)

    def categorise(self, incident_id: int, category_code: str, priority: str | None = None,
                   narrative: str | None = None) -> Changes:
        cat = category(category_code)
        prio = Priority(priority) if priority else (Priority.URGENT if cat.urgent else Priority.NORMAL)
        inc = self.incidents[incident_id]
        inc["category"], inc["priority"] = cat.code, prio.value
        if narrative is not None:
            inc["narrative"] = narrative.strip()
        self._touch(inc)
        eid = self._event(ev.INCIDENT_CATEGORISED, incident_id, None,
                          {"category": cat.code, "label": cat.label, "priority": prio.value,
                           "narrative": inc["narrative"]})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id)

    def dispatch(self, incident_id: int, unit_ids, estimates=None) -> Changes:  # noqa: ANN001
        estimates, now = estimates or {}, self.clock.now()
        inc = self.incidents[incident_id]
        for uid in unit_ids:
            unit = self.units[uid]
            eta, meters = estimates.get(uid, (None, None))
            a = {"id": self._next_assignment, "incident_id": incident_id, "unit_id": uid,
                 "dispatched_at": now, "acknowledged_at": None, "en_route_at": None,
                 "arrived_at": None, "cleared_at": None, "eta_s": eta, "route_m": meters}
            self._next_assignment += 1
            self.assignments.append(a)
            self._open[uid] = a
            unit.update(status=UnitStatus.DISPATCHED.value, status_since=now, incident_id=incident_id)
            self._unit_changed(unit)
            self._event(ev.UNIT_DISPATCHED, incident_id, uid,
                        {"callsign": unit["callsign"], "from": UnitStatus.AVAILABLE.value,
                         "eta_s": eta, "route_m": meters})
        if inc["status"] == "pending":
            inc["status"] = "dispatched"
        self._touch(inc)
        return Changes(incidents=frozenset({incident_id}), units=frozenset(unit_ids), incident_id=incident_id)

    def set_unit_status(self, unit_id: int, target, note: str = "") -> Changes:  # noqa: ANN001
        target, now = UnitStatus(target), self.clock.now()
        unit = self.units[unit_id]
        current = UnitStatus(unit["status"])
        incident_id = unit["incident_id"]
        a = self._open.get(unit_id) if current.committed else None
        kind = ev.UNIT_ACKNOWLEDGED if target is UnitStatus.ACKNOWLEDGED else ev.UNIT_STATUS
        payload = {"from": current.value, "to": target.value, "callsign": unit["callsign"]}
        if note:
            payload["note"] = note
        if a is not None:
            inc = self.incidents[a["incident_id"]]
            if target is UnitStatus.ACKNOWLEDGED:
                a["acknowledged_at"] = now
            elif target is UnitStatus.EN_ROUTE:
                a["en_route_at"] = now
                a["acknowledged_at"] = a["acknowledged_at"] or now
            elif target is UnitStatus.ON_SCENE:
                a["arrived_at"] = now
                if inc["status"] == "dispatched":
                    inc["status"] = "on_scene"
            elif target is UnitStatus.AVAILABLE:
                a["cleared_at"] = now
                self._open.pop(unit_id, None)
                unit["incident_id"] = None
                others = any(o["incident_id"] == inc["id"] for o in self._open.values())
                if not others and inc["status"] == "dispatched":
                    inc["status"] = "pending"
            self._touch(inc)
        unit.update(status=target.value, status_since=now)
        self._unit_changed(unit)
        eid = self._event(kind, incident_id, unit_id, payload)
        return Changes(units=frozenset({unit_id}), last_event_id=eid, incident_id=incident_id)

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
        now = self.clock.now()
        inc = self.incidents[incident_id]
        for uid, a in list(self._open.items()):
            if a["incident_id"] != incident_id:
                continue
            a["cleared_at"] = now
            unit = self.units[uid]
            prev = unit["status"]
            unit.update(status=UnitStatus.AVAILABLE.value, status_since=now, incident_id=None)
            self._unit_changed(unit)
            del self._open[uid]
            self._event(ev.UNIT_STATUS, incident_id, uid,
                        {"from": prev, "to": UnitStatus.AVAILABLE.value, "reason": "结警释放"})
        inc.update(status="closed", result_code=result_code, close_note=note.strip(), closed_at=now)
        self._touch(inc)
        self._event(ev.INCIDENT_CLOSED, incident_id, None,
                    {"result_code": result_code, "result": RESULT_CODES[result_code], "note": note.strip()})
        return Changes(incidents=frozenset({incident_id}), incident_id=incident_id)

    def _unit_changed(self, unit: dict) -> None:
        unit["version"] += 1  # one UPDATE per service transaction that changes the unit
        unit["dirty"] = True

    def flush(self, chunk: int = 20000) -> None:
        """Insert everything recorded, in one transaction."""
        with self.store.write_connection() as conn:
            hashchain.seal(conn, self.events)  # ids and hashes continue the log's chain
            for table, rows in ((IncidentRow.__table__, list(self.incidents.values())),
                                (AssignmentRow.__table__, self.assignments),
                                (EventRow.__table__, self.events),
                                (PositionRow.__table__, self.positions)):
                for i in range(0, len(rows), chunk):
                    conn.execute(insert(table), rows[i:i + chunk])
            dirty = [{"b_id": u["id"], **{k: u[k] for k in ("status", "status_since", "incident_id", "lon",
                                                            "lat", "position_at", "position_source", "version")}}
                     for u in self.units.values() if u["dirty"]]
            if dirty:
                t = UnitRow.__table__
                conn.execute(update(t).where(t.c.id == bindparam("b_id")), dirty)
