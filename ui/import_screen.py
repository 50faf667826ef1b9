"""数据导入: the 管理员 loads the centre's own 网格 (GeoJSON), 驻点 (CSV), 警力名册 (CSV) and
a whole city's OpenStreetMap extract (.osm / .osm.pbf: the road network and the gazetteer's
streets, squares and POIs). Choose what and the file; the preview lists every row with what
it would do (for a city: the counts, and the problems by element), the errors in red and the
warnings in amber; 导入 is enabled only when the file has no error, and a refusal (a role, a
file changed since the preview) is shown here. Every preview and import runs off the GUI
thread (ui.workers) with a busy bar and its progress; the window stays responsive. The
services do the work (dispatch.services.data_import, city_import): nothing is half-applied."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
if TYPE_CHECKING:  # the import services load at the dialog's first use, not at window start
    from dispatch.services import data_import
    from dispatch.services.city_import import CityPreview
from ui.tables import read_only_table
from ui.window_actions import on_key, show_kept, status_button
from ui.workers import run_in_background

KINDS = (  # (what, label, file filter)
    ("grids", "网格（GeoJSON）", "GeoJSON (*.geojson *.json)"),
    ("stations", "驻点（CSV）", "CSV (*.csv)"),
    ("roster", "警力名册（CSV）", "CSV (*.csv)"),
    ("city", "城市路网（OSM / PBF）", "OpenStreetMap (*.osm *.pbf *.osm.pbf)"),
)
RED, AMBER = "#f85149", "#d29922"
COLUMNS = ("行", "类别", "编号/呼号", "名称/类型", "说明")
SHORTCUT = "Ctrl+Shift+I"


def _services() -> tuple[Any, Any]:
    """(data_import, city_import), loaded when the dialog first works (start-up stays lean)."""
    from dispatch.services import city_import, data_import
    return data_import, city_import


def _table_actions(what: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(preview, apply) of the grids, stations or roster import."""
    from dispatch.services import data_import as d
    return {"grids": (d.preview_grids, d.apply_grids), "stations": (d.preview_stations, d.apply_stations),
            "roster": (d.preview_roster, d.apply_roster)}[what]


def _is_city(preview: object) -> bool:
    from dispatch.services.city_import import CityPreview
    return isinstance(preview, CityPreview)


class _Progress(QObject):
    """Progress words from the worker thread, delivered queued to the dialog."""

    said = Signal(str)


