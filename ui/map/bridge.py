"""The one QWebChannel object between the map page and Python.

The page calls a single slot with a JSON string (as Anki does); the message's
``type`` picks the Qt signal it becomes. Nothing else is exposed to the page.
"""
from __future__ import annotations

import json
import logging

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)


class MapBridge(QObject):
    """Receives the page's messages and re-emits them as typed signals."""

    ready = Signal(int, int)                # the page's width, height when its roads were drawn
    map_clicked = Signal(float, float)      # lon, lat
    candidate_clicked = Signal(int)         # candidate index
    incident_clicked = Signal(int)          # incident id
    unit_clicked = Signal(int)              # unit id
    road_tiles_requested = Signal(list)     # ["z/x/y", ...]: the page wants these road tiles

    @Slot(str)
    def send(self, payload: str) -> None:
        """Entry point for the page: ``bridge.send(JSON.stringify({type, ...}))``."""
        try:
            msg = json.loads(payload)
            kind = msg.get("type")
            if kind == "ready":
                self.ready.emit(int(msg.get("width", 0)), int(msg.get("height", 0)))
            elif kind == "map_click":
                self.map_clicked.emit(float(msg["lon"]), float(msg["lat"]))
            elif kind == "candidate_click":
                self.candidate_clicked.emit(int(msg["index"]))
            elif kind == "incident_click":
                self.incident_clicked.emit(int(msg["id"]))
            elif kind == "unit_click":
                self.unit_clicked.emit(int(msg["id"]))
            elif kind == "road_tiles":
                self.road_tiles_requested.emit([str(k) for k in msg["keys"]])
            else:
                log.warning("map page sent an unknown message: %r", payload)
        except (ValueError, KeyError, TypeError, AttributeError):
            # A malformed message from the page must never take the console down.
            log.warning("map page sent a malformed message: %r", payload)
