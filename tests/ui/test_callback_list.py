"""回访 list on the real window: Ctrl+H lists the closed incidents due, the overdue one
in red first; Ctrl+Enter records the callback and it leaves the list."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.services.callbacks import callbacks
from tests.ui.window_support import open_window


def _commit(widget, text: str) -> None:
    """What an input method commits into the widget (QTest types only ASCII)."""
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication
    e = QInputMethodEvent()
    e.setCommitString(text)
    QApplication.sendEvent(widget, e)


def test_callback_list_by_keyboard(qtbot, app, clock):
    old = app.services.open_call("13800000051", "李女士").incident_id
    app.services.close(old, "mediated")
    clock.advance(80 * 3600)
    recent = app.services.open_call("13800000052").incident_id
    app.services.close(recent, "advised")
    clock.advance(3 * 3600)
    w = open_window(qtbot, app)
    qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "callback_list", None) is not None and w.callback_list.isVisible())
    d = w.callback_list
    qtbot.waitUntil(d.table.hasFocus)  # the list window has the keyboard
    assert [d.table.item(r, 0).text() for r in range(d.table.rowCount())] == [str(old), str(recent)]
    assert d.table.item(0, 7).text() == "超期" and d.table.item(1, 7).text() == "待回访"
    assert d.table.item(0, 3).text() == "李女士" and "超期 1 起" in d.summary.text()
    assert d.satisfied.currentIndex() == -1  # no default answer
    qtbot.keyClick(d.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "满意度" in d.error.text()  # refused: the caller's answer is not assumed
    with app.session() as s:
        assert callbacks(s, [old])[old] is None
    d.table.setFocus()
    qtbot.keyClick(d.table, Qt.Key.Key_Tab)
    d.satisfied.setCurrentIndex(d.satisfied.findData(False))
    qtbot.keyClick(d.satisfied, Qt.Key.Key_Tab)
    _commit(d.note, "民警态度好，但到场慢")
    qtbot.keyClick(d.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with app.session() as s:
        rec = callbacks(s, [old, recent])
    assert rec[recent] is None and (rec[old].satisfied, rec[old].note) == (False, "民警态度好，但到场慢")
    assert d.table.rowCount() == 1 and d.table.item(0, 0).text() == str(recent)
    assert f"已记录警情 {old} 的回访（不满意）" in d.summary.text()
    # QA round 2: a second Ctrl+Enter recorded the next one as 满意 with no note and no question
    assert d.satisfied.currentIndex() == -1
    qtbot.keyClick(d.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "满意度" in d.error.text()
    with app.session() as s:
        assert callbacks(s, [recent])[recent] is None
    d.grab().save("/tmp/callback_list.png")
