"""结警 dialog: result code and note. No code is chosen for the call-taker: the codes that
fit the incident come first, another one needs a confirmation. The units still on the
incident are named: closing releases them to 空闲. Ctrl+Enter submits, Esc cancels, Tab
leaves the note. What the service would refuse in the dialog's own fields (no result, a
note over the service's limit) is said inside the dialog, which stays open with everything
kept; F8 with no incident in hand says so where the call-taker looks (MainWindow.close_incident)."""
from __future__ import annotations

import sys

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QPlainTextEdit, QWidget)

from dispatch.domain.closing import ResultChoice, result_choices
from dispatch.domain.decide import MAX_NARRATIVE
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.units import UnitStatus
from dispatch.services.queries import AssignmentView, IncidentView
from ui.confirm import confirm

NO_RESULT = "请选择处理结果"
NOTE_WHAT = "结警说明"  # the field's name in the service's refusal (dispatch.domain.decide.decide_close)
NOTHING_IN_HAND = "没有正在处理的警情，无法结警"


def assignment_status(a: AssignmentView) -> UnitStatus:
    """Where a unit still on the incident is in its work, from its assignment's times."""
    if a.arrived_at is not None:
        return UnitStatus.ON_SCENE
    if a.en_route_at is not None:
        return UnitStatus.EN_ROUTE
    return UnitStatus.ACKNOWLEDGED if a.acknowledged_at is not None else UnitStatus.DISPATCHED


def release_text(view: IncidentView, action: str = "结警") -> str:
    """What closing (or `action`, which closes it too: 转警) does to the units still on the
    incident ("" when none is)."""
    units = [f"{a.callsign}（{assignment_status(a).label}）" for a in view.assignments if a.open]
    if not units:
        return ""
    return (f"仍在本警情的警力 {len(units)} 个：{'、'.join(units)}\n"
            f"{action}后将全部释放为「{UnitStatus.AVAILABLE.label}」")


class CloseDialog(QDialog):
    def __init__(self, view: IncidentView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(f"结警 — 警情 {view.id}")
        self.choices: list[ResultChoice] = result_choices(bool(view.assignments), view.category)
        self.result_code = QComboBox()
        self.result_code.setPlaceholderText("— 请选择处理结果 —")
        for i, c in enumerate(self.choices):
            if i and not c.fits and self.choices[i - 1].fits:
                self.result_code.insertSeparator(self.result_code.count())
            self.result_code.addItem(c.label if c.fits else f"{c.label}（不符：{c.why_not}）", c.code)
        self.result_code.setCurrentIndex(-1)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("处警结果说明")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(90)
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.result_code.currentIndexChanged.connect(self._on_result_chosen)
        self.note.textChanged.connect(self._on_note_changed)
        self.release = QLabel(release_text(view))
        self.release.setTextFormat(Qt.TextFormat.PlainText)
        self.release.setObjectName("release")
        self.release.setWordWrap(True)
        self.release.setStyleSheet("color:#d29922;font-weight:bold")
        self.release.setVisible(bool(self.release.text()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("结警 (Ctrl+Enter)")
        self.ok.setAutoDefault(False)
        self.ok.setDefault(False)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("取消 (Esc)")
        cancel.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.accept)
        what = f"警情 {view.id} · {view.place_name or '未定位'} · {view.status.label}"
        form = QFormLayout(self)
        what_label = QLabel(what)
        what_label.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow(what_label)
        form.addRow("处理结果", self.result_code)
        form.addRow("说明", self.note)
        form.addRow(self.release)
        form.addRow(self.error)
        form.addRow(buttons)
        self.result_code.setFocus()

    def chosen(self) -> ResultChoice | None:
        code = self.result_code.currentData()
        return next((c for c in self.choices if c.code == code), None)

    def note_problem(self) -> str:
        """Why the service would refuse the note ("" when it would not): its own check and
        limit, with how many characters there are, so the call-taker knows how much to cut."""
        text = self.note.toPlainText()
        try:
            clean_text(text, NOTE_WHAT, limit=MAX_NARRATIVE)
        except DispatchError as exc:
            try:
                length = len(clean_text(text, NOTE_WHAT, limit=sys.maxsize))
            except DispatchError:
                return str(exc)
            return f"{exc}：现有 {length} 字，请删去 {length - MAX_NARRATIVE} 字"
        return ""

    def _on_result_chosen(self, _index: int) -> None:
        if self.error.text() == NO_RESULT:  # chosen: it goes (a note that is too long stays said)
            self.error.setText(self.note_problem())

    def _on_note_changed(self) -> None:
        """A note over the limit is said as it is pasted, and the message follows the cuts."""
        problem = self.note_problem()
        if problem or self.error.text() != NO_RESULT:
            self.error.setText(problem)

    def accept(self) -> None:
        """Close only with a chosen code and a note the service takes; a code that does not
        fit is confirmed first. A refusal stays in the dialog, the code and note kept."""
        c = self.chosen()
        if c is None:
            self.error.setText(NO_RESULT)
            self.result_code.setFocus()
            return
        problem = self.note_problem()
        if problem:
            self.error.setText(problem)
            self.note.setFocus()
            return
        if not c.fits and not confirm(
                self, "确认结警结果",
                f"警情 {self.view.id} {c.why_not}，通常不能以「{c.label}」结警。\n确定以「{c.label}」结警？",
                f"以「{c.label}」结警"):
            return
        super().accept()

    def values(self) -> tuple[str, str]:
        return self.result_code.currentData(), self.note.toPlainText().strip()

