"""纠纷移交 dialog (Ctrl+Shift+D): hand the dispute in hand to the grid's 网格员, 人民调解,
the 社区民警 or the 司法所, with whom to call and a follow-up date (the referral list,
Ctrl+Shift+R, shows it when due). The grid's people are offered as contacts.
Ctrl+Enter submits, Esc cancels."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QFormLayout, QLabel, QLineEdit,
                               QWidget)

from dispatch.services import place_context, queries
from dispatch.services import referrals as rf
from ui.window_actions import attempt, incident_dialog, submit_buttons

if TYPE_CHECKING:
    from dispatch.bootstrap import App

FOLLOW_UP_DAYS = 3  # the default follow-up: three days on


class ReferDialog(QDialog):
    def __init__(self, app: App, incident_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app, self.incident_id = app, incident_id
        self.setWindowTitle(f"纠纷移交 — 警情 {incident_id}")
        with app.session() as s:
            view = queries.incident(s, incident_id)
            grid = place_context.grid_view(s, view.grid_id if view else None)
        self.to = QComboBox()
        self.to.addItems(rf.TARGETS)
        self.contact = QComboBox()
        self.contact.setEditable(True)
        people = []
        if grid is not None:
            if grid.leader:
                people.append(f"{grid.leader}（{grid.name} 网格长）")
            people += [f"{name}（{grid.name} {role or '网格员'}）" for name, role in grid.members if name]
            if grid.officer_callsign:
                people.append(f"{grid.officer_callsign}（警格民警）")
        self.contact.addItems(people)
        self.contact.setCurrentIndex(0 if people else -1)
        self.contact.lineEdit().setPlaceholderText("对接人姓名及电话")
        today = (app.clock.now().astimezone(ZoneInfo(app.settings.tz)) + timedelta(days=FOLLOW_UP_DAYS)).date()
        self.follow_up = QDateEdit(QDate(today.year, today.month, today.day))
        self.follow_up.setCalendarPopup(True)
        self.follow_up.setDisplayFormat("yyyy-MM-dd")
        self.note = QLineEdit()
        self.note.setPlaceholderText("备注（纠纷要点、双方情况）")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.error.setStyleSheet("color:#ff7b72")
        self.error.setWordWrap(True)
        buttons = submit_buttons(self, "移交")
        form = QFormLayout(self)
        where = f"（{view.place_name}）" if view is not None and view.place_name else ""
        form.addRow(QLabel(f"警情 {incident_id}{where} 移交调解，到期回访"))
        form.addRow("移交给", self.to)
        form.addRow("对接人", self.contact)
        form.addRow("回访日期", self.follow_up)
        form.addRow("备注", self.note)
        form.addRow(self.error)
        form.addRow(buttons)
        self.to.setFocus()

    def accept(self) -> None:
        """Refer; a refusal stays in the dialog and changes nothing."""
        d = self.follow_up.date()
        if attempt(self, self.error, rf.refer, self.app.services.ctx, self.incident_id, self.to.currentText(),
                   self.contact.currentText(), f"{d.year():04d}-{d.month():02d}-{d.day():02d}", self.note.text(),
                   self.app.settings.tz):
            super().accept()


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+Shift+D: refer the dispute in hand."""
    window.open_refer_dialog = incident_dialog(
        window, "Ctrl+Shift+D", "refer_dialog", "请先选择要移交调解的警情",
        lambda iid: ReferDialog(window.app, iid, window),
        lambda dlg, iid: f"警情 {iid} 已移交{dlg.to.currentText()}，{dlg.follow_up.date().toString('M月d日')}回访")
