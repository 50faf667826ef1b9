"""The map's page starts loading before the database is read (issue 13, item 4): a pane
made without its basemap opens the page the last start wrote, keeps it when the basemap
writes the same files and loads it again when they changed; it reports ready only once
shown with its roads drawn; the start's event loop turns while the preload imports."""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from dispatch.geo.basemap import cached_basemap
from tests.ui.map_support import DEMO_OSM, READY_MS, js
from ui.app import open_map_early, wait_turning_events
from ui.map.map_pane import MapPane
from ui.map.page import PAGE_NAME


@pytest.fixture
def panes(qtbot):
    made: list[MapPane] = []
    yield made
    for pane in made:
        pane.close()
        pane.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _last_start(qtbot, cache_dir, panes) -> None:  # noqa: ANN001
    """A start that wrote the page (as the previous start of the console did)."""
    pane = MapPane(cached_basemap(DEMO_OSM, cache_dir), cache_dir)
    panes.append(pane)
    pane.resize(600, 500)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    pane.close()


def _page_now(qtbot, pane: MapPane, script: str):  # noqa: ANN001, ANN202
    """A script's JSON value now (pane.evaluate would wait for ready)."""
    import json

    box: list = []
    pane.view.page().runJavaScript(f"JSON.stringify({script})", 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def _page_loads(pane: MapPane) -> int:
    return sum(url.endswith(PAGE_NAME) for url in pane.requested_urls)


def test_the_page_of_the_last_start_loads_at_once_and_is_kept(qtbot, tmp_path, panes):
    _last_start(qtbot, tmp_path, panes)
    pane = MapPane(None, tmp_path)
    panes.append(pane)
    qtbot.waitUntil(lambda: _page_loads(pane) == 1, timeout=READY_MS)  # before any basemap
    pane.use_basemap(cached_basemap(DEMO_OSM, tmp_path))
    pane.resize(900, 700)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    assert _page_loads(pane) == 1  # the same files: not loaded again
    stats = js(qtbot, pane, "window.dispatchMap.debugState()")
    assert stats["roads"] > 0 and stats["zoom"] >= 12
    assert js(qtbot, pane, "[innerWidth, innerHeight]") == [900, 700]  # drawn at the pane's size


def test_a_changed_basemap_loads_the_page_again(qtbot, tmp_path, panes):
    _last_start(qtbot, tmp_path, panes)
    pane = MapPane(None, tmp_path)
    panes.append(pane)
    qtbot.waitUntil(lambda: _page_loads(pane) == 1, timeout=READY_MS)
    basemap = cached_basemap(DEMO_OSM, tmp_path)
    basemap["stations"] = [{"name": "新设派出所", "kind": "派出所", "lon": 121.4795, "lat": 31.2375}]
    pane.use_basemap(basemap)
    pane.resize(900, 700)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    assert _page_loads(pane) == 2
    assert "新设派出所" in (tmp_path / "map" / "dispatch_basemap.js").read_text(encoding="utf-8")
    assert js(qtbot, pane, "window.DISPATCH_BASEMAP.stations[0].name") == "新设派出所"


def test_a_first_start_has_no_page_until_its_basemap(qtbot, tmp_path, panes):
    pane = MapPane(None, tmp_path)
    panes.append(pane)
    qtbot.wait(300)
    assert _page_loads(pane) == 0
    pane.use_basemap(cached_basemap(DEMO_OSM, tmp_path))
    pane.resize(900, 700)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    assert js(qtbot, pane, "window.dispatchMap.debugState()")["roads"] > 0


def test_a_hidden_page_is_not_ready_until_shown(qtbot, tmp_path, panes):
    _last_start(qtbot, tmp_path, panes)
    pane = MapPane(None, tmp_path)
    panes.append(pane)
    pane.use_basemap(cached_basemap(DEMO_OSM, tmp_path))
    with qtbot.waitSignal(pane.view.loadFinished, timeout=READY_MS):
        pass
    assert _page_now(qtbot, pane, "document.hidden") is True
    qtbot.wait(500)  # loaded, channel connected, roads laid out: still not drawn
    assert not pane.is_ready
    pane.resize(800, 600)
    pane.show()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    assert js(qtbot, pane, "[document.hidden, innerWidth, innerHeight]") == [False, 800, 600]


def test_the_event_loop_turns_while_the_preload_runs(qtbot):
    from PySide6.QtCore import QTimer

    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(5,), daemon=True)
    thread.start()
    fired: list[float] = []
    QTimer.singleShot(20, lambda: (fired.append(time.monotonic()), release.set()))
    wait_turning_events(thread)  # the timer can only fire if the loop turns meanwhile
    assert fired and not thread.is_alive()


def test_open_map_early_uses_the_settings_cache(qtbot, tmp_path, panes):
    from dispatch.settings import Settings

    settings = Settings(data_dir=tmp_path)
    pane = open_map_early(settings)
    panes.append(pane)
    assert pane.cache_dir == settings.cache_dir
