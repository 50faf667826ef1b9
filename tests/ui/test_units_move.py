"""Units that move on screen (issue 10 item 2): fixes written by the AVL writer's own
path (avl_store.write_batch, no event) reach the board model and the map within 1 s,
only the units that moved; a silent unit turns grey; a unit 出发 within 50 m of its
incident is offered 到场 on one key, and the confirmed event records the fix; a
dispatcher's status changes during a storm of fixes never conflict."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QColor
from sqlalchemy import func, select

from dispatch.domain.units import UnitStatus
from dispatch.store.positions import Fix, write_batch
from dispatch.services import queries
from dispatch.domain.units import stale_after_s
from dispatch.services.locations import Location
from dispatch.store import eventlog
from dispatch.store.schema import EventRow
from ui import theme
from ui.unit_board import SUGGEST
from tests.ui.window_support import open_window as _window

MAP_READY_MS = 60000
# 福州路 at 山东中路 (OSM way "福州路" in the demo extract, Huangpu)
SCENE = (121.4820, 31.2340)


def _js(qtbot, w, script: str):
    box: list = []
    w.map.evaluate(f"JSON.stringify({script})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def _map_state(qtbot, w) -> dict:
    return _js(qtbot, w, "dispatchMap.debugState()")


def _events(app) -> int:
    with app.session() as s:
        return s.scalar(select(func.count()).select_from(EventRow))


def _ready_window(qtbot, app):
    w = _window(qtbot, app)
    qtbot.waitUntil(lambda: w.map.is_ready, timeout=MAP_READY_MS)
    return w


def _police(app, n: int = 1):
    return [u for u in app.unit_snapshots()
            if u.kind.is_police and u.terminal and u.status is UnitStatus.AVAILABLE and not u.duty][:n]


def _row_text(model, unit_id: int, col: int) -> str:
    return model.data(model.index(model.row_of(unit_id), col))


def test_fix_moves_the_unit_on_board_and_map_within_a_second_without_an_event(qtbot, app, clock):
    w = _ready_window(qtbot, app)
    unit, other = _police(app, 2)
    m = w.board.model
    resets: list = []
    m.modelReset.connect(lambda: resets.append(1))
    changed: list[tuple[int, int]] = []
    m.dataChanged.connect(lambda a, b, _roles=None: changed.append((a.row(), b.row())))
    other_before = _row_text(m, other.id, 5)
    events = _events(app)
    lon, lat = unit.home_lon + 0.0040, unit.home_lat + 0.0020
    applied: list = []
    w.live.applied.connect(lambda ids, t: applied.append((ids, t)))
    sent = time.monotonic()
    write_batch(app.store, [Fix(unit.id, clock.now(), lon, lat, 40.0, 90.0)])
    qtbot.waitUntil(lambda: m.unit(unit.id).lon == lon, timeout=1000)
    latency = applied[0][1] - sent
    assert latency < 1.0 and applied[0][0] == [unit.id]
    assert not resets                                   # no reload: only the unit's row changed
    row = m.row_of(unit.id)
    # the fix changed its one row (the 1 s clock tick repaints every row, from row 0 to the last)
    assert (row, row) in changed and all(c == (row, row) or c == (0, m.rowCount() - 1) for c in changed)
    assert "车载终端" in _row_text(m, unit.id, 5) and "前" in _row_text(m, unit.id, 5)
    assert _row_text(m, other.id, 5) == other_before
    st = _map_state(qtbot, w)
    assert abs(st["units"][str(unit.id)]["lon"] - lon) < 1e-9 and abs(st["units"][str(unit.id)]["lat"] - lat) < 1e-9
    assert abs(st["units"][str(other.id)]["lon"] - other.lon) < 1e-9
    assert _events(app) == events                       # a fix is not an event


def test_selected_unit_shows_its_last_ten_minutes_and_the_track_grows(qtbot, app, clock):
    clock.advance(20 * 60)  # the demo's units are at their posts as of the start
    w = _ready_window(qtbot, app)
    unit = _police(app)[0]
    t0 = clock.now()
    old = [Fix(unit.id, t0 - timedelta(minutes=15), unit.home_lon - 0.01, unit.home_lat, source="avl")]
    recent = [Fix(unit.id, t0 - timedelta(minutes=9 - i), unit.home_lon + 0.0005 * i, unit.home_lat, source="avl")
              for i in range(5)]
    write_batch(app.store, old + recent)
    qtbot.waitUntil(lambda: w.board.model.unit(unit.id).position_source == "avl", timeout=1000)
    w.board.select(unit.id)
    qtbot.waitUntil(lambda: (_map_state(qtbot, w)["track"] or {}).get("points") == 5, timeout=3000)
    assert _map_state(qtbot, w)["track"]["unit"] == unit.id
    write_batch(app.store, [Fix(unit.id, t0, unit.home_lon + 0.003, unit.home_lat)])
    qtbot.waitUntil(lambda: _map_state(qtbot, w)["track"]["points"] == 6, timeout=5000)  # a loaded CI machine
    # a redraw that does not move it (it turns stale) adds no point to its track
    clock.advance(stale_after_s(unit.kind) + 30)
    qtbot.waitUntil(lambda: "stale" in _map_state(qtbot, w)["units"][str(unit.id)]["cls"], timeout=3000)
    assert _map_state(qtbot, w)["track"]["points"] == 6


def test_silent_unit_turns_grey_with_its_age(qtbot, app, clock):
    w = _ready_window(qtbot, app)
    unit = _police(app)[0]
    m = w.board.model
    write_batch(app.store, [Fix(unit.id, clock.now(), unit.home_lon + 0.002, unit.home_lat)])
    qtbot.waitUntil(lambda: m.unit(unit.id).position_source == "avl", timeout=1000)
    fg = m.data(m.index(m.row_of(unit.id), 0), Qt.ItemDataRole.ForegroundRole)
    assert fg is None or fg.color() != QColor(theme.MUTED)
    assert not _map_state(qtbot, w)["units"][str(unit.id)]["cls"].count("stale")
    limit = stale_after_s(unit.kind)                   # its kind's limit (a patrol car's: 2 minutes)
    clock.advance(limit - 30)
    qtbot.wait(1200)
    assert "已过时" not in _row_text(m, unit.id, 5)
    clock.advance(60)
    qtbot.waitUntil(lambda: "已过时" in _row_text(m, unit.id, 5), timeout=2000)
    text = _row_text(m, unit.id, 5)
    age = int(limit + 30)
    assert f"{age // 60}分{age % 60:02d}秒前" in text, text   # the age, not only a flag
    assert m.data(m.index(m.row_of(unit.id), 0), Qt.ItemDataRole.ForegroundRole).color() == QColor(theme.MUTED)
    qtbot.waitUntil(lambda: "stale" in _map_state(qtbot, w)["units"][str(unit.id)]["cls"], timeout=2000)


def _en_route_unit(app):
    unit = _police(app)[0]
    iid = app.services.open_call("13900000000").incident_id
    app.services.locate(iid, Location("福州路", *SCENE, kind="road"))
    app.services.categorise(iid, "dispute")
    app.services.dispatch(iid, [unit.id])
    app.services.set_unit_status(unit.id, UnitStatus.EN_ROUTE)
    return iid, unit


def test_unit_within_50m_of_its_incident_gets_a_one_key_arrival(qtbot, app, clock):
    iid, unit = _en_route_unit(app)
    w = _ready_window(qtbot, app)
    m = w.board.model
    # 120 m east of the scene: no suggestion yet
    write_batch(app.store, [Fix(unit.id, clock.now(), SCENE[0] + 0.00126, SCENE[1])])
    qtbot.waitUntil(lambda: m.unit(unit.id).position_source == "avl", timeout=1000)
    assert m.suggestion(unit.id) is None and "Ctrl+3" not in _row_text(m, unit.id, 7)
    # 30 m east (0.000315 deg of longitude at 31.23 N)
    fix_at = clock.now() + timedelta(seconds=20)
    write_batch(app.store, [Fix(unit.id, fix_at, SCENE[0] + 0.000315, SCENE[1])])
    qtbot.waitUntil(lambda: m.suggestion(unit.id) is not None, timeout=1000)
    assert "按 Ctrl+3 确认到场" in _row_text(m, unit.id, 7)
    assert m.data(m.index(m.row_of(unit.id), 0), Qt.ItemDataRole.BackgroundRole).color() == SUGGEST
    w.intake.load_incident(None)          # not the incident in hand: the fix is the evidence, no question
    w.board.select(unit.id)
    w.board.view.setFocus()
    qtbot.keyClick(w.board.view, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: m.unit(unit.id).status is UnitStatus.ON_SCENE, timeout=3000)
    with app.session() as s:
        ev = [e for e in eventlog.read(s, incident_id=iid) if e.payload.get("to") == "on_scene"][-1]
    fix = ev.payload["fix"]  # the fix that triggered the suggestion, as data
    assert (fix["lon"], fix["lat"]) == (round(SCENE[0] + 0.000315, 6), round(SCENE[1], 6))
    assert fix["at"] == fix_at.strftime("%Y-%m-%dT%H:%M:%SZ") and round(fix["metres"]) == 30
    assert m.suggestion(unit.id) is None


def test_status_changes_during_a_storm_of_fixes_never_conflict(qtbot, app, clock):
    iid, unit = _en_route_unit(app)
    w = _ready_window(qtbot, app)
    units = [u for u in app.unit_snapshots() if u.terminal]
    stop = threading.Event()
    errors: list = []
    written = [0]

    def storm() -> None:
        i = 0
        try:
            while not stop.is_set():
                i += 1
                at = clock.now() + timedelta(milliseconds=i)
                write_batch(app.store, [Fix(u.id, at, u.home_lon + 0.00001 * (i % 50), u.home_lat) for u in units])
                written[0] += len(units)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    w._on_incident_clicked(iid)           # the incident in hand: the board asks nothing
    t = threading.Thread(target=storm)
    t.start()
    try:
        qtbot.wait(200)
        w._on_status_requested(unit.id, UnitStatus.ON_SCENE.value)
        qtbot.waitUntil(lambda: w.board.model.unit(unit.id).status is UnitStatus.ON_SCENE, timeout=3000)
        second = next(u for u in _police(app, 5) if u.id != unit.id)
        app.services.dispatch(iid, [second.id])
        for status in (UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
            qtbot.wait(150)
            w._on_status_requested(second.id, status.value)
    finally:
        stop.set()
        t.join()
    QThreadPool.globalInstance().waitForDone(120000)  # the routes drawn for the incident in hand
    qtbot.wait(50)
    assert not errors and written[0] > 0
    assert not [x for x in messages if "其他席位" in x], messages
    with app.session() as s:
        shown = {u.id: u.status for u in queries.unit_snapshots(s)}
    assert shown[unit.id] is UnitStatus.ON_SCENE and shown[second.id] is UnitStatus.ON_SCENE


def test_moved_units_stay_where_they_are_after_a_map_renderer_crash(qtbot, app, clock):
    from PySide6.QtCore import QUrl

    w = _ready_window(qtbot, app)
    unit = _police(app)[0]
    lon, lat = unit.home_lon + 0.003, unit.home_lat - 0.001
    write_batch(app.store, [Fix(unit.id, clock.now(), lon, lat)])
    qtbot.waitUntil(lambda: w.board.model.unit(unit.id).lon == lon, timeout=1000)
    with qtbot.waitSignal(w.map.ready, timeout=MAP_READY_MS):
        w.map._page.setUrl(QUrl("chrome://crash"))
    marker = _map_state(qtbot, w)["units"][str(unit.id)]
    assert abs(marker["lon"] - lon) < 1e-9 and abs(marker["lat"] - lat) < 1e-9   # not back at its post


def test_a_read_only_board_offers_no_arrival_key(qtbot, app, clock):
    """Replay's board (read-only) shows where the unit was, never 按 Ctrl+3 确认到场."""
    from ui.unit_board import UnitBoard

    iid, unit = _en_route_unit(app)
    write_batch(app.store, [Fix(unit.id, clock.now(), SCENE[0] + 0.000315, SCENE[1])])
    with app.session() as s:
        units, incidents = queries.unit_snapshots(s), queries.open_incidents(s)
    for read_only, offered in ((False, True), (True, False)):
        board = UnitBoard(read_only=read_only)
        qtbot.addWidget(board)
        board.set_units(units, incidents, clock.now())
        m = board.model
        assert (m.suggestion(unit.id) is not None) is offered
        assert ("Ctrl+3" in _row_text(m, unit.id, 5)) is offered
