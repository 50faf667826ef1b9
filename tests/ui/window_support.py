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
