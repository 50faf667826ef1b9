"""At 1920x1080 the call-taker sees what he acts on: a caller calling for the fourth time
(his history and the possible duplicates above the place) and a refusal at the top still
leave the recommendation and its 推荐/派警 buttons in view once F5 has run, and a refusal
shown while the pane is scrolled down is scrolled into view."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui.test_keyboard_flow import Keyboard
from tests.ui.window_support import open_window

NUMBER = "13916005678"


def _seen(w, widget) -> bool:  # noqa: ANN001
    """`widget` lies wholly inside the intake's scroll area viewport."""
    viewport = w.intake_scroll.viewport()
    top = widget.mapTo(viewport, QPoint(0, 0)).y()
    return top >= 0 and top + widget.height() <= viewport.height()


def test_a_fourth_call_from_one_number_keeps_the_recommendation_in_view(qtbot, app):
    w = open_window(qtbot, app)
    # (the tests run without the console's theme, whose larger type fills 1080 lines: a
    # shorter window stands in for it)
    w.resize(1920, 760)
    kb = Keyboard(qtbot)
    for _ in range(3):  # three earlier calls from the number, all still open
        kb.press(Qt.Key.Key_F2)
        kb.type_ascii(NUMBER)
        kb.press(Qt.Key.Key_Return)
    kb.press(Qt.Key.Key_F2)
    kb.type_ascii(NUMBER)
    kb.press(Qt.Key.Key_Return)
    intake = w.intake
    qtbot.waitUntil(lambda: intake.caller_history.isVisible() and intake.call_links.isVisible(), timeout=5000)
    for lst in (intake.call_links.list, intake.caller_history.list):
        # (QA: a single duplicate row hidden behind a horizontal scroll bar)
        assert not lst.horizontalScrollBar().isVisible()
        assert lst.viewport().height() >= sum(lst.sizeHintForRow(i) for i in range(min(lst.count(), 6))) - 2
    kb.type_chinese("福州路 西藏中路 口")
    qtbot.waitUntil(lambda: intake.candidates.isVisible() and intake.candidates.count() > 0, timeout=10000)
    # the candidate list is as tall as its rows, not a fixed block
    rows = intake.candidates.count()
    assert intake.candidates.height() <= max(rows, 2) * (intake.candidates.fontMetrics().lineSpacing() + 40) + 8
    kb.press(Qt.Key.Key_F6)  # nothing recommended yet: refused, at the top
    assert intake.error.isVisible() and "推荐" in intake.error.text()
    kb.press(Qt.Key.Key_Return)  # the place
    qtbot.waitUntil(lambda: QApplication.focusWidget() is intake.category, timeout=10000)
    kb.type_ascii("jf")
    kb.press(Qt.Key.Key_Return)  # category confirmed, F5 runs
    qtbot.waitUntil(lambda: bool(intake.checked_units()), timeout=15000)
    assert w.intake_scroll.verticalScrollBar().maximum() > 0  # (the pane is taller than the screen)
    qtbot.waitUntil(lambda: _seen(w, intake.rec_box), timeout=3000)
    assert _seen(w, intake.recommend_btn) and _seen(w, intake.dispatch_btn)
    # a refusal now (the pane scrolled down to the list) comes into view at the top
    QTest.keyClick(intake.rec_tree, Qt.Key.Key_Space)  # the only ticked unit unticked
    kb.press(Qt.Key.Key_F6)
    assert intake.error.isVisible() and "勾选" in intake.error.text()
    qtbot.waitUntil(lambda: _seen(w, intake.error), timeout=3000)
