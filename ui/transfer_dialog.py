"""转警 dialog (Ctrl+T): hand the incident in hand to another centre or department with
a reason; it then leaves the queue, closed as 转办 with its record, and the units still on
it are released (named in the dialog before it is sent, as the 结警 dialog names them).
Ctrl+Enter submits, Esc cancels, Tab leaves the reason."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QLabel, QPlainTextEdit,
                               QWidget)

from dispatch.services import queries
from ui.close_dialog import release_text
from ui.window_actions import attempt, incident_dialog, submit_buttons

if TYPE_CHECKING:
    from dispatch.bootstrap import App

# typical receivers; the box is editable for any other centre or department
SUGGESTIONS = ("12345 政务服务热线", "122 交警指挥中心", "119 消防救援", "120 急救中心", "邻区（县）110 指挥中心",
               "城管执法", "市场监管", "劳动监察")


class TransferDialog(QDialog):
    def __init__(self, app: App, incident_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app, self.incident_id = app, incident_id
        self.setWindowTitle(f"转警 — 警情 {incident_id}")
        self.to = QComboBox()
        self.to.setEditable(True)
        self.to.addItems(SUGGESTIONS)
        self.to.setCurrentIndex(-1)
        self.to.lineEdit().setPlaceholderText("转往的接警中心或部门")
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("转警原因（如：非警务求助，属城管职责）")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.error.setStyleSheet("color:#ff7b72")
        buttons = submit_buttons(self, "转警")
        form = QFormLayout(self)
        form.addRow(QLabel(f"警情 {incident_id} 将以「转办」结警，记录保留"))
        with app.session() as s:
            view = queries.incident(s, incident_id)
        # the units still on it are released by the transfer, as by a close: said before, by name
        self.release = QLabel(release_text(view, "转警") if view is not None else "")
        self.release.setTextFormat(Qt.TextFormat.PlainText)
        self.release.setWordWrap(True)
        self.release.setStyleSheet("color:#d29922;font-weight:bold")
        self.release.setVisible(bool(self.release.text()))
        form.addRow(self.release)
        form.addRow("转往", self.to)
        form.addRow("原因", self.reason)
        form.addRow(self.error)
        form.addRow(buttons)
        self.to.setFocus()

    def accept(self) -> None:
        """Transfer; a refusal stays in the dialog and changes nothing."""
        if attempt(self, self.error, self.app.services.transfer, self.incident_id, self.to.currentText(),
                   self.reason.toPlainText()):
            super().accept()


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+T: transfer the incident in hand."""
    window.open_transfer = incident_dialog(
        window, "Ctrl+T", "transfer_dialog", "请先选择要转警的警情",
        lambda iid: TransferDialog(window.app, iid, window),
        lambda dlg, iid: f"警情 {iid} 已转警（{dlg.to.currentText().strip()}）")
