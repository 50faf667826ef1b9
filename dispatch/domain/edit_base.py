"""An edit made on what a seat saw: the intake sends, with each save, the values it showed
for the fields it saves. A field that another action changed since (another seat, or
this one in another window) refuses the save instead of silently undoing that change
(two seats on one incident: one raised it to 火灾 紧急, the other's stale form must not
put it back to 盗窃 非紧急). Fields the seat did not touch are not compared."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import IncidentState

# field -> (its name on screen, the events that change it)
EDITABLE = {
    "caller_number": ("来电号码", (ev.CALL_RECEIVED, ev.INCIDENT_NOTED)),
    "caller_name": ("报警人姓名", (ev.CALL_RECEIVED, ev.INCIDENT_NOTED)),
    "category": ("类别", (ev.INCIDENT_CATEGORISED,)),
    "priority": ("优先级", (ev.INCIDENT_CATEGORISED,)),
    "narrative": ("简要警情", (ev.INCIDENT_CATEGORISED,)),
    "place": ("地点", (ev.INCIDENT_LOCATED,)),
}


def current(inc: IncidentState, field: str) -> Any:
    """The incident's value of an editable field ('place' is its point, or None)."""
    if field == "place":
        return None if inc["lon"] is None or inc["lat"] is None else (inc["lon"], inc["lat"])
    return inc[field]


def moved_fields(inc: IncidentState, based_on: Mapping[str, Any]) -> list[str]:
    """The fields of `based_on` whose value is no longer the one the seat saw, in the
    order of EDITABLE. An unknown field is refused (a caller's mistake, not a conflict)."""
    unknown = set(based_on) - EDITABLE.keys()
    if unknown:
        raise DispatchError(f"未知的警情字段: {'、'.join(sorted(unknown))}")
    moved = []
    for field in EDITABLE:
        if field not in based_on:
            continue
        seen = based_on[field]
        if field == "place" and seen is not None:
            seen = (float(seen[0]), float(seen[1]))
        if current(inc, field) != seen:
            moved.append(field)
    return moved


def kinds_of(fields: list[str]) -> tuple[str, ...]:
    """The event kinds that change any of `fields`."""
    return tuple(sorted({k for f in fields for k in EDITABLE[f][1]}))


def labels(fields: list[str]) -> str:
    return "、".join(EDITABLE[f][0] for f in fields)
