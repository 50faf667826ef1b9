"""QA (real window): the red message line at the top of the intake. Its room is kept
whether it says something or not, so nothing below it moves when a refusal appears or
goes (a click aimed at 号码 landed in 姓名); a message made of pasted text shows its line
breaks and tabs as single spaces, and a very long one is cut to the reserved lines with
an ellipsis, the whole of it in the tooltip and the status bar."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui.window_support import open_intake, open_window

LONG = "该警情的类别已被 席位02（demo-dispatcher）于 12:00:31 修改，现为「报警·火灾·紧急」；您的修改未保存。" * 12


def _where(widget) -> tuple:  # noqa: ANN001
    """The widget's place and size in its top-level window."""
    top = widget.mapTo(widget.window(), QPoint(0, 0))
    return top.x(), top.y(), widget.width(), widget.height()


def _settle(qtbot) -> None:  # noqa: ANN001
    QApplication.processEvents()
    qtbot.wait(30)  # (layout requests are posted)


def test_nothing_in_the_intake_moves_when_a_message_comes_or_goes(qtbot, app):
    w = open_window(qtbot, app)
    intake = w.intake
    intake.new_call("13800000001", "")
    _settle(qtbot)
    watched = (intake.number, intake.name, intake.place, intake.category, intake.rec_tree, intake.dispatch_btn)
    before = [_where(x) for x in watched]
    assert not intake.error.isVisible()

    intake.show_error("请先推荐警力 (F5)")
    _settle(qtbot)
    assert intake.error.isVisible()
    assert [_where(x) for x in watched] == before
    intake.show_error(LONG)  # many lines' worth: still the same room
    _settle(qtbot)
    assert [_where(x) for x in watched] == before
    intake.clear_error()
    _settle(qtbot)
    assert not intake.error.isVisible() and [_where(x) for x in watched] == before


def test_a_click_aimed_at_the_number_after_a_refusal_lands_in_the_number(qtbot, app):
    """The QA's case: the call-taker aims at 号码, a refusal comes up meanwhile (F6 with
    nothing recommended), the click lands where he aimed."""
    w = open_window(qtbot, app)
    intake = w.intake
    intake.new_call("13800000001", "")
    _settle(qtbot)
    aim = intake.number.mapTo(w, intake.number.rect().center())
    intake.name.setFocus()
    QTest.keyClick(intake.name, Qt.Key.Key_F6)  # refused: 请先推荐警力 (F5)
    _settle(qtbot)
    assert intake.error.isVisible() and "F5" in intake.error.text()
    target = w.childAt(aim)
    assert target is not None
    QTest.mouseClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target.mapFrom(w, aim))
    assert QApplication.focusWidget() is intake.number


def test_pasted_line_breaks_and_tabs_show_as_single_spaces(qtbot, app):
    intake = open_intake(qtbot, app)
    said = []
    intake.message.connect(said.append)
    intake.show_error("没有找到该地点：“福州路\r\n\n西藏中路\t\t口 ”\x0b请换一种说法\u2028")
    assert intake.error.text() == "没有找到该地点：“福州路 西藏中路 口 ” 请换一种说法"
    assert said[-1] == intake.error.text()  # the status bar gets the same one line


def test_a_very_long_message_is_cut_to_what_fits_with_the_whole_in_the_tooltip(qtbot, app):
    intake = open_intake(qtbot, app)
    intake.resize(480, intake.height())
    _settle(qtbot)
    intake.show_error(LONG)
    _settle(qtbot)
    lines = intake.error.shown_lines()
    assert 1 <= len(lines) <= intake.error.lines
    assert lines[-1].endswith("…")
    width = intake.error.contentsRect().width()
    assert all(intake.error.fontMetrics().horizontalAdvance(x) <= width for x in lines)
    assert "".join(lines).startswith("该警情的类别已被 席位02")
    assert "您的修改未保存" in intake.error.toolTip() and intake.error.text() == LONG
    # a short one is shown whole, and says nothing more in a tooltip
    intake.show_error("请先推荐警力 (F5)")
    _settle(qtbot)
    assert intake.error.shown_lines() == ["请先推荐警力 (F5)"] and intake.error.toolTip() == ""
    intake.error.grab().save("/tmp/intake-qa-error-line.png")
