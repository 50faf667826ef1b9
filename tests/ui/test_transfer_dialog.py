"""转警 on the real window: Ctrl+T on the incident in hand, a missing reason refused in
the dialog, then the incident leaves the queue closed as 转办 and the intake is blank."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.services import queries
from tests.ui.window_support import open_window


def _commit(widget, text: str) -> None:
    """What an input method commits into the widget (QTest types only ASCII)."""
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication
    e = QInputMethodEvent()
    e.setCommitString(text)
    QApplication.sendEvent(widget, e)


def test_transfer_by_keyboard(qtbot, app):
    w = open_window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    qtbot.keyClick(w, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "transfer_dialog", None) is not None and w.transfer_dialog.isVisible())
    d = w.transfer_dialog
    qtbot.waitUntil(d.to.hasFocus)
    _commit(d.to.lineEdit(), "12345 政务服务热线")
    qtbot.keyClick(d.to, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # no reason yet: refused
    assert "原因" in d.error.text() and d.isVisible()
    with app.session() as s:
        assert queries.incident(s, iid).status.value == "pending"
    qtbot.keyClick(d.to, Qt.Key.Key_Tab)
    _commit(d.reason, "噪音扰民属城管职责")
    qtbot.keyClick(d.reason, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with app.session() as s:
        view = queries.incident(s, iid)
    assert (view.status.value, view.result_code) == ("closed", "transferred") and "城管" in view.close_note
    qtbot.waitUntil(lambda: w.intake.incident_id is None and w.queue.current_id() != iid)
    assert not d.release.isVisible()  # no unit was on it: nothing to say


def test_the_units_a_transfer_releases_are_named_before_it_is_sent(qtbot, app):
    """QA round 2: Ctrl+T on an incident with 黄巡01 出发 freed it silently (the dialog
    said only 将以「转办」结警)."""
    from dispatch.services.locations import Location
    w = open_window(qtbot, app)
    iid = app.services.open_call("13800000009", "").incident_id
    app.services.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    top = app.services.recommend(iid).ranked[0]
    app.services.dispatch(iid, [top.unit_id])
    app.services.set_unit_status(top.unit_id, "en_route")
    w.reload()
    w._on_incident_clicked(iid)
    qtbot.keyClick(w, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "transfer_dialog", None) is not None and w.transfer_dialog.isVisible())
    text = w.transfer_dialog.release.text()
    assert w.transfer_dialog.release.isVisible()
    assert top.callsign in text and "出发" in text and "转警后将全部释放为「空闲」" in text
    w.transfer_dialog.reject()
