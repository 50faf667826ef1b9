"""结警 has no default result (review finding 2) and closed incidents stay reachable:
F9 after a close, Ctrl+F search, Enter opens (finding 14)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from dispatch.domain.incidents import IncidentStatus
from dispatch.services import queries
from dispatch.services.incident_search import IncidentQuery, search_incidents
from dispatch.services.locations import Location
from ui.close_dialog import CloseDialog
from ui.search_dialog import SearchDialog
from ui.timeline.incident_dialog import IncidentTimelineDialog
from tests.ui.window_support import open_window as _window


def _visible(cls):
    return next((x for x in QApplication.topLevelWidgets() if isinstance(x, cls) and x.isVisible()), None)


def _status(app, iid):
    with app.session() as s:
        return queries.incident(s, iid).status


def test_f8_then_enter_on_an_undispatched_uncategorised_call_closes_nothing(qtbot, app):
    w = _window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    seen = {}

    def press_enter():
        dlg = _visible(CloseDialog)
        seen["dialog"] = dlg is not None
        if dlg:
            seen["current"] = dlg.result_code.currentIndex()
            seen["first"] = [dlg.result_code.itemText(i) for i in range(4)]
            qtbot.keyClick(dlg.result_code, Qt.Key.Key_Return)
            qtbot.keyClick(dlg, Qt.Key.Key_Return)
            seen["still_open"] = dlg.isVisible()
            seen["error"] = dlg.error.text()
            qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    QTimer.singleShot(300, press_enter)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F8)
    assert seen["dialog"] and seen["current"] == -1          # nothing chosen for the call-taker
    assert seen["first"] == ["无效警情", "重复报警", "转办", "告知/劝解"]
    assert seen["still_open"] and seen["error"] == "请选择处理结果"
    assert _status(app, iid) is IncidentStatus.PENDING


def test_a_code_that_does_not_fit_asks_first_and_ctrl_enter_submits(qtbot, app):
    w = _window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    seen = {}

    def answer_question(key, mod=Qt.KeyboardModifier.NoModifier):
        box = next((x for x in QApplication.topLevelWidgets()
                    if isinstance(x, QMessageBox) and x.objectName() == "confirm" and x.isVisible()), None)
        seen.setdefault("asked", []).append(box.text() if box else None)
        if box:
            qtbot.keyClick(box, key, mod)

    def choose_handled():
        dlg = _visible(CloseDialog)
        dlg.result_code.setCurrentIndex(dlg.result_code.findData("handled"))
        dlg.note.setFocus()
        qtbot.waitUntil(dlg.note.hasFocus, timeout=1000)
        qtbot.keyClick(dlg.note, Qt.Key.Key_Tab)               # Tab leaves the note
        seen["tab_left_note"] = not dlg.note.hasFocus()
        QTimer.singleShot(200, lambda: answer_question(Qt.Key.Key_Escape))
        qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        seen["open_after_no"] = dlg.isVisible()
        dlg.result_code.setCurrentIndex(dlg.result_code.findData("invalid"))
        dlg.activateWindow()  # offscreen Qt does not give the dialog back after the question
        qtbot.waitUntil(dlg.isActiveWindow, timeout=3000)
        qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    QTimer.singleShot(300, choose_handled)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F8)
    assert seen["asked"][0] and "从未派警" in seen["asked"][0] and "查处" in seen["asked"][0]
    assert seen["open_after_no"] and seen["tab_left_note"]
    qtbot.waitUntil(lambda: _status(app, iid) is IncidentStatus.CLOSED, timeout=3000)
    with app.session() as s:
        assert queries.incident(s, iid).result_code == "invalid"

    # F9 right after the close opens the closed incident's timeline
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F9)
    dlg = next(x for x in w._dialogs if isinstance(x, IncidentTimelineDialog))
    assert dlg.timeline.incident_id == iid


def test_search_reaches_closed_incidents_enter_opens_f9_timeline(qtbot, app):
    svc = app.services
    closed = svc.open_call("13816005555", "李先生").incident_id
    svc.locate(closed, Location("南京东路", 121.4800, 31.2380, kind="road"))
    svc.close(closed, "invalid", "误拨")
    other = svc.open_call("13900001111", "王女士").incident_id
    with app.session() as s:
        assert [v.id for v in search_incidents(s, IncidentQuery("6005555"))] == [closed]
        assert [v.id for v in search_incidents(s, IncidentQuery("李先生", status="closed"))] == [closed]
        assert [v.id for v in search_incidents(s, IncidentQuery("南京东路"))] == [closed]
        assert search_incidents(s, IncidentQuery("南京东路", status="open")) == []
        assert [v.id for v in search_incidents(s, IncidentQuery(""))][:2] == [other, closed]  # newest first
        assert [v.id for v in search_incidents(s, IncidentQuery("%"))] == []
    w = _window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    dlg = next(x for x in w._dialogs if isinstance(x, SearchDialog))
    qtbot.keyClicks(dlg.text, "13816005555")
    qtbot.waitUntil(lambda: dlg.table.rowCount() == 1 and dlg.current_id() == closed, timeout=3000)
    qtbot.keyClick(dlg.text, Qt.Key.Key_F9)
    assert any(isinstance(x, IncidentTimelineDialog) and x.timeline.incident_id == closed for x in w._dialogs)
    dlg.activateWindow()
    qtbot.waitUntil(dlg.isActiveWindow, timeout=3000)
    qtbot.keyClick(dlg.text, Qt.Key.Key_Return)
    assert w.intake.incident_id == closed and "已结警" in w.intake.header.text()
    assert not w.intake.place.isEnabled() or w.intake.place.isReadOnly()   # read-only


def test_the_service_refuses_a_close_without_a_code(app):
    import pytest

    from dispatch.domain.errors import DispatchError
    from dispatch.store import eventlog

    iid = app.services.open_call("13900000000").incident_id
    for code in ("", "  ", None):
        with pytest.raises(DispatchError):
            app.services.close(iid, code)
    with app.session() as s:
        assert queries.incident(s, iid).status is IncidentStatus.PENDING
        assert len(eventlog.read(s, incident_id=iid)) == 1


def test_a_refused_search_shows_nothing_and_enter_opens_nothing(qtbot, app):
    """A query the search refuses (over its length) empties the list: Enter then opens
    no incident (it opened the top row of the unfiltered list)."""
    app.services.open_call("13900001111", "王女士")
    w = _window(qtbot, app)
    in_hand = w.intake.incident_id
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    dlg = next(x for x in w._dialogs if isinstance(x, SearchDialog))
    qtbot.waitUntil(lambda: dlg.table.rowCount() >= 1, timeout=3000)
    dlg.text.setText("王" * 500)
    dlg.run()
    assert "过长" in dlg.info.text() and dlg.table.rowCount() == 0 and dlg.current_id() is None
    qtbot.keyClick(dlg.text, Qt.Key.Key_Return)
    assert w.intake.incident_id == in_hand
