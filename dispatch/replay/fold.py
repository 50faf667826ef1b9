"""The fold: the log's events evolved into states with the domain's functions
(dispatch.domain.evolve), the same ones the services apply to their projections, so
that the state folded from the log equals what the live screens showed at the same
instant (tests/integration/test_fold_equals_projections.py checks it after every step
of random command sequences).

The fold's assignments are the screens' AssignmentView. The index keeps the IncidentView
after every incident event, and there are hundreds of thousands in a long shift: each is
made by `incident_view` (a dict copy set as the view's __dict__, no per-field
__setattr__), at load, so that showing an instant never builds incident objects.

Checkpoints (replay.checkpoints) keep folded states on disk: whenever an event folds
differently, bump checkpoints.FORMAT so that no checkpoint of the old fold is used.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatch.domain.evolve import (INCIDENT_FIELDS, RELEASED_ON_CLOSE, evolve_incident, evolve_unit,
                                    fast_view, initial_unit_status, new_incident)
from dispatch.services.queries import AssignmentView, IncidentView

__all__ = ["RELEASED_ON_CLOSE", "AssignmentView", "apply_incident", "apply_unit", "fast_view",
           "incident_view", "initial_unit_status", "new_incident", "shared_state"]

# An IncidentView's own __dict__: on CPython its keys are shared by every instance (a
# "split" dict), so a copy of it holds only the values.
_BLANK: dict[str, Any] = dict.fromkeys(INCIDENT_FIELDS)
_SHARED = IncidentView(**_BLANK).__dict__


def shared_state(state: dict) -> dict:
    """The fold state as a dict sharing its keys with the IncidentViews' (see _SHARED):
    evolve only ever sets existing keys, so it stays so, and each view copied from it
    (incident_view) costs a third of the memory of a copy of a plain dict."""
    out = _SHARED.copy()
    out.update(state)
    return out

apply_unit = evolve_unit


def apply_incident(state: dict, kind: str, at: datetime, unit_id: int | None, payload: dict,
                   _same_transaction: bool = False) -> bool:
    """Evolve an incident's fold state by one event (assignments as AssignmentView).
    The index's hot loop calls evolve_incident itself. (The last argument is ignored:
    every event that changes an incident is one version step now.)"""
    return evolve_incident(state, kind, at, unit_id, payload, AssignmentView)


def incident_view(state: dict, _new=object.__new__, _cls=IncidentView,  # noqa: ANN001
                  _set=object.__setattr__) -> IncidentView:
    """An IncidentView of the fold state as it is now: a copy of the state dict becomes the
    view's own __dict__ (the state's values are never mutated in place: a change replaces
    them, so views may share them). A third of the cost of filling a fresh __dict__."""
    obj = _new(_cls)
    _set(obj, "__dict__", state.copy())
    return obj
