"""联动 panel (Ctrl+J): who was told of the incident in hand, how, when, their reference,
and whether they acknowledged; notify another partner or record an acknowledgement.
Unacknowledged notifications older than ACK_REMINDER_S turn red here, and the window's
status bar reminds the seat of them (checked every 15 s).

Keys: ↑↓ in the list, Tab through 单位 → 方式 → 对方编号 → 备注, Ctrl+Enter 通知,
Ctrl+K 确认收到 (the selected row), Esc closes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from dispatch.domain.agencies import AGENCIES, METHODS
from dispatch.services import joint_response as jr
from ui.fmt import local_time
from ui.tables import read_only_table
from ui.window_actions import attempt, for_incident, on_key, show_kept

if TYPE_CHECKING:
    from dispatch.bootstrap import App

COLUMNS = ("联动单位", "方式", "通知时间", "对方编号", "确认时间", "状态")
RED = QColor("#ff7b72")


class JointResponsePanel(QDialog):
    def __init__(self, app: App, incident_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app, self.incident_id = app, incident_id
        self.setWindowTitle(f"联动 — 警情 {incident_id}")
        self.notifications: list[jr.Notification] = []
        self.table = read_only_table(COLUMNS)
        self.agency = QComboBox()
        for a in AGENCIES:
            self.agency.addItem(a.label, a.code)
        self.method = QComboBox()
        for code, label in METHODS.items():
            self.method.addItem(label, code)
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("对方工单号、接警员工号等")
        self.note = QLineEdit()
        self.note.setPlaceholderText("通报内容摘要")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.error.setObjectName("error")
        self.error.setStyleSheet("color:#ff7b72")
        self.notify_btn = QPushButton("通知 (Ctrl+Enter)")
        self.notify_btn.clicked.connect(self.notify)
        self.ack_btn = QPushButton("确认收到 (Ctrl+K)")
        self.ack_btn.clicked.connect(self.acknowledge_selected)
        close_btn = QPushButton("关闭 (Esc)")
        close_btn.clicked.connect(self.reject)
        for b in (self.notify_btn, self.ack_btn, close_btn):
            b.setAutoDefault(False)
        form = QFormLayout()
        form.addRow("联动单位", self.agency)
        form.addRow("通知方式", self.method)
        form.addRow("对方编号", self.reference)
        form.addRow("备注", self.note)
        buttons = QHBoxLayout()
        for b in (self.notify_btn, self.ack_btn, close_btn):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        for keys, slot in (("Ctrl+Return", self.notify), ("Ctrl+Enter", self.notify),
                           ("Ctrl+K", self.acknowledge_selected)):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        self.resize(760, 460)
        self.refresh()
        self._timer = QTimer(self)  # overdue rows turn red without any new event
        self._timer.timeout.connect(self.refresh)
        self._timer.start(5000)
        self.agency.setFocus()

    def refresh(self) -> None:
        with self.app.session() as s:
            self.notifications = jr.notifications(s, [self.incident_id])[self.incident_id]
        now = self.app.clock.now()
        keep = self.table.currentRow()
        self.table.setRowCount(len(self.notifications))
        for row, n in enumerate(self.notifications):
            if n.acknowledged_at is not None:
                state = "已确认"
            elif n.overdue(now):
                state = f"超时未确认（{int((now - n.at).total_seconds() // 60)} 分钟），请再次联系"
            else:
                state = "待确认"
            cells = (n.agency_label, n.method_label, local_time(n.at), n.reference or n.ack_reference,
                     local_time(n.acknowledged_at), state)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if n.overdue(now):
                    item.setForeground(QBrush(RED))
                self.table.setItem(row, col, item)
        if self.notifications:
            self.table.selectRow(keep if 0 <= keep < len(self.notifications) else len(self.notifications) - 1)
        self.table.resizeColumnsToContents()

    def _do(self, fn, *args) -> bool:  # noqa: ANN001
        if not attempt(self, self.error, fn, *args):
            return False
        self.refresh()
        return True

    def notify(self) -> bool:
        ok = self._do(self.app.services.notify_agency, self.incident_id, self.agency.currentData(),
                      self.method.currentData(), self.reference.text(), self.note.text())
        if ok:
            self.reference.clear()
            self.note.clear()
        return ok

    def acknowledge_selected(self) -> bool:
        row = self.table.currentRow()
        if not 0 <= row < len(self.notifications):
            self.error.setText("请先在列表中选择要确认的通知")
            return False
        n = self.notifications[row]
        if n.acknowledged_at is not None:
            self.error.setText(f"「{n.agency_label}」的通知已于 {local_time(n.acknowledged_at)} 确认")
            return False
        return self._do(self.app.services.acknowledge_agency, self.incident_id, None, n.id,
                        self.reference.text())


def reminder_text(app: App) -> str:
    """The status-bar reminder of unacknowledged notifications, or "" when none is due."""
    now = app.clock.now()
    with app.session() as s:
        due = jr.due_reminders(s, now)
    if not due:
        return ""
    first = due[0]
    more = f" 等 {len(due)} 条" if len(due) > 1 else ""
    minutes = int((now - first.at).total_seconds() // 60)
    return f"联动提醒：警情 {first.incident_id} 的「{first.agency_label}」通知 {minutes} 分钟未确认{more}（Ctrl+J）"


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+J opens the panel for the incident in hand; a timer reminds of overdue ones."""
    open_panel = for_incident(window, "请先选择要联动的警情",
                              lambda iid: show_kept(window, JointResponsePanel(window.app, iid, window), "joint_panel"))

    def remind() -> None:
        text = reminder_text(window.app)
        if text:
            window.statusBar().showMessage(text, 14000)

    on_key(window, "Ctrl+J", open_panel)
    window.open_joint_response = open_panel
    timer = QTimer(window)
    timer.timeout.connect(remind)
    timer.start(15000)
    window._joint_reminder_timer = timer

