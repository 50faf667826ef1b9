"""Evolve: how each event changes an incident (with its assignments) and a unit, written
once. The services apply it to their projection rows (services.projection_rows), the
replay fold to its states (replay.fold), the bench's bulk recorder to its memory
(feeds.bulk): all three hold the same state after the same events.

The incident state is a plain dict (the fields of services.queries.IncidentView, with
`status` an IncidentStatus and `assignments` a tuple of assignment objects); a unit's
state is the tuple (status: UnitStatus, status_since, incident_id). No clock, no
database. The hot path of replay folds 10^5 events: one dict lookup per event finds the
kind's step (_INCIDENT_STEPS), plain names, no Enum `.value` in the loop, objects built
without __init__ (their __dict__ set), the state dict changed in place key by key.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch.domain import events as ev
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus

RELEASED_ON_CLOSE = "结警释放"  # reason of the unit.status events a close appends
# Kinds that change neither an incident nor a unit (any kind not handled below neither).
NO_CHANGE_KINDS = frozenset({ev.CALLBACK_DONE, ev.UNIT_RECOMMENDED, ev.INCIDENT_LINKED,
                             ev.INCIDENT_TRANSFERRED})
UNIT_KINDS = frozenset({ev.UNIT_DISPATCHED, ev.UNIT_ACKNOWLEDGED, ev.UNIT_STATUS, ev.UNIT_CREATED})
# plain names for the hot loop (an Enum's .value is a property, slow across 10^5 events)
_NOTED, _LOCATED, _CATEGORISED = ev.INCIDENT_NOTED, ev.INCIDENT_LOCATED, ev.INCIDENT_CATEGORISED
_DISPATCHED, _ACKNOWLEDGED, _STATUS_EV, _CLOSED = (ev.UNIT_DISPATCHED, ev.UNIT_ACKNOWLEDGED,
                                                   ev.UNIT_STATUS, ev.INCIDENT_CLOSED)
_HANDED_OVER, _REOPENED, _MOVED, _CREATED = (ev.INCIDENT_HANDED_OVER, ev.INCIDENT_REOPENED,
                                             ev.INCIDENT_MOVED, ev.UNIT_CREATED)
_EN_ROUTE, _ON_SCENE, _AVAILABLE = (UnitStatus.EN_ROUTE.value, UnitStatus.ON_SCENE.value,
                                    UnitStatus.AVAILABLE.value)
_PENDING, _INC_DISPATCHED, _INC_ON_SCENE, _INC_CLOSED = (IncidentStatus.PENDING, IncidentStatus.DISPATCHED,
                                                         IncidentStatus.ON_SCENE, IncidentStatus.CLOSED)
_U_DISPATCHED, _U_ACKNOWLEDGED, _U_AVAILABLE = (UnitStatus.DISPATCHED, UnitStatus.ACKNOWLEDGED,
                                                UnitStatus.AVAILABLE)
_UNIT_STATUS = {s.value: s for s in UnitStatus}

IncidentState = dict[str, Any]  # the fields of services.queries.IncidentView
UnitState = tuple[UnitStatus, datetime | None, int | None]  # (status, status_since, incident_id)
Payload = dict[str, Any]
_COMMITTED = frozenset(s for s in UnitStatus if s.committed)


def fast_view(cls: type, values: dict[str, Any]) -> Any:
    """Build a frozen (non-slots) dataclass instance from a complete field dict."""
    obj: Any = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


@dataclass(frozen=True)
class Assignment:
    """A unit sent to an incident (services.queries.AssignmentView is this class)."""

    unit_id: int
    callsign: str
    dispatched_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    arrived_at: datetime | None
    cleared_at: datetime | None
    eta_s: float | None
    route_m: float | None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


ASSIGNMENT_FIELDS = ("unit_id", "callsign", "dispatched_at", "acknowledged_at", "en_route_at",
                     "arrived_at", "cleared_at", "eta_s", "route_m")
INCIDENT_FIELDS = ("id", "status", "received_at", "updated_at", "caller_number", "caller_name",
                   "place_text", "place_name", "place_kind", "place_admin", "qualifier", "lon", "lat",
                   "grid_id", "category", "priority", "narrative", "result_code", "close_note",
                   "closed_at", "seat", "operator", "version", "assignments")


def new_incident(incident_id: int, at: datetime, seat: str, operator: str, payload: Payload) -> IncidentState:
    """The incident a call.received event creates."""
    return {
        "id": incident_id, "status": _PENDING, "received_at": at, "updated_at": at,
        "caller_number": str(payload.get("caller_number", "")),
        "caller_name": str(payload.get("caller_name", ""))[:64],
        "place_text": "", "place_name": "", "place_kind": "", "place_admin": [], "qualifier": "",
        "lon": None, "lat": None, "grid_id": None, "category": "", "priority": "normal",
        "narrative": "", "result_code": "", "close_note": "", "closed_at": None,
        "seat": seat, "operator": operator, "version": 1, "assignments": (),
    }


IMPORTED_WIDTHS = {"category": 32, "priority": 16, "result_code": 32}  # the projection's columns


def parse_instant(text: Any) -> datetime | None:
    """An ISO 8601 instant as the payloads write them ("...Z"), or None."""
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def imported_incident(incident_id: int, at: datetime, seat: str, operator: str, payload: Payload) -> IncidentState:
    """The incident a call.imported event creates: received when the source says, closed
    from the start (it is history, never dispatchable), in the source's own words."""
    received = parse_instant(payload.get("received_at")) or at
    state = new_incident(incident_id, received, seat, operator, {})
    state.update(
        status=_INC_CLOSED, updated_at=at, closed_at=parse_instant(payload.get("closed_at")) or received,
        place_name=str(payload.get("place") or ""), lon=payload.get("lon"), lat=payload.get("lat"),
        grid_id=payload.get("grid_id"),
        category=str(payload.get("category") or "")[:IMPORTED_WIDTHS["category"]],
        priority=str(payload.get("priority") or "")[:IMPORTED_WIDTHS["priority"]],
        result_code=str(payload.get("result") or "")[:IMPORTED_WIDTHS["result_code"]],
        narrative=f"导入自 {payload.get('source', '')}，原编号 {payload.get('external_id', '')}")
    return state


