"""The running console's map follows road imports (ui.map.road_reload): a roads.imported
event brings the new roads onto the page without a restart, the units and the view stay;
other events change nothing; imports while one is prepared fold into one more pass; a
failure leaves the old roads. Through a real QWebEngineView (offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from datetime import datetime, timezone  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402

from dispatch.domain.errors import DispatchError  # noqa: E402
from dispatch.domain.events import ROADS_IMPORTED, Event  # noqa: E402
from dispatch.geo.basemap import cached_basemap, tile_basemap  # noqa: E402
from dispatch.geo.road_tiles import tiles_for_graph  # noqa: E402
from dispatch.geo.synthetic_roads import generate_city  # noqa: E402
from tests.ui.map_support import DEMO_OSM, READY_MS, demo_pane, js  # noqa: E402
from ui.map.road_reload import RoadReload  # noqa: E402

CENTRE = (121.4737, 31.2304)


class _Log(QObject):
    """What the console's LogFollower gives RoadReload: batches of events."""

    changed = Signal(list)


def _event(kind: str, n: int = 1) -> Event:
    return Event(n, datetime.now(timezone.utc), kind, None, None, "席位1", "管理员",
                 {"file": "city.osm.pbf"} if kind == ROADS_IMPORTED else {})


@pytest.fixture(scope="module")
def city_basemap(tmp_path_factory) -> dict:
    """A generated grid city laid over the demo's area: other roads, no names."""
    city = generate_city(2_500, seed=5, centre=CENTRE)
    return tile_basemap(tiles_for_graph(city, tmp_path_factory.mktemp("city-tiles")))


@pytest.fixture
def pane(qtbot, tmp_path):
    with demo_pane(qtbot, tmp_path) as pane:
        yield pane


def _units() -> list[dict]:
    return [{"id": i, "callsign": f"黄浦{i:02d}", "kind": "patrol_car", "status": "available",
             "lon": CENTRE[0] + 0.001 * i, "lat": CENTRE[1], "label": f"黄浦{i:02d}", "alert": False}
            for i in (1, 2)]


def test_imported_roads_replace_the_old_on_the_running_page(qtbot, pane, city_basemap):
    demo_digest = pane.road_tiles.digest
    assert js(qtbot, pane, "window.DISPATCH_BASEMAP.roadTiles.names.length") > 50  # the demo's street names
    pane.set_units(_units())
    pane.focus(CENTRE[0], CENTRE[1], 17)
    log = _Log()
    calls: list[int] = []
    reload = RoadReload(pane, log.changed, lambda: calls.append(1) or city_basemap)
    with qtbot.assertNotEmitted(reload.reloaded, wait=500):
        log.changed.emit([_event("incident.created"), _event("unit.status_changed", 2)])
    assert calls == [] and pane.road_tiles.digest == demo_digest
    with qtbot.waitSignals([reload.reloaded, pane.ready], timeout=READY_MS):
        log.changed.emit([_event("incident.created"), _event(ROADS_IMPORTED, 2)])
    assert calls == [1]
    assert pane.road_tiles.digest == city_basemap["road_tiles"].digest != demo_digest
    st = js(qtbot, pane, "dispatchMap.debugState()")
    assert js(qtbot, pane, "window.DISPATCH_BASEMAP.roadTiles.names.length") == 0  # the city's: no names
    assert st["roadTiles"]["shown"] > 0 and st["roads"] > 0  # the new roads drawn
    assert set(st["units"]) == {"1", "2"} and st["zoom"] == 17  # units and view as they were
    assert [m for m in pane.console_messages if m[0] == "error"] == []


def test_imports_while_preparing_fold_into_one_more_pass(qtbot, pane, city_basemap, tmp_path):
    log = _Log()
    made: list[dict] = []
    other = cached_basemap(DEMO_OSM, tmp_path / "other")

    def load() -> dict:
        made.append(city_basemap if not made else other)
        return made[-1]

    reload = RoadReload(pane, log.changed, load)
    shown: list = []
    reload.reloaded.connect(lambda: shown.append(pane.road_tiles.digest))
    with qtbot.waitSignal(reload.reloaded, timeout=READY_MS):
        log.changed.emit([_event(ROADS_IMPORTED, 1)])
        log.changed.emit([_event(ROADS_IMPORTED, 2)])  # the first is still being prepared
        log.changed.emit([_event(ROADS_IMPORTED, 3)])
    qtbot.wait(300)
    assert len(made) == 2  # the first pass, then one for both later imports
    assert shown == [other["road_tiles"].digest]  # only the latest is shown


def test_failed_import_keeps_the_old_roads(qtbot, pane):
    before = pane.road_tiles
    log = _Log()

    def broken() -> dict:
        raise DispatchError("找不到 OSM 文件: /nowhere/city.osm.pbf")

    reload = RoadReload(pane, log.changed, broken)
    with qtbot.waitSignal(reload.failed, timeout=READY_MS) as sig:
        log.changed.emit([_event(ROADS_IMPORTED)])
    assert "找不到 OSM 文件" in sig.args[0] and "原路网" in sig.args[0]
    assert pane.road_tiles is before and pane.is_ready
