"""联动 panel on the real window: Ctrl+J opens it for the incident in hand, typed
notification saved with Ctrl+Enter, Ctrl+K acknowledges, an overdue one turns red and
the status bar reminds."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain.agencies import ACK_REMINDER_S
from dispatch.services import joint_response as jr
from tests.ui.window_support import open_window
from ui.joint_response_panel import RED, reminder_text


def test_notify_and_acknowledge_by_keyboard(qtbot, app, clock):
    w = open_window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    qtbot.keyClick(w, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "joint_panel", None) is not None and w.joint_panel.isVisible())
    p = w.joint_panel
    assert p.incident_id == iid
    qtbot.waitUntil(p.agency.hasFocus)
    p.agency.setCurrentIndex(p.agency.findData("gas"))
    qtbot.keyClick(p.agency, Qt.Key.Key_Tab)
    p.method.setCurrentIndex(p.method.findData("phone"))
    qtbot.keyClick(p.method, Qt.Key.Key_Tab)
    assert p.reference.hasFocus()
    qtbot.keyClicks(p.reference, "RQ-2031")
    qtbot.keyClick(p.reference, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with app.session() as s:
        told = jr.notifications(s, [iid])[iid]
    assert [(n.agency, n.method, n.reference) for n in told] == [("gas", "phone", "RQ-2031")]
    assert p.table.rowCount() == 1 and p.table.item(0, 0).text() == "燃气" and p.table.item(0, 5).text() == "待确认"
    assert reminder_text(app) == ""
    clock.advance(ACK_REMINDER_S + 60)
    p.refresh()
    assert "超时未确认" in p.table.item(0, 5).text() and p.table.item(0, 0).foreground().color() == RED
    assert f"警情 {iid}" in reminder_text(app) and "燃气" in reminder_text(app)
    qtbot.keyClick(p.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    with app.session() as s:
        assert jr.notifications(s, [iid])[iid][0].acknowledged_at == clock.now()
    assert p.table.item(0, 5).text() == "已确认" and reminder_text(app) == ""
    qtbot.keyClick(p.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # nothing left to acknowledge
    assert p.error.text() == "「燃气」的通知已于 12:06:00 确认"
    w.grab().save("/tmp/joint_window.png")
    p.grab().save("/tmp/joint_panel.png")