def creates_incident(kind: str) -> bool:
    return kind == ev.CALL_RECEIVED or kind == ev.CALL_IMPORTED


def created_incident(kind: str, incident_id: int, at: datetime, seat: str, operator: str,
                     payload: Payload) -> IncidentState:
    """The incident state a creating event (creates_incident) makes."""
    if kind == ev.CALL_IMPORTED:
        return imported_incident(incident_id, at, seat, operator, payload)
    return new_incident(incident_id, at, seat, operator, payload)


def _with(a: Any, field: str, at: Any, _new: Any = object.__new__, _set: Any = object.__setattr__) -> Any:
    """A copy of assignment `a` with one field set (the same class, no __init__: a copy
    of its __dict__ becomes the new one's)."""
    d = a.__dict__.copy()
    d[field] = at
    obj = _new(type(a))
    _set(obj, "__dict__", d)
    return obj


def _assignment_event(state: IncidentState, kind: str, at: datetime | None, unit_id: int | None,
                      payload: Payload, _assignment: type) -> bool:
    """unit.acknowledged / unit.status: the unit's latest uncleared assignment here changes
    (the tuple is replaced, never changed in place: views may share it)."""
    if unit_id is None:
        return False
    rows = state["assignments"]
    i = len(rows) - 1
    while i >= 0:
        a = rows[i]
        if a.unit_id == unit_id and a.cleared_at is None:
            break
        i -= 1
    else:
        return False
    get = payload.get
    if get("reason") == RELEASED_ON_CLOSE:  # released by the close: no status change of its own
        b = _with(a, "cleared_at", at)
    elif kind == _ACKNOWLEDGED:
        b = _with(a, "acknowledged_at", at)
    else:
        target = get("to")
        if target == _EN_ROUTE:
            b = _with(a, "en_route_at", at)
            if not a.acknowledged_at:
                b.__dict__["acknowledged_at"] = at
        elif target == _ON_SCENE:
            b = _with(a, "arrived_at", at)
            if state["status"] is _INC_DISPATCHED:
                state["status"] = _INC_ON_SCENE
        elif target == _AVAILABLE:
            b = _with(a, "cleared_at", at)
            if state["status"] is _INC_DISPATCHED and not any(
                    r.cleared_at is None for j, r in enumerate(rows) if j != i):
                state["status"] = _PENDING  # stood down before arriving
        else:
            b = a  # another status: the assignment stays as it was (still a change: a step)
    state["assignments"] = rows[:i] + (b,) + rows[i + 1:]
    return True


def _dispatched(state: IncidentState, _kind: str, at: datetime | None, unit_id: int | None,
                payload: Payload, assignment: type) -> bool:
    get = payload.get
    a: Any = object.__new__(assignment)
    a.__dict__.update({
        "unit_id": unit_id, "callsign": get("callsign", ""), "dispatched_at": at,
        "acknowledged_at": None, "en_route_at": None, "arrived_at": None, "cleared_at": None,
        "eta_s": get("eta_s"), "route_m": get("route_m")})
    state["assignments"] += (a,)
    if state["status"] is _PENDING:
        state["status"] = _INC_DISPATCHED
    return True


