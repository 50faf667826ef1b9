"""矛盾纠纷 referrals due for follow-up: overdue ones (red) and those due today, or every
waiting one; select a row, pick the outcome, type what the mediator said, 登记回访.

Keys: ↑↓ in the list, Tab to 结果 → 回访情况, Ctrl+Enter 登记回访, Ctrl+Shift+A toggles
"全部待回访", Esc closes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from dispatch.services import referrals as rf
from ui.fmt import local_time
from ui.tables import read_only_table
from ui.window_actions import attempt, on_key, show_kept

if TYPE_CHECKING:
    from dispatch.bootstrap import App

COLUMNS = ("警情", "移交对象", "对接人", "回访日期", "移交时间", "状态", "备注")
RED = QColor("#ff7b72")
AMBER = QColor("#d29922")


class ReferralList(QDialog):
    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.tz = getattr(app.settings, "tz", "Asia/Shanghai")
        self.setWindowTitle("纠纷移交回访")
        self.rows: list[rf.Referral] = []
        self.table = read_only_table(COLUMNS)
        self.show_all = QCheckBox("全部待回访 (Ctrl+Shift+A)")
        self.show_all.toggled.connect(self.refresh)
        self.outcome = QComboBox()
        self.outcome.addItems(rf.OUTCOMES)
        self.note = QLineEdit()
        self.note.setPlaceholderText("回访情况")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.error.setObjectName("error")
        self.error.setStyleSheet("color:#ff7b72")
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.follow_btn = QPushButton("登记回访 (Ctrl+Enter)")
        self.follow_btn.clicked.connect(self.follow_up_selected)
        close_btn = QPushButton("关闭 (Esc)")
        close_btn.clicked.connect(self.reject)
        for b in (self.follow_btn, close_btn):
            b.setAutoDefault(False)
        form = QFormLayout()
        form.addRow("回访结果", self.outcome)
        form.addRow("回访情况", self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.follow_btn)
        buttons.addWidget(close_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.show_all)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        for keys, slot in (("Ctrl+Return", self.follow_up_selected), ("Ctrl+Enter", self.follow_up_selected),
                           ("Ctrl+Shift+A", self.show_all.toggle)):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        self.resize(820, 480)
        self.refresh()
        self._timer = QTimer(self)  # a new day makes rows overdue without any event
        self._timer.timeout.connect(self.refresh)
        self._timer.start(60_000)
        self.table.setFocus()

    def today(self):  # noqa: ANN201
        return rf.today_in(self.app.clock.now(), self.tz)

    def refresh(self) -> None:
        today = self.today()
        with self.app.session() as s:
            self.rows = rf.pending(s) if self.show_all.isChecked() else rf.due(s, today)
        overdue = sum(r.overdue(today) for r in self.rows)
        which = "全部待回访" if self.show_all.isChecked() else "到期待回访"
        self.summary.setText(f"今天 {today.isoformat()}：{which} {len(self.rows)} 件，其中逾期 {overdue} 件")
        keep = self.table.currentRow()
        self.table.setRowCount(len(self.rows))
        for row, r in enumerate(self.rows):
            if r.overdue(today):
                state = f"逾期 {(today - r.follow_up_on).days} 天"
            elif r.due(today):
                state = "今天到期"
            else:
                state = "待回访"
            if r.flag:
                state += f"（{r.flag}）"
            cells = (str(r.incident_id), r.to, r.contact, r.follow_up_on.isoformat(), local_time(r.at, True),
                     state, r.note)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r.overdue(today):
                    item.setForeground(QBrush(RED))
                elif r.flag:
                    item.setForeground(QBrush(AMBER))
                self.table.setItem(row, col, item)
        if self.rows:
            self.table.selectRow(keep if 0 <= keep < len(self.rows) else 0)
        self.table.resizeColumnsToContents()

    def follow_up_selected(self) -> bool:
        row = self.table.currentRow()
        if not 0 <= row < len(self.rows):
            self.error.setText("请先在列表中选择要回访的移交")
            return False
        r = self.rows[row]
        if not attempt(self, self.error, rf.follow_up, self.app.services.ctx, r.incident_id,
                       self.outcome.currentText(), self.note.text(), r.id):
            return False
        self.note.clear()
        self.refresh()
        return True


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+Shift+R: the 矛盾纠纷 referrals due and overdue."""
    window.open_referral_list = lambda: show_kept(window, ReferralList(window.app, window), "referral_list")
    on_key(window, "Ctrl+Shift+R", window.open_referral_list)
