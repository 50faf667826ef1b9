"""The console's main window as the UI tests open it: 1920x1080, shown, active."""
from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

from ui.intake import Intake
from ui.main_window import MainWindow


W = TypeVar("W", bound=QWidget)


def shown(qtbot, widget: W, active: bool = True) -> W:  # noqa: ANN001 (pytest-qt's qtbot)
    """`widget` owned by the test, shown, exposed and (`active`) the active window."""
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    if active:
        widget.activateWindow()
        qtbot.waitUntil(widget.isActiveWindow, timeout=3000)
    return widget


def open_window(qtbot, app, active: bool = True) -> MainWindow:  # noqa: ANN001
    w = MainWindow(app)
    w.resize(1920, 1080)
    return shown(qtbot, w, active)


def open_intake(qtbot, app) -> Intake:  # noqa: ANN001
    """The intake alone, shown and active (tests of the call-taker's pane)."""
    return shown(qtbot, Intake(app))


def visible_confirm():  # noqa: ANN201
    """The confirmation dialog (ui.confirm) on screen, or None."""
    from PySide6.QtWidgets import QApplication, QMessageBox
    return next((x for x in QApplication.topLevelWidgets()
                 if isinstance(x, QMessageBox) and x.objectName() == "confirm" and x.isVisible()), None)


class Answers(list):
    """The texts of the confirmations answered (`defaults`: their default buttons' texts);
    `stop()` ends the watch (a step that asked nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.defaults: list[str] = []
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def answer_confirm(qtbot, accept: bool = True, key=None, mod=None) -> Answers:  # noqa: ANN001
    """Answer the next confirmation dialog (ui.confirm) as the call-taker would: Ctrl+Enter
    to go ahead, Esc to cancel (or `key` with `mod`), whenever it comes (a cold start names
    a map point slowly). The watch ends with the test (its widget is the test's) or at
    `stop()`, so a dialog that never comes presses nothing.

    A key reaches a dialog's shortcut only once the dialog is the active window, which on a
    loaded machine can come after the dialog is shown: the key is pressed again (the dialog
    activated first) until the dialog closes. If keys do not close it within 10 s the
    button is clicked — so the run never hangs on a modal dialog — and the test fails."""
    import time

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QMessageBox, QWidget
    from shiboken6 import isValid

    if key is None:
        key, mod = (Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier) if accept else (Qt.Key.Key_Escape, None)
    mod = mod if mod is not None else Qt.KeyboardModifier.NoModifier
    answered = Answers()
    owner = QWidget()
    qtbot.addWidget(owner)
    state: dict = {"box": None, "since": 0.0}

    def answer() -> None:
        box = state["box"]
        if box is None:
            box = None if answered.stopped else visible_confirm()
            if box is None:
                if not answered.stopped:
                    QTimer.singleShot(50, owner, answer)
                return
            state["box"], state["since"] = box, time.monotonic()
            answered.append(box.text())
            answered.defaults.append(box.defaultButton().text())
        elif not isValid(box) or not box.isVisible():
            return  # answered (a dialog of a closed panel is deleted with it)
        if time.monotonic() - state["since"] > 10:
            role = QMessageBox.ButtonRole.AcceptRole if accept else QMessageBox.ButtonRole.RejectRole
            next(b for b in box.buttons() if box.buttonRole(b) == role).click()
            raise AssertionError(f"the keys did not answer the confirmation: {box.text()!r}")
        box.activateWindow()
        qtbot.keyClick(box, key, mod)
        QTimer.singleShot(200, owner, answer)
    QTimer.singleShot(50, owner, answer)
    return answered
