"""Ctrl+F 警情查询: find any incident (open or closed) by number, caller, place, time
and status. Enter opens the incident in the intake (read-only when closed), F9 shows
its timeline, Esc closes."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateTimeEdit, QDialog, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES
from dispatch.services.incident_search import IncidentQuery, search_incidents
from dispatch.services.queries import IncidentView
from ui.fmt import local_time

COLUMNS = ("编号", "接警时间", "状态", "来电号码", "姓名", "地点", "类别", "结果")
STATUSES = (("全部", ""), ("未结", "open"), ("已结警", "closed"))


class SearchDialog(QDialog):
    """Signals: `opened(incident_id)` (Enter), `timeline_requested(incident_id)` (F9)."""

    opened = Signal(int)
    timeline_requested = Signal(int)

    def __init__(self, app, parent: QWidget | None = None) -> None:  # noqa: ANN001 (dispatch.bootstrap.App)
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("警情查询 (Ctrl+F)")
        self.resize(1000, 560)
        self._views: list[IncidentView] = []
        self.text = QLineEdit()
        self.text.setPlaceholderText("警情编号、来电号码、姓名、地点或描述中的字词")
        self.status = QComboBox()
        for label, value in STATUSES:
            self.status.addItem(label, value)
        tz = ZoneInfo(app.settings.tz)
        now_local = app.clock.now().astimezone(tz)
        self.use_period = QCheckBox("限定时段")
        self.since = QDateTimeEdit(_qdt(now_local - timedelta(days=1)))
        self.until = QDateTimeEdit(_qdt(now_local))
        for w in (self.since, self.until):
            w.setDisplayFormat("yyyy-MM-dd HH:mm")
            w.setCalendarPopup(True)
            w.setEnabled(False)
        self.use_period.toggled.connect(self.since.setEnabled)
        self.use_period.toggled.connect(self.until.setEnabled)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self.open_current())
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        row = QHBoxLayout()
        row.addWidget(self.text, 3)
        row.addWidget(QLabel("状态"))
        row.addWidget(self.status)
        row.addWidget(self.use_period)
        row.addWidget(self.since)
        row.addWidget(QLabel("至"))
        row.addWidget(self.until)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.info)
        lay.addWidget(QLabel("Enter 打开警情（已结警情只读） · F9 时间线 · ↓ 到结果 · Esc 关闭"))
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.run)
        self.text.textChanged.connect(lambda _t: self._debounce.start())
        self.status.currentIndexChanged.connect(lambda _i: self.run())
        self.use_period.toggled.connect(lambda _b: self.run())
        self.since.dateTimeChanged.connect(lambda _d: self._debounce.start())
        self.until.dateTimeChanged.connect(lambda _d: self._debounce.start())
        self.text.installEventFilter(self)
        for keys in ("Return", "Enter", "Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.open_current)
        QShortcut(QKeySequence("F9"), self).activated.connect(self._timeline_current)
        self.text.setFocus()
        self.run()

    def query(self) -> IncidentQuery:
        since = until = None
        if self.use_period.isChecked():
            since = self.since.dateTime().toPython().replace(tzinfo=ZoneInfo(self.app.settings.tz))
            until = self.until.dateTime().toPython().replace(tzinfo=ZoneInfo(self.app.settings.tz))
        return IncidentQuery(self.text.text(), since, until, self.status.currentData())

    def run(self) -> None:
        """Search now (the text box searches 200 ms after the last key)."""
        self._debounce.stop()
        try:
            with self.app.session() as s:
                self._views = search_incidents(s, self.query())
        except DispatchError as exc:  # a refused query shows nothing: Enter opens nothing
            self._views = []
            self.table.setRowCount(0)
            self.info.setText(str(exc))
            return
        self.table.setRowCount(len(self._views))
        for r, v in enumerate(self._views):
            cat = CATEGORY_BY_CODE.get(v.category)
            cells = (str(v.id), local_time(v.received_at, with_date=True), v.status.label, v.caller_number,
                     v.caller_name, v.place_name or v.place_text or "未定位", cat.label if cat else "未定性",
                     RESULT_CODES.get(v.result_code, ""))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.id)
                self.table.setItem(r, c, item)
        if self._views:
            self.table.selectRow(0)
        n = len(self._views)
        self.info.setText(f"找到 {n} 起警情" + ("（只显示最新的 200 起）" if n >= 200 else "") if n else "没有符合条件的警情")

    def current_id(self) -> int | None:
        r = self.table.currentRow()
        return self._views[r].id if 0 <= r < len(self._views) else None

    def open_current(self) -> None:
        if self._debounce.isActive():
            self.run()
        iid = self.current_id()
        if iid is not None:
            self.opened.emit(iid)
            self.accept()

    def _timeline_current(self) -> None:
        iid = self.current_id()
        if iid is not None:
            self.timeline_requested.emit(iid)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        """↑/↓ in the text box move through the results."""
        if obj is self.text and event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            if self._debounce.isActive():
                self.run()
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            r = max(0, min(self.table.rowCount() - 1, self.table.currentRow() + step))
            if self.table.rowCount():
                self.table.selectRow(r)
            return True
        return super().eventFilter(obj, event)


def _qdt(value: datetime) -> QDateTime:
    return QDateTime(value.year, value.month, value.day, value.hour, value.minute, 0)
