"""数据导入: the 管理员 loads the centre's own 网格 (GeoJSON), 驻点 (CSV) and 警力名册 (CSV).
Choose what and the file; the preview lists every row with what it would do, the errors
in red with their line numbers and the warnings in amber; 导入 is enabled only when the
file has no error, and a refusal (a role, a file changed since the preview) is shown here.
The services do the work (dispatch.services.data_import): nothing is half-applied."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.services import data_import
from ui.tables import read_only_table
from ui.window_actions import on_key, show_kept, status_button

KINDS = (  # (what, label, file filter)
    ("grids", "网格（GeoJSON）", "GeoJSON (*.geojson *.json)"),
    ("stations", "驻点（CSV）", "CSV (*.csv)"),
    ("roster", "警力名册（CSV）", "CSV (*.csv)"),
)
RED, AMBER = "#f85149", "#d29922"
COLUMNS = ("行", "类别", "编号/呼号", "名称/类型", "说明")
SHORTCUT = "Ctrl+Shift+I"
_PREVIEW = {"grids": data_import.preview_grids, "stations": data_import.preview_stations,
            "roster": data_import.preview_roster}
_APPLY = {"grids": data_import.apply_grids, "stations": data_import.apply_stations,
          "roster": data_import.apply_roster}


class ImportScreen(QDialog):
    """The import dialog over the app's services; `imported(what)` after a successful import."""

    imported = Signal(str)

    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.preview: data_import.Preview | None = None
        self.setWindowTitle("数据导入：网格、驻点、警力名册")
        self.resize(880, 560)
        self.kind = QComboBox()
        for what, label, _ in KINDS:
            self.kind.addItem(label, what)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.path = QLineEdit()
        self.path.setPlaceholderText("选择要导入的文件…")
        self.path.returnPressed.connect(self.refresh)
        choose = QPushButton("选择文件…")
        choose.clicked.connect(self._choose)
        top = QHBoxLayout()
        top.addWidget(QLabel("导入"))
        top.addWidget(self.kind)
        top.addWidget(self.path, 1)
        top.addWidget(choose)
        self.summary = QLabel("选择类型和文件后显示预览；预览不写入任何数据。")
        self.summary.setWordWrap(True)
        self.table = read_only_table(COLUMNS)
        self.table.setColumnWidth(0, 56)
        self.table.setColumnWidth(1, 64)
        self.table.setColumnWidth(2, 140)
        self.table.setColumnWidth(3, 220)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_btn = QPushButton("导入 (Ctrl+Enter)")
        self.import_btn.setEnabled(False)
        self.import_btn.clicked.connect(self.apply)
        close = QPushButton("关闭 (Esc)")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_btn)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.apply)

    @property
    def what(self) -> str:
        return str(self.kind.currentData())

    def load(self, what: str, path: str | Path) -> None:
        """Choose the kind and the file, and preview it."""
        self.kind.setCurrentIndex([k[0] for k in KINDS].index(what))
        self.path.setText(str(path))
        self.refresh()

    def _choose(self) -> None:
        flt = next(f for w, _, f in KINDS if w == self.what)
        name, _ = QFileDialog.getOpenFileName(self, "选择文件", str(Path(self.path.text()).parent), flt)
        if name:
            self.path.setText(name)
            self.refresh()

    def _on_kind_changed(self) -> None:
        if self.path.text().strip():
            self.refresh()

    def refresh(self) -> None:
        """Preview the chosen file (reads only)."""
        self.preview = None
        self.import_btn.setEnabled(False)
        self._say("")
        text = self.path.text().strip()
        if not text:
            return
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.preview = _PREVIEW[self.what](self.app.services.ctx, data_import.check_file(text))
        except DispatchError as exc:
            self._fill(None)
            self._say(str(exc), RED)
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._fill(self.preview)

    def _fill(self, p: data_import.Preview | None) -> None:
        self.table.setRowCount(0)
        if p is None:
            self.summary.setText("无法预览。")
            return
        lines = [(e.line, 0, "错误", "", e.text, RED) for e in p.errors]
        lines += [(w.line, 1, "警告", "", w.text, AMBER) for w in p.warnings]
        body = [(r.line or 10**9, 2, r.action, r.key, r.name if r.name != r.key else "", r.detail) for r in p.rows]
        self.table.setRowCount(len(lines) + len(body))
        k = 0
        for line, _, label, key, text, colour in sorted(lines, key=lambda t: (t[1], t[0])):  # errors first
            self._row(k, line, label, key, "", text, QColor(colour))
            k += 1
        for line, _, action, key, name, detail in sorted(body, key=lambda t: (t[0], t[3])):
            self._row(k, line if line < 10**9 else 0, action, key, name, detail,
                      QColor("#8b949e") if action == data_import.SAME else None)
            k += 1
        changes = any(r.action != data_import.SAME for r in p.rows)
        state = (f"有 {len(p.errors)} 处错误，不能导入：请改正文件后重新预览" if not p.ok
                 else "可以导入" if changes else "与现有数据相同，无需导入")
        self.summary.setText(f"{p.file}：{p.summary()}。{'；'.join(p.notes)}。{state}。")
        self.import_btn.setEnabled(p.ok and changes)

    def _row(self, k: int, line: int, label: str, key: str, name: str, text: str, colour: QColor | None) -> None:
        for col, value in enumerate((str(line) if line else "—", label, key, name, text)):
            item = QTableWidgetItem(value)
            if col == 4 and value:
                item.setToolTip(value)
            if colour is not None:
                item.setForeground(colour)
            self.table.setItem(k, col, item)

    def apply(self) -> None:
        """Import the previewed file; a refusal is shown here and nothing is written."""
        if self.preview is None or not self.preview.ok or not self.import_btn.isEnabled():
            return
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            done = _APPLY[self.what](self.app.services.ctx, data_import.check_file(self.path.text().strip()))
        except DispatchError as exc:
            self._say(str(exc), RED)
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        if done.what == "grids":
            forget_grids(self.app)
        self.import_btn.setEnabled(False)
        self._say(f"已导入：{done.summary()}", "#3fb950")
        self.imported.emit(done.what)

    def _say(self, text: str, colour: str = "") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color:{colour}" if colour else "")


def forget_grids(app: App) -> None:
    """The app's grid index (and the reverse geocoder holding it) are rebuilt at their next
    use, from the imported grids."""
    for name in ("grid_index", "reverse"):
        app.__dict__.pop(name, None)


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """A 数据导入… button in the status bar and Ctrl+Shift+I open the import screen."""
    def open_screen() -> None:
        dlg = ImportScreen(window.app, window)
        dlg.imported.connect(lambda what: window.statusBar().showMessage(
            f"{dict((w, label) for w, label, _ in KINDS)[what]}已导入", 10_000))
        show_kept(window, dlg, "import_screen")

    status_button(window, "数据导入…", f"导入本中心的网格、驻点和警力名册（管理员，{SHORTCUT}）", open_screen)
    on_key(window, SHORTCUT, open_screen)
    window.open_import_screen = open_screen
