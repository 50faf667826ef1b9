"""Replay on the demo with the real map pane: the markers follow the replay cursor."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from dispatch.bootstrap import bootstrap
from dispatch.feeds.sim_setup import places_from_db
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import load_index
from dispatch.settings import Settings
from tests.conftest import NOON_UTC
from ui.replay.window import ReplayWindow


def _page_state(qtbot, pane) -> dict:
    box: list = []
    pane.evaluate("JSON.stringify(dispatchMap.debugState())", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def _units_drawn(page: dict, state) -> None:  # noqa: ANN001
    """The page's unit markers are the state's units on duty, where and as they are."""
    on_map = {u.id: u for u in state.units if u.status.value != "off_duty"}
    assert set(page["units"]) == {str(i) for i in on_map}
    for uid, marker in page["units"].items():
        u = on_map[int(uid)]
        assert (marker["lon"], marker["lat"]) == pytest.approx((u.lon, u.lat))
        assert marker["status"] == u.status.value


@pytest.fixture
def window(app, clock, qtbot, tmp_path):
    Simulator(app.services, clock, app.unit_snapshots(), places_from_db(app.store),
              SimConfig(hours=1.5, calls=18, seed=6, start=NOON_UTC + timedelta(minutes=5))).run()
    ro = bootstrap(Settings(data_dir=app.settings.data_dir), read_only=True)
    win = ReplayWindow(ro, load_index(ro), with_map=True)
    win.resize(1600, 900)
    win.show()
    assert win.views.map is not None
    with qtbot.waitSignal(win.views.map.ready, timeout=20000):
        pass
    yield win
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_map_markers_follow_the_cursor(window, qtbot):
    index = window.index
    for minutes in (25, 60):
        at = index.start + timedelta(minutes=minutes)
        window.controller.seek(at)
        expected = window.controller.state
        qtbot.waitUntil(window.views.map_idle, timeout=5000)
        page = _page_state(qtbot, window.views.map)
        _units_drawn(page, expected)
        assert set(page["incidents"]) == {str(i.id) for i in expected.incidents if i.lon is not None}


def test_a_scrub_draws_the_latest_state_not_every_one(window, qtbot):
    """Dragging the slider shows dozens of states a second: the tables follow each, the
    map draws one at a time and then the last one (it used to queue every one in the page
    and trail the tables by seconds)."""
    index, views = window.index, window.views
    qtbot.waitUntil(views.map_idle, timeout=5000)
    before = views.map_drawings
    for k in range(60):
        window.controller.seek(index.start + timedelta(minutes=20, seconds=20 * k))
    last = window.controller.state
    qtbot.waitUntil(views.map_idle, timeout=5000)
    assert views.map_drawings - before < 20
    _units_drawn(_page_state(qtbot, views.map), last)
