"""The map pane as the map tests open it: the demo's roads from the tile cache, shown at
900×700 and ready; and a script's JSON value read off the page."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent

from dispatch.geo.basemap import cached_basemap
from ui.map.map_pane import MapPane

DEMO_OSM = Path(__file__).resolve().parents[2] / "resources" / "demo" / "shanghai-huangpu.osm"
READY_MS = 20000


@contextlib.contextmanager
def demo_pane(qtbot, cache_dir: Path) -> Iterator[MapPane]:  # noqa: ANN001 (pytest-qt's qtbot)
    pane = MapPane(cached_basemap(DEMO_OSM, cache_dir), cache_dir)
    pane.resize(900, 700)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    try:
        yield pane
    finally:
        pane.close()
        pane.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def js(qtbot, pane: MapPane, script: str):  # noqa: ANN001, ANN201
    """Evaluate a script on the page and wait for its (JSON-decoded) value."""
    box: list = []
    pane.evaluate(f"JSON.stringify({script})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])
