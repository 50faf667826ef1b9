"""Evolve: how each event changes an incident (with its assignments) and a unit, written
once. The services apply it to their projection rows (services.projection_rows), the
replay fold to its states (replay.fold), the bench's bulk recorder to its memory
(feeds.bulk): all three hold the same state after the same events.

The incident state is a plain dict (the fields of services.queries.IncidentView, with
`status` an IncidentStatus and `assignments` a tuple of assignment objects); a unit's
state is the tuple (status: UnitStatus, status_since, incident_id). No clock, no
database. The hot path of replay folds 10^5 events: plain names, no Enum `.value` in the
loop, objects built with `fast_view`, the state dict changed in place.
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


def _open_assignment_index(rows: tuple[Any, ...], unit_id: int) -> int | None:
    """The unit's latest uncleared assignment on this incident."""
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].unit_id == unit_id and rows[i].cleared_at is None:
            return i
    return None


def _changed(a: Any, **kw: Any) -> Any:
    return fast_view(type(a), {**a.__dict__, **kw})


def evolve_incident(state: IncidentState, kind: str, at: datetime | None, unit_id: int | None, payload: Payload,
                    assignment: type = Assignment) -> bool:
    """Apply one event to an incident's state, in place. Returns True when it changed it;
    every event that changes an incident is one step of its version (the services write
    one UPDATE per such event). `assignment` is the class of the assignment objects
    created (the fold uses the screens' view class)."""
    if kind in NO_CHANGE_KINDS:
        return False
    get = payload.get
    if kind == _ACKNOWLEDGED or kind == _STATUS_EV:
        rows = state["assignments"]
        i = _open_assignment_index(rows, unit_id) if unit_id is not None else None
        if i is None:
            return False
        rows = list(rows)
        a = rows[i]
        target = get("to")
        if get("reason") == RELEASED_ON_CLOSE:  # released by the close: no status change of its own
            rows[i] = _changed(a, cleared_at=at)
        elif kind == _ACKNOWLEDGED:
            rows[i] = _changed(a, acknowledged_at=at)
        elif target == _EN_ROUTE:
            rows[i] = _changed(a, en_route_at=at, acknowledged_at=a.acknowledged_at or at)
        elif target == _ON_SCENE:
            rows[i] = _changed(a, arrived_at=at)
            if state["status"] is _INC_DISPATCHED:
                state["status"] = _INC_ON_SCENE
        elif target == _AVAILABLE:
            rows[i] = _changed(a, cleared_at=at)
            others = any(r.cleared_at is None for j, r in enumerate(rows) if j != i)
            if not others and state["status"] is _INC_DISPATCHED:
                state["status"] = _PENDING  # stood down before arriving
        state["assignments"] = tuple(rows)
    elif kind == _DISPATCHED:
        state["assignments"] += (fast_view(assignment, {
            "unit_id": unit_id, "callsign": get("callsign", ""), "dispatched_at": at,
            "acknowledged_at": None, "en_route_at": None, "arrived_at": None, "cleared_at": None,
            "eta_s": get("eta_s"), "route_m": get("route_m")}),)
        if state["status"] is _PENDING:
            state["status"] = _INC_DISPATCHED
    elif kind == _LOCATED:
        state.update(place_text=get("text", ""), place_name=get("name", ""), place_kind=get("kind", ""),
                     place_admin=list(get("admin") or []), qualifier=get("qualifier", ""),
                     lon=get("lon"), lat=get("lat"), grid_id=get("grid_id"))
    elif kind == _CATEGORISED:
        state.update(category=get("category", ""), priority=get("priority", "normal"),
                     narrative=get("narrative", state["narrative"]))
    elif kind == _CLOSED:
        state.update(status=_INC_CLOSED, result_code=get("result_code", ""), close_note=get("note", ""),
                     closed_at=at)
    elif kind == _NOTED:
        if "caller_number" in payload:
            state["caller_number"] = payload["caller_number"]
            state["caller_name"] = get("caller_name", "")
    elif kind == _HANDED_OVER:  # 交接班
        state["seat"], state["operator"] = get("seat", state["seat"]), get("to", state["operator"])
    elif kind == _REOPENED:  # 值班长 reopens a closed incident
        state.update(status=_PENDING, closed_at=None, result_code="", close_note="")
    elif kind == _MOVED:  # 值班长 moves an open incident to another seat
        state["seat"] = get("to_seat", state["seat"])
        state["operator"] = get("to_operator") or state["operator"]
    else:
        return False  # kinds of other features (call.linked, fraud.*, ...): no state here
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
