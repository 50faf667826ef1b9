"""加载全国行政区划: a new centre's console loads the national register (shipped with the
program) into its gazetteer, in the background with progress shown, then rebuilds the
geocoder's index. A 管理员's action; anyone may see whether it is loaded."""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from dispatch.bootstrap import App
from ui.window_actions import show_kept, status_button
from dispatch.domain.errors import DispatchError


class _Relay(QObject):
    progress = Signal(int, int)
    loaded = Signal(int)
    indexed = Signal(float)
    failed = Signal(str)


class RegisterLoader(QDialog):
    """Shows whether the register is loaded; 加载 runs the import and the index rebuild
    off the GUI thread. `finished_loading(n)` once the geocoder knows the new places."""

    finished_loading = Signal(int)

    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("地名库：全国行政区划")
        self.setMinimumWidth(520)
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.state.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.bar.hide()
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.load_btn = QPushButton("加载全国行政区划")
        self.load_btn.setDefault(True)
        self.load_btn.clicked.connect(self.start)
        close = QPushButton("关闭 (Esc)")
        close.clicked.connect(self.reject)
        lay = QVBoxLayout(self)
        for w in (self.state, self.bar, self.message, self.load_btn, close):
            lay.addWidget(w)
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._relay.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._relay.indexed.connect(self._on_indexed, Qt.ConnectionType.QueuedConnection)
        self._relay.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._worker: threading.Thread | None = None
        self._loaded = 0
        self._show_state()

    def _show_state(self) -> None:
        n = self.app.services.national_register_count()
        if n:
            self.state.setText(f"全国行政区划已加载：{n:,} 个地点（省、市、区县、乡镇街道、村社区）。")
            self.load_btn.setEnabled(False)
        else:
            self.state.setText("地名库尚未加载全国行政区划：只能查到本地数据中的地点。\n"
                               "加载约需一两分钟，期间可以继续接警。")

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self) -> None:
        if self.busy:
            return
        self.load_btn.setEnabled(False)
        self.bar.show()
        self.message.setText("正在读取全国行政区划…")
        self._worker = threading.Thread(target=self._run, name="national-register", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        relay = self._relay
        try:
            n = self.app.services.load_national_register(lambda done, total: relay.progress.emit(done, total))
            relay.loaded.emit(n)
            t0 = time.perf_counter()
            self.app.reload_geocoder()
            _ = self.app.geocoder  # rebuilt here, off the GUI thread
            relay.indexed.emit(time.perf_counter() - t0)
        except DispatchError as exc:
            relay.failed.emit(str(exc))
        except Exception as exc:  # shown, never a traceback in the call-taker's face
            relay.failed.emit(f"加载失败：{exc}")

    def _on_progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(100 * done / max(total, 1)))
        self.message.setText(f"正在导入：{done:,} / {total:,}")

    def _on_loaded(self, n: int) -> None:
        self._loaded = n
        self.bar.setValue(100)
        self.message.setText(f"已导入 {n:,} 个地点，正在重建地名索引…")

    def _on_indexed(self, seconds: float) -> None:
        self.message.setText(f"已导入 {self._loaded:,} 个地点；地名索引已重建（{seconds:.0f} 秒），现在可以查到全国地名。")
        self._show_state()
        self.finished_loading.emit(self._loaded)

    def _on_failed(self, text: str) -> None:
        self.bar.hide()
        self.message.setText(text)
        self.message.setStyleSheet("color:#f85149")
        self._show_state()
        if not self.app.services.national_register_count():
            self.load_btn.setEnabled(True)


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """A 地名库 button in the status bar opens the loader; once loaded, the intake's
    geocoder is the rebuilt one (App.geocoder)."""
    def open_loader() -> None:
        dlg = RegisterLoader(window.app, window)
        dlg.finished_loading.connect(lambda n: window.statusBar().showMessage(
            f"全国行政区划已加载（{n:,} 个地点）", 10_000))
        show_kept(window, dlg, "register_loader")

    status_button(window, "地名库…", "查看或加载全国行政区划（管理员）", open_loader)
    window.open_register_loader = open_loader
