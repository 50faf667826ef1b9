"""A 10,000-digit paste into 号码 is refused with its reason, and the intake keeps its
shape: the buttons keep their labels, the message is not 10,000 digits wide."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from tests.ui.window_support import open_window


def test_a_huge_pasted_number_is_refused_and_the_intake_keeps_its_shape(qtbot, app):
    w = open_window(qtbot, app)
    iid = w.intake.new_call()
    width = w.intake.width()
    labels = sorted(b.text() for b in w.intake.findChildren(QPushButton))
    w.intake.number.setFocus()
    w.intake.number.selectAll()
    QApplication.clipboard().setText("1" * 10_000)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(w.intake.number.text()) <= 40
    qtbot.keyClick(w.intake.number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "号码" in w.intake.error.text(), timeout=3000)
    assert len(w.intake.error.text()) < 120 and len(w.statusBar().currentMessage()) < 120
    qtbot.wait(100)
    assert w.intake.width() == width
    assert sorted(b.text() for b in w.intake.findChildren(QPushButton)) == labels
    with app.session() as s:
        from dispatch.services import queries
        assert queries.incident(s, iid).caller_number != "1" * 40
