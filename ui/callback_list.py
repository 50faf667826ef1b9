"""回访 list (Ctrl+H): closed incidents due a callback to the caller, oldest first, the
overdue ones in red; record the callback (满意/不满意 and a note) for the selected one.

Keys: ↑↓ in the list, Tab to 满意度 and 回访记录, Ctrl+Enter records, Esc closes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services import callbacks
from ui.fmt import local_time
from ui.tables import read_only_table
from ui.window_actions import attempt, on_key, show_kept

if TYPE_CHECKING:
    from dispatch.bootstrap import App

COLUMNS = ("警情", "结警时间", "来电号码", "报警人", "类别", "结果", "地点", "状态")


class CallbackList(QDialog):
    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("回访 — 待回访警情")
        self.due: list[callbacks.DueCallback] = []
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.table = read_only_table(COLUMNS)
        self.satisfied = QComboBox()
        self.satisfied.setPlaceholderText("— 请选择 —")  # (no default: a callback is what the caller said)
        self.satisfied.addItem("满意", True)
        self.satisfied.addItem("不满意", False)
        self.satisfied.setCurrentIndex(-1)
        self.note = QLineEdit()
        self.note.setPlaceholderText("回访记录（群众意见）")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color:#ff7b72")
        record = QPushButton("记录回访 (Ctrl+Enter)")
        record.clicked.connect(self.record)
        close_btn = QPushButton("关闭 (Esc)")
        close_btn.clicked.connect(self.reject)
        for b in (record, close_btn):
            b.setAutoDefault(False)
        form = QFormLayout()
        form.addRow("满意度", self.satisfied)
        form.addRow("回访记录", self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(record)
        buttons.addWidget(close_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.record)
        self.resize(980, 520)
        self.refresh()
        self.table.setFocus()

    def refresh(self) -> None:
        with self.app.session() as s:
            self.due = callbacks.due(s, self.app.clock.now())
        overdue = sum(d.overdue for d in self.due)
        self.summary.setText(f"待回访 {len(self.due)} 起，其中超期 {overdue} 起"
                             f"（结警 {callbacks.DUE_AFTER_H:g} 小时后回访，{callbacks.OVERDUE_AFTER_H:g} 小时未回访为超期）")
        self.table.setRowCount(len(self.due))
        for row, d in enumerate(self.due):
            cat = CATEGORY_BY_CODE[d.category].label if d.category in CATEGORY_BY_CODE else "未定性"
            cells = (str(d.incident_id), local_time(d.closed_at, with_date=True), d.caller_number,
                     d.caller_name, cat, d.result_label, d.place_name or "未定位", "超期" if d.overdue else "待回访")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if d.overdue:
                    item.setForeground(QBrush(QColor("#ff7b72")))
                self.table.setItem(row, col, item)
        if self.due:
            self.table.selectRow(0)
        self.table.resizeColumnsToContents()

    def record(self) -> bool:
        """Record the callback of the selected incident; it leaves the list."""
        row = self.table.currentRow()
        if not 0 <= row < len(self.due):
            self.error.setText("请先在列表中选择要回访的警情")
            return False
        if self.satisfied.currentIndex() < 0:  # chosen for each callback, never carried to the next
            self.error.setText(f"请先选择警情 {self.due[row].incident_id} 回访的满意度（满意 / 不满意）")
            self.satisfied.setFocus()
            return False
        iid, satisfied = self.due[row].incident_id, bool(self.satisfied.currentData())
        if not attempt(self, self.error, self.app.services.callback, iid, satisfied, self.note.text()):
            return False
        self.note.clear()
        self.satisfied.setCurrentIndex(-1)
        self.refresh()
        self.error.setText("")
        self.summary.setText(f"已记录警情 {iid} 的回访（{'满意' if satisfied else '不满意'}）；{self.summary.text()}")
        self.table.setFocus()
        return True


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+H opens the callback list."""
    window.open_callback_list = lambda: show_kept(window, CallbackList(window.app, window), "callback_list")
    on_key(window, "Ctrl+H", window.open_callback_list)