def _located(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
             payload: Payload, _assignment: type) -> bool:
    get = payload.get  # (one store per key: a third cheaper than update(**...))
    state["place_text"], state["place_name"], state["place_kind"] = get("text", ""), get("name", ""), get("kind", "")
    state["place_admin"], state["qualifier"] = list(get("admin") or []), get("qualifier", "")
    state["lon"], state["lat"], state["grid_id"] = get("lon"), get("lat"), get("grid_id")
    return True


def _categorised(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
                 payload: Payload, _assignment: type) -> bool:
    get = payload.get
    state["category"], state["priority"] = get("category", ""), get("priority", "normal")
    state["narrative"] = get("narrative", state["narrative"])
    return True


def _closed(state: IncidentState, _kind: str, at: datetime | None, _unit_id: int | None,
            payload: Payload, _assignment: type) -> bool:
    get = payload.get
    state["status"], state["closed_at"] = _INC_CLOSED, at
    state["result_code"], state["close_note"] = get("result_code", ""), get("note", "")
    return True


def _noted(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
           payload: Payload, _assignment: type) -> bool:
    if "caller_number" in payload:
        state["caller_number"] = payload["caller_number"]
        state["caller_name"] = payload.get("caller_name", "")
    return True


def _handed_over(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
                 payload: Payload, _assignment: type) -> bool:  # 交接班
    get = payload.get
    state["seat"], state["operator"] = get("seat", state["seat"]), get("to", state["operator"])
    return True


def _reopened(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
              _payload: Payload, _assignment: type) -> bool:  # 值班长 reopens a closed incident
    state.update(status=_PENDING, closed_at=None, result_code="", close_note="")
    return True


def _moved(state: IncidentState, _kind: str, _at: datetime | None, _unit_id: int | None,
           payload: Payload, _assignment: type) -> bool:  # 值班长 moves an open incident to another seat
    state["seat"] = payload.get("to_seat", state["seat"])
    state["operator"] = payload.get("to_operator") or state["operator"]
    return True


# How each kind changes an incident (a kind not here changes none: NO_CHANGE_KINDS and the
# kinds of other features, call.linked, fraud.*, ...). One dict lookup per event instead
# of a chain of comparisons.
_INCIDENT_STEPS = {
    _ACKNOWLEDGED: _assignment_event, _STATUS_EV: _assignment_event, _DISPATCHED: _dispatched,
    _LOCATED: _located, _CATEGORISED: _categorised, _CLOSED: _closed, _NOTED: _noted,
    _HANDED_OVER: _handed_over, _REOPENED: _reopened, _MOVED: _moved,
}
if NO_CHANGE_KINDS & _INCIDENT_STEPS.keys():
    raise RuntimeError("a kind cannot both change an incident and be in NO_CHANGE_KINDS")


def evolve_incident(state: IncidentState, kind: str, at: datetime | None, unit_id: int | None, payload: Payload,
                    assignment: type = Assignment, _steps: dict[str, Any] = _INCIDENT_STEPS) -> bool:
    """Apply one event to an incident's state, in place. Returns True when it changed it;
    every event that changes an incident is one step of its version (the services write
    one UPDATE per such event). `assignment` is the class of the assignment objects
    created (the fold uses the screens' view class)."""
    step = _steps.get(kind)
    if step is None or not step(state, kind, at, unit_id, payload, assignment):
        return False
    state["updated_at"] = at
    state["version"] += 1
    return True


def evolve_unit(current: UnitState, kind: str, at: datetime, incident_id: int | None,
                payload: Payload) -> UnitState | None:
    """A unit's (status, status_since, incident_id) after an event, or None if unchanged."""
    if kind == _DISPATCHED:
        return _U_DISPATCHED, at, incident_id
    if kind == _ACKNOWLEDGED:
        return _U_ACKNOWLEDGED, at, current[2]
    if kind == _STATUS_EV:
        to = payload.get("to")
        if not to:
            return None
        target = _UNIT_STATUS[to]
        inc = current[2]
        if target is _U_AVAILABLE and current[0] in _COMMITTED:
            inc = None
        return target, at, inc
    if kind == _CREATED:
        return _UNIT_STATUS[payload.get("status") or _AVAILABLE], at, None
    return None


def initial_unit_status(kind: str, payload: Payload) -> UnitStatus | None:
    """The status a unit had before its first event, read from that event's `from`
    (units created before unit.created existed have no such event)."""
    if kind in (_DISPATCHED, _ACKNOWLEDGED, _STATUS_EV) and payload.get("from"):
        return _UNIT_STATUS[payload["from"]]
    return None


def unit_created_payload(callsign: str, kind: str, station: str, lon: float, lat: float,
                         status: str = _AVAILABLE, **more: Any) -> Payload:
    """The payload of unit.created: what the unit is and where its post is."""
    return {"callsign": callsign, "kind": kind, "station": station, "post_lon": lon, "post_lat": lat,
            "status": status} | more
