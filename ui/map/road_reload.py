"""The map follows imports: a `roads.imported` event (import-city, at this seat or
another) makes the running console draw the new roads without a restart; a
`grids.imported` or `stations.imported` its new grids or stations (the same basemap).

The new basemap is made on a worker thread (the road file's tiles are cut the first time:
seconds for a whole city, then cached by the file's digest) with the page written for
it; only then does the GUI thread swap the pane's roads and reload its page, which puts
the units, incidents, routes and view back. Imports arriving while one is being prepared
are folded into one more pass afterwards (the latest file wins).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

from dispatch.domain.events import GRIDS_IMPORTED, ROADS_IMPORTED, STATIONS_IMPORTED, Event
from dispatch.geo.road_tiles import TileSet
from ui.map.map_pane import MapPane
from ui.workers import run_in_background

log = logging.getLogger(__name__)
_BASEMAP_KINDS = frozenset({ROADS_IMPORTED, GRIDS_IMPORTED, STATIONS_IMPORTED})


class RoadReload(QObject):
    """Connects a follower's ``changed(list[Event])`` to the pane. ``load_basemap`` builds
    the console's basemap (roads of the database's road file, grids, stations); it runs on
    a worker thread. ``reloaded`` fires once the pane has the new roads (and the page is
    loading); ``failed(text)`` when the new roads could not be made (the old stay)."""

    reloaded = Signal()
    failed = Signal(str)

    def __init__(self, pane: MapPane, changed: SignalInstance, load_basemap: Callable[[], dict[str, Any]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent or pane)
        self._pane = pane
        self._load = load_basemap
        self._busy = False
        self._again = False
        changed.connect(self.on_events)

    def on_events(self, events: list[Event]) -> None:
        if any(e.kind in _BASEMAP_KINDS for e in events):
            self.reload()

    def reload(self) -> None:
        """Prepare the roads again in the background, then show them."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        pane, load = self._pane, self._load
        run_in_background(lambda: pane.prepare_roads(load()), self._done, self._failed)

    def _done(self, prepared: tuple[TileSet, Path]) -> None:
        self._busy = False
        if self._again:  # another import meanwhile: its roads, not these
            self._again = False
            self.reload()
            return
        self._pane.use_roads(prepared)
        self.reloaded.emit()

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        log.error("the imported roads could not be drawn: %s", exc)
        self.failed.emit(f"新路网未能显示在地图上（仍显示原路网）：{exc}")
        if self._again:
            self._again = False
            self.reload()
