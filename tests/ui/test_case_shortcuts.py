"""The rest of a call from the keyboard on the real window: Ctrl+Shift+D refers the
dispute in hand to the grid's people (a refusal stays in the dialog), Ctrl+Shift+R lists
it when due, Ctrl+Shift+F opens the 紧急止付 fast path."""
from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDate, Qt

from dispatch.services import referrals as rf
from dispatch.services.locations import Location
from tests.ui.window_support import open_window

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _dispute_in_hand(qtbot, w, app) -> int:
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    app.services.locate(iid, Location("南京东路", 121.4800, 31.2380, kind="road"))
    app.services.categorise(iid, "dispute")
    return iid


def test_refer_by_keyboard_and_the_list_shows_it_when_due(qtbot, app, clock):
    w = open_window(qtbot, app)
    iid = _dispute_in_hand(qtbot, w, app)
    qtbot.keyClick(w, Qt.Key.Key_D, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(w, "refer_dialog", None) is not None and w.refer_dialog.isVisible())
    d = w.refer_dialog
    qtbot.waitUntil(d.to.hasFocus)
    assert d.contact.count() > 0 and "网格" in d.contact.itemText(0)     # the grid's people are offered
    d.follow_up.setDate(QDate(2020, 1, 1))                             # in the past: refused, nothing written
    qtbot.keyClick(d.to, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert d.isVisible() and d.error.text()
    with app.session() as s:
        assert rf.referrals(s, [iid])[iid] == []
    d.follow_up.setDate(QDate(2026, 11, 24))
    qtbot.keyClick(d.to, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not d.isVisible())
    with app.session() as s:
        [r] = rf.referrals(s, [iid])[iid]
    assert r.to == "网格员" and str(r.follow_up_on) == "2026-11-24"
    clock.advance(timedelta(days=2).total_seconds())                                   # now overdue
    w.activateWindow()                                                 # a window manager does this
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(w, "referral_list", None) is not None and w.referral_list.isVisible())
    assert [x.incident_id for x in w.referral_list.rows] == [iid]


def test_fraud_panel_opens_for_the_incident_in_hand(qtbot, app):
    w = open_window(qtbot, app)
    qtbot.keyClick(w, Qt.Key.Key_F, CTRL_SHIFT)                        # nothing in hand yet
    assert getattr(w, "fraud_panel", None) is None and "止付" in w.statusBar().currentMessage()
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    qtbot.keyClick(w, Qt.Key.Key_F, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(w, "fraud_panel", None) is not None and w.fraud_panel.isVisible())
    assert w.fraud_panel.incident_id == iid and str(iid) in w.fraud_panel.windowTitle()



def test_ctrl_p_saves_the_report_of_the_incident_in_hand(qtbot, app, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    w = open_window(qtbot, app)
    iid = _dispute_in_hand(qtbot, w, app)
    target = tmp_path / f"警情报告-{iid}.pdf"                            # the name the dialog offers

    def answer() -> None:  # the save dialog, as the call-taker fills it
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QFileDialog):
            QTimer.singleShot(100, answer)
            return
        assert str(iid) in dlg.windowTitle()
        dlg.setDirectory(str(tmp_path))
        dlg.accept()

    QTimer.singleShot(100, answer)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "报告已保存" in w.statusBar().currentMessage(), timeout=30_000)
    assert str(target) in w.statusBar().currentMessage(), w.statusBar().currentMessage()
    assert target.read_bytes()[:5] == b"%PDF-" and target.stat().st_size > 20_000
