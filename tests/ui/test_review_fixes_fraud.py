"""紧急止付 (review screens 100c/101c): Esc on a form with typed data that no action
saved asks first (取消 is the default and keeps every field); an empty form, or one
whose data was just registered, closes at once."""
from __future__ import annotations

from PySide6.QtCore import Qt
from shiboken6 import isValid

from tests.ui.window_support import answer_confirm, open_window
from ui.fraud_panel import FraudPanel

CTRL = Qt.KeyboardModifier.ControlModifier
VICTIM = "6222021234567890123 工商银行 王芳"
FRAUD = "6217000011112222333 建设银行"
TRANSFER = "30000 11:40 6217000011112222333"


def _closed(panel: FraudPanel) -> bool:
    """Closed (the window deletes a closed panel)."""
    return not isValid(panel) or not panel.isVisible()


def _esc(qtbot, panel, answer=None, answer_mod=Qt.KeyboardModifier.NoModifier):
    """Esc on the panel; a question, if one comes, is answered with `answer`. Returns the
    question's text and default button, or None when nothing was asked."""
    answers = answer_confirm(qtbot, key=answer or Qt.Key.Key_Escape, mod=answer_mod)
    qtbot.keyClick(panel.focusWidget() or panel, Qt.Key.Key_Escape)  # a question is modal: answered within
    answers.stop()
    return {"text": answers[0], "default": answers.defaults[0]} if answers else None


def _open_panel(qtbot, w) -> FraudPanel:
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F, CTRL | Qt.KeyboardModifier.ShiftModifier)
    panel = w.fraud_panel
    qtbot.waitUntil(panel.isVisible, timeout=3000)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=3000)
    return panel


def test_esc_with_typed_accounts_asks_and_cancel_keeps_them(qtbot, app):
    w = open_window(qtbot, app)
    w.new_call()
    panel = _open_panel(qtbot, w)
    panel.victims.setPlainText(VICTIM)
    panel.transfers.setPlainText(TRANSFER)
    asked = _esc(qtbot, panel, Qt.Key.Key_Escape)           # Esc on the question: 取消
    assert asked, "typed account data must not be thrown away without asking"
    assert "受害人账户" in asked["text"] and "转账" in asked["text"] and "嫌疑人账户" not in asked["text"]
    assert asked["default"].startswith("取消")
    assert panel.isVisible()
    assert panel.victims.toPlainText() == VICTIM and panel.transfers.toPlainText() == TRANSFER
    panel.activateWindow()                                  # offscreen Qt does not give it back
    qtbot.waitUntil(panel.isActiveWindow, timeout=3000)
    assert _esc(qtbot, panel, Qt.Key.Key_Return)            # Enter is 取消 too
    assert panel.isVisible() and panel.victims.toPlainText() == VICTIM
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=3000)
    assert _esc(qtbot, panel, Qt.Key.Key_Return, CTRL)      # Ctrl+Enter: 放弃并关闭
    qtbot.waitUntil(lambda: _closed(panel), timeout=3000)


def test_an_empty_form_and_a_registered_one_close_at_once(qtbot, app):
    w = open_window(qtbot, app)
    w.new_call()
    panel = _open_panel(qtbot, w)
    assert _esc(qtbot, panel) is None                       # nothing typed: no question
    qtbot.waitUntil(lambda: _closed(panel), timeout=3000)

    panel = _open_panel(qtbot, w)
    panel.victims.setPlainText(VICTIM)
    panel.frauds.setPlainText(FRAUD)
    panel.transfers.setPlainText(TRANSFER)
    qtbot.keyClick(panel.transfers, Qt.Key.Key_S, CTRL)     # 登记
    assert panel.error.text() == "" and panel.checklist.text().startswith("☑ 登记")
    assert panel.unsaved() == []
    panel.reference.setText("FZ-1")                         # typed after the record: asked about
    assert panel.unsaved() == ["申请编号"]
    qtbot.keyClick(panel.reference, Qt.Key.Key_R, CTRL)     # 申请已发 saves it
    assert panel.unsaved() == []
    assert _esc(qtbot, panel) is None
    qtbot.waitUntil(lambda: _closed(panel), timeout=3000)
