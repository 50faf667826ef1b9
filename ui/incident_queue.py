"""The incident queue: pending and active incidents with their age."""
from __future__ import annotations

from bisect import bisect_left
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QTableView, QVBoxLayout, QWidget, QLabel

from dispatch.domain.incidents import CATEGORY_BY_CODE, IncidentStatus
from dispatch.services.queries import IncidentView
from dispatch.services.screen_queries import sort_key
from ui import theme
from ui.fmt import duration, local_time
from ui.tables import ColumnFitter

RESIZE_SAMPLE_ROWS = 50
COLUMNS = ("编号", "状态", "优先级", "类别", "地点", "接警时间", "已用时", "警力", "席位")


class IncidentQueueModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[IncidentView] = []
        self._now: datetime | None = None

    def set_incidents(self, views: list[IncidentView], now: datetime) -> None:
        self.beginResetModel()
        # urgent first, then oldest first
        self._rows = sorted(views, key=sort_key)
        self._now = now
        self.endResetModel()

    def apply(self, upserts: list[IncidentView], removed: set[int] | frozenset[int], now: datetime) -> None:
        """Change only these rows: remove `removed`, replace or insert `upserts` at their
        place in the order (a row that moves is moved, so the selection follows it)."""
        self._now = now
        for iid in removed:
            row = self.row_of(iid)
            if row >= 0:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        for v in upserts:
            old = self.row_of(v.id)
            if old >= 0:
                del self._rows[old]
            new = bisect_left(self._rows, sort_key(v), key=sort_key)
            if old < 0:
                self.beginInsertRows(QModelIndex(), new, new)
                self._rows.insert(new, v)
                self.endInsertRows()
                continue
            self._rows.insert(old, v)  # back in place for the move below
            if new != old:
                # Qt's destination is the row before which it lands, counted before the move
                self.beginMoveRows(QModelIndex(), old, old, QModelIndex(), new + 1 if new > old else new)
                del self._rows[old]
                self._rows.insert(new, v)
                self.endMoveRows()
            self.dataChanged.emit(self.index(new, 0), self.index(new, len(COLUMNS) - 1))

    def tick(self, now: datetime) -> None:
        self._now = now
        if self._rows:
            self.dataChanged.emit(self.index(0, 6), self.index(len(self._rows) - 1, 6))

    def incident_at(self, row: int) -> IncidentView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, incident_id: int) -> int:
        return next((i for i, v in enumerate(self._rows) if v.id == incident_id), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        v = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(v.id)
            if col == 1:
                return v.status.label
            if col == 2:
                return "紧急" if v.priority == "urgent" else "非紧急"
            if col == 3:
                c = CATEGORY_BY_CODE.get(v.category)
                return c.label if c else "未定性"
            if col == 4:
                return v.place_name or "（未定位）"
            if col == 5:
                return local_time(v.received_at)
            if col == 6:
                return duration((self._now - v.received_at).total_seconds()) if self._now else ""
            if col == 7:
                return "、".join(a.callsign for a in v.assignments if a.open)
            if col == 8:  # the seat that holds it (opened it, or took it over at a handover)
                return v.seat
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 1:
                return QBrush(QColor(theme.STATUS_COLOURS.get(v.status.value, "#e6edf3")))
            if col == 2 and v.priority == "urgent":
                return QBrush(theme.URGENT)
        if role == Qt.ItemDataRole.BackgroundRole and v.status is IncidentStatus.PENDING \
                and v.priority == "urgent":
            return QBrush(QColor("#3d1214"))
        if role == Qt.ItemDataRole.UserRole:
            return v.id
        return None


class IncidentQueue(QWidget):
    """Table of open incidents. Signals: `activated(id)` on Enter/double-click,
    `selected(id)` when the selection moves."""

    activated = Signal(int)
    selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = IncidentQueueModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        # columns fit their contents, measured on a sample of rows and not at every tick:
        # the age column changes every second on every row of a queue of 1,000
        self.view.horizontalHeader().setResizeContentsPrecision(RESIZE_SAMPLE_ROWS)
        self.columns = ColumnFitter(self.view, stretch=4)
        self.view.activated.connect(self._on_activated)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        title = QLabel("警情队列（待派 / 处置中）")
        title.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        title.setObjectName("title")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(title)
        lay.addWidget(self.view)

    def set_incidents(self, views: list[IncidentView], now: datetime) -> None:
        keep = self.current_id()
        self.model.set_incidents(views, now)
        if keep is not None:
            self.select(keep)

    def apply(self, upserts: list[IncidentView], removed: set[int] | frozenset[int], now: datetime) -> None:
        """Only the rows that changed; the selection and the scroll position stay."""
        self.model.apply(upserts, removed, now)

    def tick(self, now: datetime) -> None:
        self.model.tick(now)

    def current_id(self) -> int | None:
        v = self.model.incident_at(self.view.currentIndex().row())
        return v.id if v else None

    def select(self, incident_id: int) -> None:
        row = self.model.row_of(incident_id)
        if row >= 0:
            self.view.selectRow(row)

    def _on_activated(self, index: QModelIndex) -> None:
        v = self.model.incident_at(index.row())
        if v:
            self.activated.emit(v.id)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        v = self.model.incident_at(current.row())
        if v:
            self.selected.emit(v.id)
