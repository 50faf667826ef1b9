"""The console's main window as the UI tests open it: 1920x1080, shown, active."""
from __future__ import annotations

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
