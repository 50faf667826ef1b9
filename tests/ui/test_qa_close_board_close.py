"""QA pass on 结警 (F8): a note longer than the service takes keeps the dialog open with
the error inside it and the chosen result and the note kept (the limit is the service's
own, dispatch.domain.decide.MAX_NARRATIVE); F8 with no incident in hand says so in red at
the top of the intake (and in the status bar), never a silent key."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from dispatch.domain.decide import MAX_NARRATIVE
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.services import queries
from tests.ui.window_support import open_window
from ui.close_dialog import NOTHING_IN_HAND, CloseDialog

CTRL = Qt.KeyboardModifier.ControlModifier


def _visible_dialog() -> CloseDialog | None:
    return next((x for x in QApplication.topLevelWidgets() if isinstance(x, CloseDialog) and x.isVisible()), None)


def _incident(app, iid):
    with app.session() as s:
        return queries.incident(s, iid)


def _in_dialog(qtbot, steps) -> dict:  # noqa: ANN001
    """Run `steps(dialog, seen)` in the 结警 dialog once F8 opened it; the dialog is never
    left open (a failed step must not hang the modal dialog)."""
    seen: dict = {}

    def run() -> None:
        dlg = _visible_dialog()
        seen["dialog"] = dlg is not None
        if dlg is None:
            return
        try:
            dlg.activateWindow()
            qtbot.waitUntil(dlg.isActiveWindow, timeout=3000)
            steps(dlg, seen)
        finally:
            if dlg.isVisible():
                dlg.reject()
    QTimer.singleShot(300, run)
    return seen


def test_a_note_over_the_limit_keeps_the_dialog_open_with_the_result_and_the_note(qtbot, app):
    w = open_window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    pasted = "现场已处置完毕。" * (MAX_NARRATIVE // 8) + "多余两字"   # MAX_NARRATIVE + 4
    with pytest.raises(DispatchError) as refused:      # what the service says of such a note
        app.services.close(iid, "invalid", pasted)
    said = str(refused.value)
    assert str(MAX_NARRATIVE) in said

    def steps(dlg: CloseDialog, seen: dict) -> None:
        dlg.result_code.setCurrentIndex(dlg.result_code.findData("invalid"))
        dlg.note.setFocus()
        dlg.note.insertPlainText(pasted)                  # a paste
        seen["on_paste"] = dlg.error.text()
        qtbot.keyClick(dlg, Qt.Key.Key_Return, CTRL)
        seen["open"] = dlg.isVisible()
        seen["error"] = dlg.error.text()
        seen["error_shown"] = dlg.error.isVisible()
        seen["code"] = dlg.result_code.currentData()
        seen["note"] = dlg.note.toPlainText()
        seen["note_focused"] = dlg.note.hasFocus()
        seen["intake_error"] = w.intake.error.text()
        seen["status"] = _incident(app, iid).status
        dlg.result_code.setCurrentIndex(dlg.result_code.findData("advised"))   # another result
        seen["after_other_result"] = dlg.error.text()
        dlg.note.moveCursor(QTextCursor.MoveOperation.End)
        for _ in range(len(pasted) - MAX_NARRATIVE):     # cut what is over
            qtbot.keyClick(dlg.note, Qt.Key.Key_Backspace)
        seen["after_cut"] = dlg.error.text()
        qtbot.keyClick(dlg, Qt.Key.Key_Return, CTRL)
        seen["open_after_cut"] = dlg.isVisible()
    seen = _in_dialog(qtbot, steps)
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F8)

    assert seen["dialog"]
    assert seen["on_paste"].startswith(said)            # said as it is pasted, in the service's words
    assert seen["open"] and seen["error_shown"]         # Ctrl+Enter: the dialog stays, the error inside
    assert seen["error"].startswith(said) and f"现有 {len(pasted)} 字" in seen["error"]
    assert seen["code"] == "invalid" and seen["note"] == pasted and seen["note_focused"]
    assert seen["intake_error"] == ""                   # not thrown out to the intake
    assert seen["status"] is IncidentStatus.PENDING
    assert seen["after_other_result"] == seen["error"]  # choosing a result does not hide it
    assert seen["after_cut"] == "" and not seen["open_after_cut"]
    qtbot.waitUntil(lambda: _incident(app, iid).status is IncidentStatus.CLOSED, timeout=3000)
    closed = _incident(app, iid)
    assert closed.result_code == "advised" and closed.close_note == pasted[:MAX_NARRATIVE]


def test_the_dialog_checks_the_note_as_the_service_does(qtbot, app):
    """Invisible characters the service strips do not count; the missing result is still
    said first and goes once chosen, the note's message staying."""
    iid = app.services.open_call("13900000051").incident_id
    dlg = CloseDialog(_incident(app, iid))
    qtbot.addWidget(dlg)
    dlg.show()
    note = "甲" * MAX_NARRATIVE + "\u200b\u200b"        # at the limit once cleaned
    dlg.note.setPlainText(note)
    assert dlg.error.text() == ""
    dlg.accept()
    assert dlg.isVisible() and dlg.error.text() == "请选择处理结果"
    dlg.note.setPlainText(note + "乙")
    assert dlg.error.text().startswith(f"结警说明过长（最多 {MAX_NARRATIVE} 字）")
    dlg.result_code.setCurrentIndex(dlg.result_code.findData("invalid"))
    assert dlg.error.text().startswith("结警说明过长")
    dlg.accept()
    assert dlg.isVisible() and dlg.values() == ("invalid", note + "乙")
    dlg.note.setPlainText(note)
    assert dlg.error.text() == ""
    dlg.accept()
    assert dlg.result() == CloseDialog.DialogCode.Accepted
    app.services.close(iid, *dlg.values())               # what the dialog let through, the service takes
    assert _incident(app, iid).status is IncidentStatus.CLOSED


def _no_close_dialog_opens(qtbot) -> dict:  # noqa: ANN001
    seen: dict = {}

    def check() -> None:
        dlg = _visible_dialog()
        seen["dialog"] = dlg is not None
        if dlg is not None:
            dlg.reject()
    QTimer.singleShot(200, check)
    return seen


def test_f8_after_a_close_says_there_is_no_incident_in_hand(qtbot, app):
    w = open_window(qtbot, app)
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)
    iid = w.intake.incident_id
    assert w.do_close(iid, "invalid", "")
    assert w.intake.incident_id is None
    seen = _no_close_dialog_opens(qtbot)
    w.intake.number.setFocus()
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F8)
    qtbot.wait(300)
    assert not seen["dialog"]
    text = w.intake.error.text()
    assert text.startswith(NOTHING_IN_HAND) and f"警情 {iid} 已结警" in text
    assert w.intake.error.isVisible()                   # in red where the eyes are
    assert w.statusBar().currentMessage() == text
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F2)      # a new call: the message goes
    assert w.intake.error.text() == ""


def test_f8_on_a_fresh_seat_says_there_is_no_incident_in_hand(qtbot, app):
    w = open_window(qtbot, app)
    seen = _no_close_dialog_opens(qtbot)
    w.intake.number.setFocus()
    qtbot.keyClick(w.intake.number, Qt.Key.Key_F8)
    qtbot.wait(300)
    assert not seen["dialog"]
    assert w.intake.error.isVisible() and w.intake.error.text().startswith(NOTHING_IN_HAND)
