"""IncidentTimelineDialog: every event of one incident (local time, seat, operator,
what) and its intervals against the targets."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from dispatch.replay.timeline import IncidentTimeline
from dispatch.services.queries import IncidentView
from ui.fmt import duration, local_time

EVENT_COLUMNS = ("时间", "席位", "操作员", "事项", "内容")
INTERVAL_COLUMNS = ("区间", "用时", "目标", "达标")


class IncidentTimelineDialog(QDialog):
    """Read-only view of an incident's timeline."""

    def __init__(self, timeline: IncidentTimeline, view: IncidentView | None = None, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.timeline = timeline
        self.setWindowTitle(f"警情 {timeline.incident_id} 时间线")
        self.resize(860, 560)
        lay = QVBoxLayout(self)
        if view is not None:
            head = QLabel(f"警情 {view.id} · {view.status.label} · {view.place_name or '(未定位)'} · "
                          f"接警 {local_time(view.received_at, with_date=True)}")
            head.setObjectName("title")
            head.setTextFormat(Qt.TextFormat.PlainText)  # (a place's name: what people typed)
            lay.addWidget(head)
        self.events = QTableWidget(len(timeline.entries), len(EVENT_COLUMNS))
        self.events.setHorizontalHeaderLabels(EVENT_COLUMNS)
        for r, e in enumerate(timeline.entries):
            for c, text in enumerate((local_time(e.at, with_date=True), e.seat, e.operator, e.what, e.detail)):
                self.events.setItem(r, c, QTableWidgetItem(text))
        self._tidy(self.events, stretch=4)
        lay.addWidget(self.events, 3)
        lay.addWidget(QLabel("处警时效（对照目标）"))
        self.intervals = QTableWidget(len(timeline.intervals), len(INTERVAL_COLUMNS))
        self.intervals.setHorizontalHeaderLabels(INTERVAL_COLUMNS)
        for r, iv in enumerate(timeline.intervals):
            met = {True: "达标", False: "超时", None: "—"}[iv.met]
            cells = (iv.name, duration(iv.seconds) if iv.seconds is not None else "未发生",
                     duration(iv.target_s) if iv.target_s else "—", met)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if iv.met is False:
                    item.setForeground(QBrush(QColor("#c62828")))
                self.intervals.setItem(r, c, item)
        self._tidy(self.intervals, stretch=0)
        rows = self.intervals.verticalHeader().defaultSectionSize() * max(1, len(timeline.intervals))
        self.intervals.setFixedHeight(rows + self.intervals.horizontalHeader().sizeHint().height() + 6)
        lay.addWidget(self.intervals)
        buttons = QDialogButtonBox()
        close = buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        close.setShortcut("Esc")
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    @staticmethod
    def _tidy(table: QTableWidget, stretch: int) -> None:
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
