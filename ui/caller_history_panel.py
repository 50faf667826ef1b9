"""The caller's history beside the caller's number: earlier incidents from the number in
the last 90 days (time, category, result, place), how many in 24 hours and 7 days, and the
number's mark set by the shift lead — a red 骚扰电话 badge or an amber 重复来电 one, with
the note. The rules are the core's (dispatch.services.caller_history); the panel takes no
room when the number has no history and no mark."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QListWidget, QVBoxLayout

from dispatch.services.caller_history import CallerHistory, caller_history
from ui.fmt import local_time

if TYPE_CHECKING:
    from dispatch.bootstrap import App

SHOWN = 6
BADGE_STYLE = {"nuisance": "background:#da3633;color:white;font-weight:bold;padding:1px 6px;border-radius:3px",
               "repeat": "background:#d29922;color:black;font-weight:bold;padding:1px 6px;border-radius:3px"}


def fit_rows(view: QListWidget, most: int = SHOWN, least: int = 1) -> None:
    """A short list as high as its rows (`least` to `most` of them: more scroll), no empty
    space under them, and no horizontal scroll bar hiding its one row: long rows wrap."""
    view.setWordWrap(True)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    line = view.fontMetrics().lineSpacing() + 6
    heights = [max(view.sizeHintForRow(i), line) for i in range(min(view.count(), most))]
    view.setFixedHeight(max(sum(heights), least * line) + 2 * view.frameWidth() + 2)


class CallerHistoryPanel(QGroupBox):
    def __init__(self, app: App, parent=None) -> None:  # noqa: ANN001
        super().__init__("来电历史", parent)
        self.app = app
        self.history: CallerHistory | None = None
        self.badge = QLabel("")
        self.badge.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes 号码 → 姓名 → 地点 as before
        top = QHBoxLayout()
        top.addWidget(self.badge)
        top.addWidget(self.summary, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(top)
        lay.addWidget(self.list)
        self.show_number("")

    def show_number(self, number: str, exclude_id: int | None = None) -> None:
        """Re-read the history of `number` (the call in hand, `exclude_id`, left out)."""
        number = (number or "").strip()
        h = None
        if number:
            with self.app.session() as s:
                h = caller_history(s, number, self.app.clock.now(), exclude_id)
        self.history = h
        self.list.clear()
        if h is None or (h.total == 0 and h.mark is None):
            self.badge.hide()
            self.setVisible(False)
            return
        if h.mark is not None:
            self.badge.setText(h.mark.label)
            self.badge.setStyleSheet(BADGE_STYLE[h.mark.mark])
            self.badge.setToolTip(f"{h.mark.operator} {local_time(h.mark.at, True)} 标记：{h.mark.note}")
            self.badge.show()
        else:
            self.badge.hide()
        text = f"{h.number} 近90天来电 {h.total} 次（24小时内 {h.last_24h} 次，7天内 {h.last_7d} 次）"
        if h.by_result:
            text += "：" + "、".join(f"{label} {n}" for label, n in h.by_result.items())
        if h.mark is not None and h.mark.note:
            text += f"\n{h.mark.label}：{h.mark.note}"
        self.summary.setText(text)
        for c in h.calls[:SHOWN]:
            self.list.addItem(f"{local_time(c.received_at, True)}  #{c.incident_id} {c.category} · {c.result} · {c.place}")
        fit_rows(self.list)
        self.list.setVisible(bool(h.calls))
        self.setVisible(True)
