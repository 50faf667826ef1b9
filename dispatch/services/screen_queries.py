"""What the screens must re-read after a batch of events, and the reads themselves:
only the incidents and units the events name, in the shapes services.queries gives for
all of them (IncidentView with its assignments, UnitSnapshot). Reads only.

A batch is either attributable — every event names its incident or unit (a dispatch or a
status names both), or is of a kind that changes neither the queue nor the unit board —
or it asks for a full reload: a unit.created (the roster changed), an event that names
neither and is not known to be harmless, or a batch too large to be worth doing by ids.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.domain.units import UnitSnapshot
from dispatch.services.queries import IncidentView, _assignments, _incident_view, unit_snapshot
from dispatch.store.schema import IncidentRow, UnitRow

# Kinds that name neither an incident nor a unit and change neither the queue nor the board.
NO_SCREEN_KINDS = frozenset({ev.ACCOUNT_ADDED, ev.PLACE_PROPOSED, ev.PLACE_CONFIRMED, ev.NUMBER_MARKED,
                             ev.GRIDS_IMPORTED, ev.STATIONS_IMPORTED, ev.ROADS_IMPORTED})
# Kinds that always ask for a full reload.
FULL_RELOAD_KINDS = frozenset({ev.UNIT_CREATED})
# More ids than this in one batch: one full read is cheaper than reads by ids.
MAX_IDS = 400


@dataclass(frozen=True)
class ScreenChanges:
    """The ids a batch of events touched; `full` names why a full reload is needed ('' if not)."""

    incident_ids: frozenset[int] = frozenset()
    unit_ids: frozenset[int] = frozenset()
    full: str = ""

    @property
    def empty(self) -> bool:
        return not self.full and not self.incident_ids and not self.unit_ids


def changes_of(events: Iterable[Event]) -> ScreenChanges:
    """Which incidents and units a batch of events changed, or why it needs a full reload."""
    incidents: set[int] = set()
    units: set[int] = set()
    for e in events:
        if e.kind in FULL_RELOAD_KINDS:
            return ScreenChanges(full=e.kind)
        if e.incident_id is None and e.unit_id is None:
            if e.kind in NO_SCREEN_KINDS:
                continue
            return ScreenChanges(full=f"unattributed:{e.kind}")
        if e.incident_id is not None:
            incidents.add(e.incident_id)
        if e.unit_id is not None:
            units.add(e.unit_id)
    if len(incidents) + len(units) > MAX_IDS:
        return ScreenChanges(full="batch")
    return ScreenChanges(frozenset(incidents), frozenset(units))


def incidents_by_ids(s: Session, ids: Iterable[int]) -> list[IncidentView]:
    """These incidents (any status; missing ids are left out) with their assignments,
    oldest first, as queries.open_incidents gives them."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = list(s.scalars(select(IncidentRow).where(IncidentRow.id.in_(wanted)).order_by(IncidentRow.received_at)))
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]


def unit_snapshots_by_ids(s: Session, ids: Iterable[int]) -> list[UnitSnapshot]:
    """These units (missing ids are left out), by id, as queries.unit_snapshots gives them."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return [unit_snapshot(r) for r in s.scalars(select(UnitRow).where(UnitRow.id.in_(wanted)).order_by(UnitRow.id))]


@dataclass(frozen=True)
class ScreenDelta:
    """What to apply: open incidents to show (upsert), incidents to take off the queue
    (closed, transferred, merged, or gone), and the units' new snapshots."""

    incidents: tuple[IncidentView, ...]
    removed: frozenset[int]
    units: tuple[UnitSnapshot, ...]


def read_delta(s: Session, changes: ScreenChanges, unit_incidents: dict[int, int | None] | None = None,
               ) -> ScreenDelta:
    """Read what `changes` names. A changed unit's incident is read too, the one it had
    (`unit_incidents`, unit id -> incident id as the screen shows it) and the one it has:
    its assignment there changed with it."""
    units = unit_snapshots_by_ids(s, changes.unit_ids)
    ids = set(changes.incident_ids)
    ids.update(u.incident_id for u in units if u.incident_id is not None)
    if unit_incidents:
        ids.update(i for uid in changes.unit_ids if (i := unit_incidents.get(uid)) is not None)
    views = incidents_by_ids(s, ids)
    shown = tuple(v for v in views if v.status.open)
    return ScreenDelta(shown, frozenset(ids - {v.id for v in shown}), tuple(units))


def sort_key(v: IncidentView) -> tuple[bool, datetime, int]:
    """The queue's order: urgent first, then oldest first."""
    return (v.priority != "urgent", v.received_at, v.id)


def merge_incidents(current: Sequence[IncidentView], upserts: Iterable[IncidentView],
                    removed: Iterable[int]) -> list[IncidentView]:
    """`current` (oldest first, as open_incidents) with `upserts` replacing or joining and
    `removed` left out, still oldest first."""
    new = {v.id: v for v in upserts}
    gone = set(removed)
    out = [new.pop(v.id, v) for v in current if v.id not in gone]
    if new:
        out.extend(new.values())
        out.sort(key=lambda v: v.received_at)
    return out
