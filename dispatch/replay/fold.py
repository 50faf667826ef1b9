"""The fold: the log's events evolved into states with the domain's functions
(dispatch.domain.evolve), the same ones the services apply to their projections, so
that the state folded from the log equals what the live screens showed at the same
instant (tests/integration/test_fold_equals_projections.py checks it after every step
of random command sequences).

The fold's assignments are the screens' AssignmentView and its incident states become
IncidentViews, built with `fast_view` (no per-field __setattr__): the index builds one
state per incident event, and there are hundreds of thousands in a long shift.

Checkpoints (replay.checkpoints) keep folded states on disk: whenever an event folds
differently, bump checkpoints.FORMAT so that no checkpoint of the old fold is used.
"""
from __future__ import annotations

from datetime import datetime

from dispatch.domain.evolve import (RELEASED_ON_CLOSE, evolve_incident, evolve_unit, fast_view,
                                    initial_unit_status, new_incident)
from dispatch.services.queries import AssignmentView, IncidentView

__all__ = ["RELEASED_ON_CLOSE", "AssignmentView", "apply_incident", "apply_unit", "fast_view",
           "incident_view", "initial_unit_status", "new_incident"]

apply_unit = evolve_unit


def apply_incident(state: dict, kind: str, at: datetime, unit_id: int | None, payload: dict,
                   _same_transaction: bool = False) -> bool:
    """Evolve an incident's fold state by one event (assignments as AssignmentView).
    The index's hot loop calls evolve_incident itself. (The last argument is ignored:
    every event that changes an incident is one version step now.)"""
    return evolve_incident(state, kind, at, unit_id, payload, AssignmentView)


def incident_view(state: dict) -> IncidentView:
    """An IncidentView of the current fold state (the state's values are never mutated
    in place: a change replaces them, so views may share them)."""
    obj = object.__new__(IncidentView)
    obj.__dict__.update(state)
    return obj
