"""A whole alarm driven through the real main window, keyboard first, then the
event log read back and checked."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from dispatch.domain import events as ev
from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.store import eventlog
from ui.close_dialog import CloseDialog
from tests.ui.window_support import answer_confirm
from tests.ui.window_support import open_window as _window


def ime_type(qtbot, widget, text: str) -> None:
    """Type Chinese as an input method does: committed strings, a word at a time
    (QTest.keyClicks only knows ASCII)."""
    widget.setFocus()
    for chunk in text.split(" "):
        ev = QInputMethodEvent()
        ev.setCommitString(chunk)
        QApplication.sendEvent(widget, ev)
        qtbot.wait(30)


def test_whole_alarm_through_the_main_window(qtbot, app, clock):
    w = _window(qtbot, app)
    # F2: the incident exists at once
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    assert iid is not None
    with app.session() as s:
        assert [e.kind for e in eventlog.read(s, incident_id=iid)] == [ev.CALL_RECEIVED]
    qtbot.waitUntil(lambda: w.queue.model.row_of(iid) >= 0, timeout=3000)

    qtbot.keyClicks(w.intake.number, "13916001234")
    ime_type(qtbot, w.intake.name, "王女士")
    w.intake.name.editingFinished.emit()

    # place: an intersection in its spoken form, with a homophone
    w.intake.place.setFocus()
    ime_type(qtbot, w.intake.place, "福洲路 西藏中路 口")
    qtbot.waitUntil(lambda: len(w.intake.place_box.found) > 0, timeout=5000)
    assert "福州路" in w.intake.place_box.found[0].name and "西藏中路" in w.intake.place_box.found[0].name
    qtbot.keyClick(w.intake.place, Qt.Key.Key_Down)
    qtbot.keyClick(w.intake.place, Qt.Key.Key_Up)
    qtbot.keyClick(w.intake.place, Qt.Key.Key_Return)
    with app.session() as s:
        inc = queries.incident(s, iid)
    assert inc.lon is not None and "福州路" in inc.place_name and inc.caller_number == "13916001234"

    # category
    w.intake.category.setCurrentIndex(w.intake.category.findData("dispute"))
    w.intake.category.activated.emit(w.intake.category.currentIndex())
    w.intake.narrative.setPlainText("两人在路口争吵")

    # F5 recommend, F6 dispatch the top unit
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: bool(w.intake.checked_units()), timeout=10000)
    unit_id = w.intake.checked_units()[0]
    qtbot.keyClick(w.intake.rec_tree, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: w.board.model.unit_at(w.board.model.row_of(unit_id)).status
                    is UnitStatus.DISPATCHED, timeout=3000)

    # the map shows the incident, the dispatched unit and its route along the roads
    qtbot.waitUntil(lambda: w.map.is_ready, timeout=15000)
    state = {}

    def read_map():
        w.map.evaluate("JSON.stringify(dispatchMap.debugState())", lambda st: state.update(json.loads(st)))
        return bool(state.get("routes")) and str(iid) in state.get("incidents", {})
    qtbot.waitUntil(read_map, timeout=10000)
    assert state["units"][str(unit_id)]["status"] == "dispatched"

    # walk the unit's statuses on the board with its shortcuts
    w.board.select(unit_id)
    for key, status in ((Qt.Key.Key_1, UnitStatus.ACKNOWLEDGED), (Qt.Key.Key_2, UnitStatus.EN_ROUTE),
                        (Qt.Key.Key_3, UnitStatus.ON_SCENE), (Qt.Key.Key_4, UnitStatus.AVAILABLE)):
        clock.advance(30)
        if status is UnitStatus.AVAILABLE:  # standing a unit down from its incident is confirmed
            answer_confirm(qtbot, accept=True)
        qtbot.keyClick(w.board.view, key, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda s=status: w.board.model.unit_at(w.board.model.row_of(unit_id)).status is s,
                        timeout=3000)
        w.board.select(unit_id)

    # F9 from the queue: the incident's timeline, every event with time, seat and operator
    from ui.timeline.incident_dialog import IncidentTimelineDialog
    w.activateWindow()  # offscreen Qt does not give the window back after the question
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    w.queue.select(iid)
    w.queue.view.setFocus()
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F9)
    dlg = next(x for x in w._dialogs if isinstance(x, IncidentTimelineDialog))
    with app.session() as s:
        n_events = len(eventlog.read(s, incident_id=iid))
    assert dlg.events.rowCount() == n_events
    assert dlg.events.item(0, 1).text() == app.settings.seat and dlg.events.item(0, 2).text() == app.settings.operator
    dlg.close()

    # F8 close with a result code
    def accept_close():
        dlg = next(x for x in QApplication.topLevelWidgets() if isinstance(x, CloseDialog) and x.isVisible())
        dlg.result_code.setCurrentIndex(dlg.result_code.findData("mediated"))
        dlg.note.setPlainText("双方和解")
        dlg.accept()
    QTimer.singleShot(200, accept_close)
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: w.queue.model.row_of(iid) < 0, timeout=3000)

    # the closed incident's point and routes leave the map with it
    def map_cleared():
        w.map.evaluate("JSON.stringify(dispatchMap.debugState())", lambda st: state.update(json.loads(st)))
        return not state.get("routes") and state.get("pick") is None
    qtbot.waitUntil(map_cleared, timeout=5000)

    with app.session() as s:
        events = eventlog.read(s, incident_id=iid)
    kinds = [e.kind for e in events]
    assert kinds[0] == ev.CALL_RECEIVED
    for k in (ev.INCIDENT_LOCATED, ev.INCIDENT_CATEGORISED, ev.UNIT_RECOMMENDED, ev.UNIT_DISPATCHED,
              ev.UNIT_ACKNOWLEDGED, ev.INCIDENT_CLOSED):
        assert k in kinds, k
    statuses = [e.payload["to"] for e in events if e.kind in (ev.UNIT_STATUS, ev.UNIT_ACKNOWLEDGED)]
    assert statuses == ["acknowledged", "en_route", "on_scene", "available"]
    closed = events[-1]
    assert closed.kind == ev.INCIDENT_CLOSED and closed.payload["result_code"] == "mediated"
    assert all(e.seat == app.settings.seat for e in events)


def test_refusal_is_shown_and_changes_nothing(qtbot, app):
    w = _window(qtbot, app)
    w.new_call()
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F6)  # dispatch before recommending
    assert w.intake.error.text()
    w.board.select(1)
    qtbot.keyClick(w.board.view, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)  # disabled: 空闲 -> 到场
    with app.session() as s:
        assert [u for u in queries.unit_snapshots(s) if u.status is not UnitStatus.AVAILABLE] == []
