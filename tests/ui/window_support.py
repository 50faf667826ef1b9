"""The console's main window as the UI tests open it: 1920x1080, shown, active."""
from __future__ import annotations

from ui.intake import Intake
from ui.main_window import MainWindow


def open_window(qtbot, app, active: bool = True) -> MainWindow:  # noqa: ANN001 (pytest-qt's qtbot)
    w = MainWindow(app)
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    if active:
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    return w


def open_intake(qtbot, app) -> Intake:  # noqa: ANN001
    """The intake alone, shown and active (tests of the call-taker's pane)."""
    intake = Intake(app)
    qtbot.addWidget(intake)
    intake.show()
    qtbot.waitExposed(intake)
    intake.activateWindow()
    qtbot.waitUntil(intake.isActiveWindow, timeout=3000)
    return intake


def answer_confirm(qtbot, accept: bool = True) -> list:  # noqa: ANN001
    """Answer the next confirmation dialog (ui.confirm) as the call-taker would: Ctrl+Enter
    to go ahead, Esc to cancel, whenever it comes (a cold start names a map point slowly).
    Returns the list that receives the dialog's text. The watch ends with the test (its
    widget is the test's), so a dialog that never comes presses nothing."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

    answered: list = []
    owner = QWidget()
    qtbot.addWidget(owner)

    def answer() -> None:
        box = next((b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox) and b.isVisible()), None)
        if box is None:
            QTimer.singleShot(50, owner, answer)
            return
        answered.append(box.text())
        if accept:
            qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        else:
            qtbot.keyClick(box, Qt.Key.Key_Escape)
    QTimer.singleShot(50, owner, answer)
    return answered
