"""可能重复报警: the incidents the call in hand may repeat, each with its reasons (同一号码,
相距120米, 8分钟前, 同类警情), best first, and "关联到此警情" (Ctrl+Shift+L; Ctrl+L locks the
console) to link the call in hand to the selected one — it then leaves the queue closed as
重复报警. A call already linked shows where, with 取消关联; an incident with linked calls
lists them. The rules are the core's (dispatch.services.call_links); the panel takes no
room while it has nothing to say."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from dispatch.domain.errors import DispatchError
from dispatch.services import call_links
from dispatch.services.queries import IncidentView
from ui.caller_history_panel import fit_rows
from ui.fmt import local_time

if TYPE_CHECKING:
    from dispatch.bootstrap import App

LINK_KEYS = "Ctrl+Shift+L"


class CallLinksPanel(QGroupBox):
    """Signals: `linked(call_id, to_id)` after a link, `unlinked(call_id)` after an unlink,
    `problem(str)` for a refusal."""

    linked = Signal(int, int)
    unlinked = Signal(int)
    problem = Signal(str)

    def __init__(self, app: App, parent=None) -> None:  # noqa: ANN001
        super().__init__("可能重复报警", parent)
        self.app = app
        self.view: IncidentView | None = None
        self.suggestions: list[call_links.LinkSuggestion] = []
        self.link_now: call_links.Link | None = None
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.status.setWordWrap(True)
        self.list = QListWidget()
        self.list.itemActivated.connect(lambda _i: self.link_selected())
        self.link_btn = QPushButton(f"关联到此警情 ({LINK_KEYS})")
        self.link_btn.clicked.connect(self.link_selected)
        self.unlink_btn = QPushButton("取消关联")
        self.unlink_btn.clicked.connect(self.unlink_current)
        for b in (self.link_btn, self.unlink_btn):
            b.setAutoDefault(False)
        row = QHBoxLayout()
        row.addWidget(self.link_btn)
        row.addWidget(self.unlink_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.status)
        lay.addWidget(self.list)
        lay.addLayout(row)
        self.show_for(None)

    def bind_keys(self, owner: QWidget) -> None:
        """Ctrl+Shift+L anywhere in `owner` (the intake) links to the selected suggestion."""
        keys = QShortcut(QKeySequence(LINK_KEYS), owner)
        keys.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        keys.activated.connect(self.link_selected)

    def show_for(self, view: IncidentView | None) -> None:
        """Re-read the suggestions and links of the call in hand (None: nothing)."""
        self.view = view
        self.suggestions, self.link_now, records = [], None, []
        if view is not None:
            with self.app.session() as s:
                self.link_now = call_links.link_of(s, view.id)
                records = call_links.calls_of(s, view.id)[1:]
                if view.status.open and self.link_now is None:
                    self.suggestions = call_links.suggest_links(s, view, self.app.clock.now())
        self.list.clear()
        for x in self.suggestions:
            place = f" {x.place_name}" if x.place_name else ""
            item = QListWidgetItem(f"#{x.incident_id} {x.category_label}{place}（{x.status.label}）— {x.reason_text}")
            item.setToolTip(f"来电 {x.caller_number or '无号码'}，{local_time(x.received_at, True)}，评分 {x.score}")
            self.list.addItem(item)
        if self.suggestions:
            self.list.setCurrentRow(0)
            fit_rows(self.list)
        texts = []
        if self.link_now is not None:
            texts.append(f"本来电已关联到警情 {self.link_now.to_incident}（重复报警）")
        if records:
            texts.append("关联来电：" + "；".join(f"#{r.incident_id} {r.number or '无号码'} {r.name}".rstrip()
                                               + f" {local_time(r.received_at)}" for r in records))
        self.status.setText("\n".join(texts))
        self.status.setVisible(bool(texts))
        self.list.setVisible(bool(self.suggestions))
        self.link_btn.setVisible(bool(self.suggestions))
        self.unlink_btn.setVisible(self.link_now is not None)
        self.setVisible(bool(texts or self.suggestions))

    def selected(self) -> call_links.LinkSuggestion | None:
        row = self.list.currentRow()
        return self.suggestions[row] if 0 <= row < len(self.suggestions) else None

    def link_selected(self) -> bool:
        """Link the call in hand to the selected suggestion."""
        target = self.selected()
        if self.view is None or target is None:
            self.problem.emit("没有可关联的警情（可能重复报警列表为空）")
            return False
        call_id = self.view.id
        try:
            changes = call_links.link(self.app.services.ctx, call_id, target.incident_id)
        except DispatchError as exc:
            self.problem.emit(str(exc))
            return False
        self.linked.emit(call_id, changes.incident_id or target.incident_id)
        return True

    def unlink_current(self) -> bool:
        if self.view is None or self.link_now is None:
            return False
        call_id = self.view.id
        try:
            call_links.unlink(self.app.services.ctx, call_id)
        except DispatchError as exc:
            self.problem.emit(str(exc))
            return False
        self.unlinked.emit(call_id)
        return True
