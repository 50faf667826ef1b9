"""The fold: how each event changes an incident or a unit, written to match what the
services write into the projections (dispatch.services.calls / .units), so that the
state folded from the log equals what the live screens showed at the same instant.

Views are built with `fast_view` (no per-field __setattr__): the index builds one
IncidentView per incident event, and there are hundreds of thousands in a long shift.

Checkpoints (replay.checkpoints) keep folded states on disk: whenever an event folds
differently, bump checkpoints.FORMAT so that no checkpoint of the old fold is used.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatch.domain import events as ev
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.units import UnitStatus
from dispatch.services.queries import AssignmentView, IncidentView

RELEASED_ON_CLOSE = "结警释放"  # reason written by calls.close on the units it releases
NO_CHANGE_KINDS = frozenset({ev.CALLBACK_DONE, ev.UNIT_RECOMMENDED, ev.INCIDENT_LINKED})
# plain names for the hot loop (an Enum's .value is a property, slow across 10^5 events)
_NOTED, _LOCATED, _CATEGORISED = ev.INCIDENT_NOTED, ev.INCIDENT_LOCATED, ev.INCIDENT_CATEGORISED
_DISPATCHED, _ACKNOWLEDGED, _STATUS_EV, _CLOSED = (ev.UNIT_DISPATCHED, ev.UNIT_ACKNOWLEDGED,
                                                   ev.UNIT_STATUS, ev.INCIDENT_CLOSED)
_EN_ROUTE, _ON_SCENE, _AVAILABLE = (UnitStatus.EN_ROUTE.value, UnitStatus.ON_SCENE.value,
                                    UnitStatus.AVAILABLE.value)
_PENDING, _INC_DISPATCHED, _INC_ON_SCENE, _INC_CLOSED = (IncidentStatus.PENDING, IncidentStatus.DISPATCHED,
                                                         IncidentStatus.ON_SCENE, IncidentStatus.CLOSED)


def fast_view(cls: type, values: dict[str, Any]) -> Any:
    """Build a frozen (non-slots) dataclass instance from a complete field dict."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


def new_incident(incident_id: int, at: datetime, seat: str, operator: str, payload: dict) -> dict:
    """The projection row as calls.open_call creates it."""
    return {
        "id": incident_id, "status": IncidentStatus.PENDING, "received_at": at, "updated_at": at,
        "caller_number": str(payload.get("caller_number", "")),
        "caller_name": str(payload.get("caller_name", ""))[:64],
        "place_text": "", "place_name": "", "place_kind": "", "place_admin": [], "qualifier": "",
        "lon": None, "lat": None, "grid_id": None, "category": "", "priority": "normal",
        "narrative": "", "result_code": "", "close_note": "", "closed_at": None,
        "seat": seat, "operator": operator, "version": 1, "assignments": (),
    }


def _assignment(unit_id: int, callsign: str, at: datetime, eta: Any, meters: Any) -> AssignmentView:
    return fast_view(AssignmentView, {
        "unit_id": unit_id, "callsign": callsign, "dispatched_at": at, "acknowledged_at": None,
        "en_route_at": None, "arrived_at": None, "cleared_at": None, "eta_s": eta, "route_m": meters})


def _changed(a: AssignmentView, **kw: Any) -> AssignmentView:
    return fast_view(AssignmentView, {**a.__dict__, **kw})


def _open_assignment_index(state: dict, unit_id: int) -> int | None:
    """The unit's latest uncleared assignment on this incident (units._current_assignment)."""
    rows = state["assignments"]
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].unit_id == unit_id and rows[i].cleared_at is None:
            return i
    return None


def apply_incident(state: dict, kind: str, at: datetime, unit_id: int | None, payload: dict,
                   same_transaction: bool) -> bool:
    """Apply one event to an incident's state. Returns True when the event changed it.
    `same_transaction` marks the 2nd.. event of one dispatch (one version step)."""
    if kind in NO_CHANGE_KINDS:
        return False
    get = payload.get
    if kind == _ACKNOWLEDGED or kind == _STATUS_EV:
        i = _open_assignment_index(state, unit_id) if unit_id is not None else None
        if i is None:
            return False
        rows = list(state["assignments"])
        a = rows[i]
        target = get("to")
        if get("reason") == RELEASED_ON_CLOSE:
            rows[i] = _changed(a, cleared_at=at)
            state["assignments"] = tuple(rows)
            state["updated_at"] = at
            return True  # part of the close transaction: no version step of its own
        if kind == _ACKNOWLEDGED:
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
                state["status"] = _PENDING
        state["assignments"] = tuple(rows)
    elif kind == _DISPATCHED:
        state["assignments"] += (_assignment(unit_id, get("callsign", ""), at, get("eta_s"), get("route_m")),)
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
    elif kind == ev.INCIDENT_HANDED_OVER:  # 交接班 (services.accounts.take_over)
        state["seat"], state["operator"] = get("seat", state["seat"]), get("to", state["operator"])
    else:
        return False
    state["updated_at"] = at
    if not same_transaction:
        state["version"] += 1
    return True


def incident_view(state: dict) -> IncidentView:
    """An IncidentView of the current fold state (the state's values are never mutated
    in place: a change replaces them, so views may share them)."""
    obj = object.__new__(IncidentView)
    obj.__dict__.update(state)
    return obj


def apply_unit(current: tuple[UnitStatus, datetime | None, int | None], kind: str, at: datetime,
               incident_id: int | None, payload: dict) -> tuple[UnitStatus, datetime | None, int | None] | None:
    """A unit's (status, status_since, incident_id) after an event, or None if unchanged."""
    status, _since, inc = current
    if kind == ev.UNIT_DISPATCHED:
        return UnitStatus.DISPATCHED, at, incident_id
    if kind == ev.UNIT_ACKNOWLEDGED:
        return UnitStatus.ACKNOWLEDGED, at, inc
    if kind == ev.UNIT_STATUS and payload.get("to"):
        target = _STATUS[payload["to"]]
        if target is UnitStatus.AVAILABLE and status.committed:
            inc = None
        return target, at, inc
    return None


_STATUS = {s.value: s for s in UnitStatus}


def initial_unit_status(kind: str, payload: dict) -> UnitStatus | None:
    """The status a unit had before its first event, read from that event's `from`."""
    if kind in (ev.UNIT_DISPATCHED, ev.UNIT_ACKNOWLEDGED, ev.UNIT_STATUS) and payload.get("from"):
        return UnitStatus(payload["from"])
    return None
