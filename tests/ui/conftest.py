# QtWebEngine must be imported before the QApplication exists (pytest-qt makes it lazily).
import PySide6.QtWebEngineWidgets  # noqa: F401
