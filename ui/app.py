"""Start the console: QApplication, theme, bootstrap, main window."""
from __future__ import annotations

import os
import sys

from dispatch.settings import Settings


def run_gui(settings: Settings) -> int:
    if os.geteuid() == 0 if hasattr(os, "geteuid") else False:
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags:  # Chromium refuses to run sandboxed as root
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (flags + " --no-sandbox").strip()
    import PySide6.QtWebEngineWidgets  # noqa: F401  (must precede the QApplication)
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    from dispatch.bootstrap import bootstrap
    from dispatch.domain.errors import DispatchError
    from ui.theme import apply_theme
    from ui.workers import run_in_background

    qt_app = QApplication.instance() or QApplication(sys.argv)
    qt_app.setApplicationName("110 接处警调度台")
    apply_theme(qt_app)
    try:
        app = bootstrap(settings)
    except DispatchError as exc:
        QMessageBox.critical(None, "无法启动", str(exc))
        return 2
    from ui.main_window import MainWindow
    window = MainWindow(app)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.resize(1920, 1080)
    window.showMaximized()
    # warm the indexes so the first search and recommendation are instant
    run_in_background(lambda: (app.geocoder, app.roads), lambda _r: window.statusBar().showMessage("地名库和路网已就绪", 4000),
                      lambda exc: window.statusBar().showMessage(f"加载失败：{exc}"))
    return qt_app.exec()
