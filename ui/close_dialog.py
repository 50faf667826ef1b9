"""结警 dialog: result code and note."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QPlainTextEdit, QWidget)

from dispatch.domain.incidents import RESULT_CODES


class CloseDialog(QDialog):
    def __init__(self, incident_id: int, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"结警 — 警情 {incident_id}")
        self.result_code = QComboBox()
        for code, label in RESULT_CODES.items():
            self.result_code.addItem(label, code)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("处警结果说明")
        self.note.setFixedHeight(90)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("结警")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(summary))
        form.addRow("处理结果", self.result_code)
        form.addRow("说明", self.note)
        form.addRow(buttons)
        self.result_code.setFocus()

    def values(self) -> tuple[str, str]:
        return self.result_code.currentData(), self.note.toPlainText().strip()
