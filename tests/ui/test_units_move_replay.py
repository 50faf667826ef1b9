"""Replay shows the tracks as they were (issue 10 item 5): at the cursor, the map draws
each unit's recorded positions of the 5 minutes before it, ending at the unit's marker;
a unit that did not move in those minutes has no track."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from sqlalchemy import select

from dispatch.bootstrap import bootstrap
from dispatch.feeds.sim_setup import places_from_db
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import load_index
from dispatch.settings import Settings
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import PositionRow
from tests.conftest import NOON_UTC
from ui.replay.window import TRACK_WINDOW_S, ReplayWindow


def _page(qtbot, pane) -> dict:
    box: list = []
    pane.evaluate("JSON.stringify(dispatchMap.debugState())", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


@pytest.fixture
def window(app, clock, qtbot):
    Simulator(app.services, clock, app.unit_snapshots(), places_from_db(app.store),
              SimConfig(hours=1.0, calls=14, seed=6, start=NOON_UTC + timedelta(minutes=5),
                        position_interval_s=20)).run()
    ro = bootstrap(Settings(data_dir=app.settings.data_dir), read_only=True)
    win = ReplayWindow(ro, load_index(ro), with_map=True)
    win.resize(1600, 900)
    win.show()
    with qtbot.waitSignal(win.views.map.ready, timeout=20000):
        pass
    yield win
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_replay_draws_each_units_last_minutes_up_to_the_cursor(window, qtbot, app):
    with app.session() as s:
        rows = [(u, as_utc(at), lon, lat) for u, at, lon, lat in
                s.execute(select(PositionRow.unit_id, PositionRow.at, PositionRow.lon, PositionRow.lat))]
    checked = 0
    for minutes in (20, 45):
        cursor = window.index.start + timedelta(minutes=minutes)
        window.controller.seek(cursor)
        state = window.controller.state
        qtbot.waitUntil(window.views.map_idle, timeout=5000)
        page = _page(qtbot, window.views.map)
        since = cursor - timedelta(seconds=TRACK_WINDOW_S)
        for u in state.units:
            recorded = sorted((at, lon, lat) for uid, at, lon, lat in rows if uid == u.id and since <= at <= cursor)
            points = {(lon, lat) for _at, lon, lat in recorded}
            if len(points) < 2 and (not recorded or (u.lon, u.lat) == (recorded[-1][1], recorded[-1][2])):
                assert str(u.id) not in page["tracks"]     # did not move in those minutes
                continue
            if u.status.value == "off_duty":
                continue
            # every recorded fix of the window, plus the marker's (interpolated) place when it is past the last
            extra = 0 if (u.lon, u.lat) == (recorded[-1][1], recorded[-1][2]) else 1
            assert page["tracks"][str(u.id)] == len(recorded) + extra, u.callsign
            checked += 1
    assert checked >= 2, "some units drove during the simulated hour"
