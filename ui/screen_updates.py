"""The window follows the log by what each batch of events changed, not by reloading
everything: the incidents and units the events name are read again (by id), and only
their rows in the queue and on the board, and only their markers on the map, change.
This seat's own actions come back the same way (one path for updates).

A full reload (MainWindow.reload) remains for the start, for the first batch after the
log could not be read (the follower caught up after a failure: nothing was lost, but
the screens are re-read whole once), and for batches that cannot be attributed
(dispatch.services.screen_queries.changes_of): they are counted in `full_reloads`.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.events import Event
from dispatch.services import queries
from dispatch.services.screen_queries import ScreenChanges, changes_of, merge_incidents, read_delta
from ui.map_feed import incident_markers

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def replace_units(w: MainWindow, units: Sequence) -> None:  # noqa: ANN001
    """The window's list of units (by id, as the board) with these snapshots in place:
    each at its board row, without rebuilding the list (a storm of fixes replaces
    hundreds of units every turn)."""
    board = w.board.model
    fresh = []
    for u in units:
        row = board.row_of(u.id)
        if 0 <= row < len(w._units) and w._units[row].id == u.id:
            w._units[row] = u
        else:
            fresh.append(u)
    if fresh:  # a unit the window did not have yet, or a list out of step with the board
        by_id = {u.id: u for u in fresh}
        w._units = sorted([by_id.pop(u.id, u) for u in w._units] + list(by_id.values()), key=lambda u: u.id)


class ScreenUpdates(QObject):
    """Applies the follower's batches to the window. `applied(incident_ids, unit_ids,
    monotonic_time)` is emitted once the models and the map have been given a batch
    (a full reload: both lists empty)."""

    applied = Signal(list, list, float)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.full_reloads: Counter[str] = Counter()  # why: 'start', 'resync', 'unit.created', ...
        self.incremental = 0  # batches applied by ids
        self._resync = False
        window.follower.changed.connect(self.on_events)
        window.follower.failed.connect(self._on_failed)

    def _on_failed(self, _text: str) -> None:
        self._resync = True  # the next batch that is read re-reads everything once

    def full(self, why: str) -> None:
        self.full_reloads[why] += 1
        self.reload_all()
        self.applied.emit([], [], time.monotonic())

    def reload_all(self) -> None:
        """Every open incident and every unit read again; the queue, the board and the map reset."""
        w = self.w
        with w.app.session() as s:
            w._incidents = queries.open_incidents(s)
            units = queries.unit_snapshots(s)
        now = w.app.clock.now()
        w.queue.set_incidents(w._incidents, now)
        w.board.set_units(units, w._incidents, now)
        w._units = units
        w.live.seed(units)
        w.map.set_units(w.live.markers(units))
        w.map.set_incidents(incident_markers(w._incidents))
        w.intake.refresh()
        w.intake.units_changed(units)
        if w._map_incident is not None and w._map_incident != w.intake.incident_id:
            w._clear_map_incident()  # closed here or by another seat: its routes go too
        w.live.settle()  # what was just read is long-lived: out of the GC's full passes

    def on_events(self, events: list[Event]) -> None:
        self._forget_reference(events)
        if self._resync:
            self._resync = False
            self.full("resync")
            return
        changes = changes_of(events)
        if changes.full:
            self.full(changes.full)
        elif not changes.empty:
            self.apply(changes)

    def _forget_reference(self, events: list[Event]) -> None:
        """A city or grid import at any seat: this console's road graph, geocoders and grid
        index are rebuilt from the new data at their next use (F5, F3), not at a restart."""
        kinds = {e.kind for e in events}
        if ev.ROADS_IMPORTED in kinds:
            self.w.app.forget_roads()
        if ev.GRIDS_IMPORTED in kinds:
            self.w.app.forget_grids()

    def apply(self, changes: ScreenChanges) -> None:
        """Read the named incidents and units and change only their rows and markers."""
        w = self.w
        board = w.board.model
        had = {uid: u.incident_id for uid in changes.unit_ids if (u := board.unit(uid)) is not None}
        try:
            with w.app.session() as s:
                delta = read_delta(s, changes, had)
        except DispatchError as exc:
            w._on_message(str(exc))
            self._resync = True
            return
        now = w.app.clock.now()
        w._incidents = merge_incidents(w._incidents, delta.incidents, delta.removed)
        w.queue.apply(list(delta.incidents), delta.removed, now)
        alerted = w.board.apply(delta.units, w._incidents, now)
        if delta.units:
            replace_units(w, delta.units)
            w.live.seed(delta.units)
            w.intake.units_changed(list(delta.units))
        redraw = [u for uid in sorted({u.id for u in delta.units} | alerted) if (u := board.unit(uid)) is not None]
        if redraw:
            markers = w.live.markers(redraw)  # none for a unit off duty: its marker goes
            w.map.upsert_units(markers)
            w.map.remove_units(sorted({u.id for u in redraw} - {m["id"] for m in markers}))
        w.map.upsert_incidents(incident_markers(list(delta.incidents)))
        w.map.remove_incidents(sorted(delta.removed))
        touched = {v.id for v in delta.incidents} | delta.removed
        if w.intake.incident_id in touched:
            w.intake.refresh()
        if w._map_incident is not None and w._map_incident != w.intake.incident_id:
            w._clear_map_incident()  # closed here or by another seat: its routes go too
        self.incremental += 1
        self.applied.emit(sorted(touched), sorted(u.id for u in delta.units), time.monotonic())

    def tick(self) -> None:
        """Each second: the ages in the queue and on the board; the markers of the units
        whose alert or 不在岗 changed as time passed are redrawn (only those)."""
        w = self.w
        model = w.board.model
        now = w.app.clock.now()
        before = dict(model.alerts)
        windowed = [u for u in w._units if u.duty]  # only these change 不在岗 as time passes
        shown = [model.shown_status(u) for u in windowed]
        w.queue.tick(now)
        w.board.tick(now)
        after = model.alerts
        redraw = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        redraw.update(u.id for u, was in zip(windowed, shown) if model.shown_status(u) != was)
        if redraw:
            w.map.upsert_units(w.live.markers([u for u in w._units if u.id in redraw]))