class ImportScreen(QDialog):
    """The import dialog over the app's services; `imported(what)` after a successful import."""

    imported = Signal(str)

    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.preview: data_import.Preview | CityPreview | None = None
        self._job = 0  # the latest preview or import; an older one's result is dropped
        self._running = False
        self._progress = _Progress()
        self._progress.said.connect(self._on_progress)
        self.setWindowTitle("数据导入：网格、驻点、警力名册、城市路网")
        self.resize(880, 560)
        self.kind = QComboBox()
        for what, label, _ in KINDS:
            self.kind.addItem(label, what)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.path = QLineEdit()
        self.path.setPlaceholderText("选择要导入的文件…")
        self.path.returnPressed.connect(self.refresh)
        self.choose = QPushButton("选择文件…")
        self.choose.clicked.connect(self._choose)
        top = QHBoxLayout()
        top.addWidget(QLabel("导入"))
        top.addWidget(self.kind)
        top.addWidget(self.path, 1)
        top.addWidget(self.choose)
        self.admin = QLineEdit()
        self.admin.setPlaceholderText("城市路网地名的行政区划，如 上海市；空：沿用地名库中现有 OSM 地名的")
        self.admin.returnPressed.connect(self.refresh)
        self.admin_row = QWidget()
        row = QHBoxLayout(self.admin_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("行政区划"))
        row.addWidget(self.admin, 1)
        self.admin_row.hide()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy, no percentage
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.summary = QLabel("选择类型和文件后显示预览；预览不写入任何数据。")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.summary.setWordWrap(True)
        self.table = read_only_table(COLUMNS)
        self.table.setColumnWidth(0, 56)
        self.table.setColumnWidth(1, 64)
        self.table.setColumnWidth(2, 140)
        self.table.setColumnWidth(3, 220)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
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
        lay.addWidget(self.admin_row)
        lay.addWidget(self.summary)
        lay.addWidget(self.busy_bar)
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
        self.kind.blockSignals(True)  # one preview, of this file as this kind
        self.kind.setCurrentIndex([k[0] for k in KINDS].index(what))
        self.kind.blockSignals(False)
        self.admin_row.setVisible(what == "city")
        self.path.setText(str(path))
        self.refresh()

    def _choose(self) -> None:
        flt = next(f for w, _, f in KINDS if w == self.what)
        name, _ = QFileDialog.getOpenFileName(self, "选择文件", str(Path(self.path.text()).parent), flt)
        if name:
            self.path.setText(name)
            self.refresh()

    def _on_kind_changed(self) -> None:
        self.admin_row.setVisible(self.what == "city")
        if self.path.text().strip():
            self.refresh()

    @property
    def busy(self) -> bool:
        """A preview or an import is running in the background."""
        return self._running

    def _admin_path(self) -> list[str] | None:
        words = [w for w in re.split(r"[,，/、\s]+", self.admin.text()) if w]
        return words or None

    def refresh(self) -> None:
        """Preview the chosen file in the background (reads only)."""
        if self._running:
            return
        self.preview = None
        self.import_btn.setEnabled(False)
        self._say("")
        text = self.path.text().strip()
        if not text:
            return
        data_import, city_import = _services()
        try:
            path = data_import.check_file(text)
        except DispatchError as exc:
            self._fill(None)
            self._say(str(exc), RED)
            return
        what, ctx = self.what, self.app.services.ctx
        if what == "city":
            admin, say = self._admin_path(), self._progress.said.emit
            self._start("正在预览（不写入）…", lambda: city_import.preview_city(ctx, path, admin, progress=say),
                        self._on_previewed, "无法预览")
        else:
            self._start("正在预览（不写入）…", lambda: _table_actions(what)[0](ctx, path), self._on_previewed, "无法预览")

    def _start(self, text: str, fn: Callable[[], Any], on_done: Callable[[Any], None], failed: str) -> None:
        """Run fn on the thread pool; on_done(result) on the GUI thread, or the error after `failed`."""
        self._job += 1
        job = self._job
        self._set_busy(True, text)
        run_in_background(fn, lambda result: self._finish(job, on_done, result),
                          lambda exc: self._failed(job, exc, failed))

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._running = busy
        for w in (self.kind, self.path, self.choose, self.admin):
            w.setEnabled(not busy)
        self.busy_bar.setVisible(busy)
        if busy:
            self.import_btn.setEnabled(False)
            self.summary.setText(text)

    def _on_progress(self, text: str) -> None:
        if self._running:
            self.summary.setText(text)

    def _finish(self, job: int, on_done: Callable[[Any], None], result: Any) -> None:
        if job != self._job:
            return
        self._set_busy(False)
        on_done(result)

    def _failed(self, job: int, exc: Exception, failed: str) -> None:
        if job != self._job:
            return
        self._set_busy(False)
        if _is_city(self.preview):
            self._fill_city(self.preview)  # the preview still holds: the import may be tried again
        else:
            self._fill(self.preview)
        self._say(f"{failed}：{exc}", RED)

    def _on_previewed(self, p: data_import.Preview | CityPreview) -> None:
        self.preview = p
        if _is_city(p):
            if not self.admin.text().strip():
                self.admin.setText("/".join(p.admin))
            self._fill_city(p)
        else:
            self._fill(p)

    def _fill(self, p: data_import.Preview | None) -> None:
        self.table.setRowCount(0)
        if p is None:
            self.summary.setText("无法预览。")
            return
        from dispatch.services.data_import import SAME
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
                      QColor("#8b949e") if action == SAME else None)
            k += 1
        changes = any(r.action != SAME for r in p.rows)
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
        """Import the previewed file in the background; a refusal is shown here and nothing is written."""
        if self._running or self.preview is None or not self.preview.ok or not self.import_btn.isEnabled():
            return
        data_import, city_import = _services()
        try:
            path = data_import.check_file(self.path.text().strip())
        except DispatchError as exc:
            self._say(str(exc), RED)
            return
        what, ctx = self.what, self.app.services.ctx
        self._say("")
        if what == "city":
            admin, say, cache = self._admin_path(), self._progress.said.emit, self.app.settings.cache_dir
            self._start("正在导入城市路网…", lambda: city_import.apply_city(ctx, path, cache, admin, progress=say),
                        self._on_applied, "未导入，没有写入任何数据")
        else:
            self._start("正在导入…", lambda: _table_actions(what)[1](ctx, path), self._on_applied, "未导入，没有写入任何数据")

    def _on_applied(self, done: data_import.Preview | CityPreview) -> None:
        if _is_city(done):
            self.app.forget_roads()
            what = "city"
            self._fill_city(done)
            text = f"已导入：{done.summary()}；替换原有 OSM 地名 {done.replaced_places:,} 个。各席位的地图与路径计算随即使用新路网"
        else:
            if done.what == "grids":
                self.app.forget_grids()
            what = done.what
            text = f"已导入：{done.summary()}"
        self.import_btn.setEnabled(False)
        self._say(text, "#3fb950")
        self.imported.emit(what)

    def _fill_city(self, p: CityPreview) -> None:
        """The counts, then the errors (red) and warnings (amber) by element."""
        from dispatch.services.city_import import COUNT_LABELS
        rows = [("错误", e.element, e.text, QColor(RED)) for e in p.errors]
        rows += [("警告", w.element, w.text, QColor(AMBER)) for w in p.warnings]
        rows += [("统计", COUNT_LABELS[k], f"{v:,}", None) for k, v in p.counts.items()]
        self.table.setRowCount(len(rows))
        for k, (label, key, text, colour) in enumerate(rows):
            self._row(k, 0, label, key, "", text, colour)
        more = [f"另有 {n - len(listed)} 处{word}未列出" for n, listed, word in
                ((p.error_total, p.errors, "错误"), (p.warning_total, p.warnings, "警告")) if n > len(listed)]
        state = ("已导入" if p.applied else f"有 {p.error_total} 处错误，不能导入：请改正文件后重新预览" if not p.ok
                 else "可以导入：将替换现有路网和地名库中的 OSM 地名")
        self.summary.setText(f"{p.file}（{p.format}，行政区划 {'/'.join(p.admin) or '无'}）：{p.summary()}；"
                             f"{p.bounds_text()}。{'；'.join(more)}{'。' if more else ''}{state}。")
        self.import_btn.setEnabled(p.ok and not p.applied)

    def _say(self, text: str, colour: str = "") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color:{colour}" if colour else "")


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """A 数据导入… button in the status bar and Ctrl+Shift+I open the import screen."""
    def open_screen() -> None:
        dlg = ImportScreen(window.app, window)
        dlg.imported.connect(lambda what: window.statusBar().showMessage(
            f"{dict((w, label) for w, label, _ in KINDS)[what]}已导入", 10_000))
        show_kept(window, dlg, "import_screen")

    status_button(window, "数据导入…", f"导入本中心的网格、驻点、警力名册和城市路网（管理员，{SHORTCUT}）", open_screen)
    on_key(window, SHORTCUT, open_screen)
    window.open_import_screen = open_screen
