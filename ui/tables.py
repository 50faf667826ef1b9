"""Small table widgets shared by the console's lists."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QObject, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTableWidget


def read_only_table(columns: Sequence[str]) -> QTableWidget:
    """A table of whole rows, one selected at a time, not editable, no row numbers."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


MIN_CAP_PX = 160


class ColumnFitter(QObject):
    """Keeps a table's columns sized to their contents (measured on a sample of rows, the
    header's resize-contents precision) without measuring on every change of a cell:
    QHeaderView's ResizeToContents measures again on each dataChanged, ~20 ms on a queue
    of 1,000 rows, every second for the age column. Here the columns are fitted soon
    when rows come, go or are reset, and at most every `every_ms` after changed cells,
    one column per turn of the event loop: measuring all of them at once held the GUI
    thread 10-18 ms every two seconds on a board of 2,000 units (the board's age column
    changes every second), one of the longest turns of an AVL storm."""

    def __init__(self, view: QTableView, stretch: int, every_ms: int = 2000) -> None:
        super().__init__(view)
        self.view, self.stretch = view, stretch
        self.fits = 0
        header = view.horizontalHeader()
        model = view.model()
        for c in range(model.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if c == stretch else QHeaderView.ResizeMode.Interactive
            header.setSectionResizeMode(c, mode)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self.fit)
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(every_ms)
        self._later.timeout.connect(self.fit)
        self._todo: list[int] = []  # the columns of the fit under way, measured one per turn
        self._step = QTimer(self)
        self._step.setSingleShot(True)
        self._step.setInterval(0)
        self._step.timeout.connect(self._fit_next)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
            signal.connect(self._soon.start)
        model.dataChanged.connect(self._changed)

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, *_args) -> None:  # noqa: ANN002
        if top_left.column() == bottom_right.column() == self.stretch:
            return  # the stretched column takes what is left: nothing to measure
        if not self._later.isActive() and not self._soon.isActive():
            self._later.start()

    def fit(self) -> None:
        """Fit every column but the stretched one: the first now, each next one on the
        next turn of the event loop."""
        self._soon.stop()
        self._later.stop()
        self.fits += 1
        self._todo = [c for c in range(self.view.model().columnCount()) if c != self.stretch]
        self._fit_next()

    def _fit_next(self) -> None:
        if not self._todo:
            return
        c = self._todo.pop(0)
        if c < self.view.model().columnCount():
            cap = max(MIN_CAP_PX, self.view.viewport().width() // 4)  # one long cell never eats the stretch column
            self.view.resizeColumnToContents(c)
            if self.view.columnWidth(c) > cap:
                self.view.setColumnWidth(c, cap)  # the text elides; its tooltip / cell shows the rest
        if self._todo:
            self._step.start()

    @property
    def fitting(self) -> bool:
        """A fit is under way (some columns not measured yet)."""
        return bool(self._todo)
