"""The unit board: every unit's status, time in status, incident and position (with
its source and age; grey when stale), with the status moves as buttons; overdue
dispatches turn red; a unit 出发 whose fix is within 50 m of its incident is offered
到场 on one key. A status key the unit's state does not allow changes nothing and says
why, naming the current status and the keys that are allowed (the domain's moves); the
message goes when what it described is gone (another row, the unit's new status, another
incident in hand). F7 lands on the unit of the incident in hand just dispatched, always
scrolled into view."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton,
                               QTableView, QVBoxLayout, QWidget)

from dispatch.domain.alerts import assignment_alert
from dispatch.domain.duty import shown_status
from dispatch.domain.errors import IllegalTransition
from dispatch.domain.units import UnitSnapshot, UnitStatus, check_unit_move, next_unit_statuses, position_stale
from dispatch.feeds.position_follower import Moved, arrival_distance
from dispatch.services.queries import IncidentView
from ui import theme
from ui.fmt import duration, position_text
from ui.tables import ColumnFitter

# (lon, lat) -> a name for the position ("福州路 北15米"), or None when unknown
Describe = Callable[[float, float], "str | None"]

COLUMNS = ("呼号", "类型", "状态", "状态时长", "警情", "位置", "在岗时段", "提示")
POSITION_COLUMN = COLUMNS.index("位置")
ACTIONS = ((UnitStatus.ACKNOWLEDGED, "签收", "Ctrl+1"), (UnitStatus.EN_ROUTE, "出发", "Ctrl+2"),
           (UnitStatus.ON_SCENE, "到场", "Ctrl+3"), (UnitStatus.AVAILABLE, "空闲/撤回", "Ctrl+4"))
SOURCE_LABELS = {"post": "驻点", "avl": "车载终端", "manual": "手动"}
RESIZE_SAMPLE_ROWS = 50
SUGGEST = QColor("#1f6f3f")  # a 到场 suggestion: the row to confirm with Ctrl+3
NO_UNIT = "当前警情没有在派的警力"  # F7 on an incident in hand without a unit
# how the keyboard brings the board into focus (F7, Tab): not a click, nor a dialog closing
KEY_FOCUS = (Qt.FocusReason.OtherFocusReason, Qt.FocusReason.TabFocusReason,
             Qt.FocusReason.BacktabFocusReason, Qt.FocusReason.ShortcutFocusReason)


class UnitBoardModel(QAbstractTableModel):
    def __init__(self, ack_timeout_s: float = 60.0, arrival_target_s: float = 300.0,
                 tz: str = "Asia/Shanghai", describe: Describe | None = None,
                 stale_after_s: float | None = None, suggest: bool = True) -> None:
        """`suggest`: offer 到场 (Ctrl+3) for units near their incident (not in replay,
        which is read-only: no key acts there)."""
        super().__init__()
        self.tz, self._describe, self.stale_after_s = tz, describe, stale_after_s
        self._suggesting = suggest
        self._suggest: dict[int, tuple[int, float]] = {}  # unit id -> (incident id, metres)
        self._units: list[UnitSnapshot] = []
        self._rows: dict[int, int] = {}  # unit id -> row
        self._alerts: dict[int, str] = {}
        self._now: datetime | None = None
        self._incidents: list[IncidentView] = []
        self.ack_timeout_s, self.arrival_target_s = ack_timeout_s, arrival_target_s

    def set_units(self, units: list[UnitSnapshot], incidents: list[IncidentView], now: datetime) -> None:
        self.beginResetModel()
        self._units, self._incidents, self._now = list(units), list(incidents), now
        self._rows = {u.id: i for i, u in enumerate(self._units)}
        self._alerts = self._compute_alerts(now)
        self._suggest = {}
        for u in self._units:
            self._update_suggestion(u)
        self.endResetModel()

    def apply(self, units: Sequence[UnitSnapshot], incidents: list[IncidentView], now: datetime) -> set[int]:
        """Replace these units' rows (a new unit is inserted at its place by id) and take
        the open incidents as they are now; only the rows whose unit, alert or 到场
        suggestion changed are redrawn. Returns the ids of the units whose alert changed."""
        before_alerts, before_suggest = self._alerts, dict(self._suggest)
        self._incidents, self._now = list(incidents), now
        changed: set[int] = set()
        for u in units:
            row = self._rows.get(u.id)
            if row is None:
                row = next((i for i, x in enumerate(self._units) if x.id > u.id), len(self._units))
                self.beginInsertRows(QModelIndex(), row, row)
                self._units.insert(row, u)
                self._rows = {x.id: i for i, x in enumerate(self._units)}
                self.endInsertRows()
            else:
                self._units[row] = u
            changed.add(u.id)
        self._alerts = self._compute_alerts(now)
        alerted = {k for k in before_alerts.keys() | self._alerts.keys()
                   if before_alerts.get(k) != self._alerts.get(k)}
        by_id = {v.id: v for v in self._incidents}
        for u in self._units:  # an incident that moved may bring an en-route unit within 50 m
            if u.id in self._suggest or (u.status is UnitStatus.EN_ROUTE and u.position_source != "post"):
                self._update_suggestion(u, by_id)
        changed |= alerted | {k for k in before_suggest.keys() | self._suggest.keys()
                              if before_suggest.get(k) != self._suggest.get(k)}
        rows = sorted(r for k in changed if (r := self._rows.get(k)) is not None)
        for first, last in _runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        return alerted

    def update_positions(self, moved: Sequence[Moved]) -> list[UnitSnapshot]:
        """Move the units in `moved` (their rows only, no reset: one dataChanged per run of
        adjacent rows); returns their new snapshots."""
        rows = self._rows
        out, moved_rows, hinted = [], set(), set()
        for m in moved:
            row = rows.get(m.unit_id)
            if row is None:
                continue
            u = replace(self._units[row], lon=m.lon, lat=m.lat, position_at=m.at, position_source=m.source)
            self._units[row] = u
            before = self._suggest.get(u.id)
            self._update_suggestion(u)
            out.append(u)
            (hinted if self._suggest.get(u.id) != before else moved_rows).add(row)
        # a fix changes the 位置 cell only (no refit of the columns); a 到场 suggestion
        # that comes or goes recolours its whole row
        for first, last in _runs(sorted(moved_rows)):
            self.dataChanged.emit(self.index(first, POSITION_COLUMN), self.index(last, POSITION_COLUMN))
        for first, last in _runs(sorted(hinted)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        return out

    def _update_suggestion(self, u: UnitSnapshot, by_id: dict[int, IncidentView] | None = None) -> None:
        wanted = self._suggesting and u.status is UnitStatus.EN_ROUTE and u.position_source != "post"
        inc = None if not wanted else by_id.get(u.incident_id) if by_id is not None \
            else next((v for v in self._incidents if v.id == u.incident_id), None)
        metres = arrival_distance(u.lon, u.lat, inc.lon, inc.lat) if inc is not None else None
        if metres is None:
            self._suggest.pop(u.id, None)
        else:
            self._suggest[u.id] = (inc.id, metres)

    def suggestion(self, unit_id: int) -> tuple[int, float] | None:
        """(incident id, metres) when this unit 出发 has a fix within 50 m of its incident."""
        return self._suggest.get(unit_id)

    def stale(self, u: UnitSnapshot) -> bool:
        """A unit with a terminal or manual fix silent longer than its kind's limit."""
        return self._now is not None and position_stale(u, self._now, self.stale_after_s)

    def unit(self, unit_id: int) -> UnitSnapshot | None:
        row = self.row_of(unit_id)
        return self._units[row] if row >= 0 else None

    def latest_dispatch(self, unit_ids: Sequence[int]) -> list[int]:
        """Of `unit_ids`, those still assigned by the latest dispatch (one 派警 gives its units
        one instant), in the order given; all of them when the incidents do not say."""
        wanted = set(unit_ids)
        when = {a.unit_id: a.dispatched_at for inc in self._incidents for a in inc.assignments
                if a.open and a.unit_id in wanted}
        if not when:
            return list(unit_ids)
        last = max(when.values())
        return [uid for uid in unit_ids if when.get(uid) == last]

    def tick(self, now: datetime) -> None:
        self._now = now
        self._alerts = self._compute_alerts(now)
        if self._units:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._units) - 1, len(COLUMNS) - 1))

    def _compute_alerts(self, now: datetime) -> dict[int, str]:
        out = {}
        for inc in self._incidents:
            for a in inc.assignments:
                if a.open:
                    alert = assignment_alert(a.dispatched_at, a.acknowledged_at, a.arrived_at, a.eta_s,
                                             now, self.ack_timeout_s, self.arrival_target_s)
                    if alert:
                        out[a.unit_id] = alert
        return out

    @property
    def alerts(self) -> dict[int, str]:
        """Unit id -> why its dispatch needs attention (未签收 / 超时未到场)."""
        return self._alerts

    def alert(self, unit_id: int) -> str | None:
        return self._alerts.get(unit_id)

    def shown_status(self, u: UnitSnapshot) -> UnitStatus:
        """The one duty rule: 不在岗 outside the unit's duty windows."""
        return shown_status(u, self._now, self.tz) if self._now else u.status

    def position(self, u: UnitSnapshot) -> str:
        """Where the unit is, in words a call-taker reads: never raw coordinates. A live
        fix starts with its source and age (a fixed-width head the column never elides),
        and a 到场 suggestion with the key that confirms it."""
        text = position_text(u, self._describe)
        hint = self._suggest.get(u.id)
        head = f"按 Ctrl+3 确认到场（距警情 {hint[1]:.0f} 米）· " if hint is not None else ""
        if u.position_source == "post" or u.position_at is None or self._now is None:
            return head + text
        age = duration((self._now - u.position_at).total_seconds())
        source = SOURCE_LABELS.get(u.position_source, u.position_source)
        return f"{head}{source} {age}前" + ("（已过时）" if self.stale(u) else "") + f" · {text}"

    def unit_at(self, row: int) -> UnitSnapshot | None:
        return self._units[row] if 0 <= row < len(self._units) else None

    def row_of(self, unit_id: int) -> int:
        return self._rows.get(unit_id, -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._units)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._units)):
            return None
        u = self._units[index.row()]
        col = index.column()
        alert = self._alerts.get(u.id)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return u.callsign
            if col == 1:
                return u.kind.label
            if col == 2:
                return self.shown_status(u).label
            if col == 3:
                return duration((self._now - u.status_since).total_seconds()) \
                    if self._now and u.status_since else ""
            if col == 4:
                return str(u.incident_id) if u.incident_id else ""
            if col == 5:
                return self.position(u)
            if col == 6:
                return "、".join(str(w) for w in u.duty) or "全天"
            if col == 7:
                hint = self._suggest.get(u.id)
                if hint is not None:
                    return f"距警情 {hint[1]:.0f} 米 · 按 Ctrl+3 确认到场"
                return alert or ""
        suggest = u.id in self._suggest
        if role == Qt.ItemDataRole.ToolTipRole and col == 5:
            return self.position(u)  # the whole text where the column cuts it short
        if role == Qt.ItemDataRole.BackgroundRole and (alert or suggest):
            return QBrush(SUGGEST if suggest else theme.ALERT)
        if role == Qt.ItemDataRole.ForegroundRole:
            if alert or suggest:
                return QBrush(theme.ALERT_TEXT)
            if self.stale(u):
                return QBrush(theme.MUTED)
            if col == 2:
                return QBrush(QColor(theme.STATUS_COLOURS.get(self.shown_status(u).value, "#e6edf3")))
        if role == Qt.ItemDataRole.UserRole:
            return u.id
        return None


def refusal(u: UnitSnapshot, target: UnitStatus) -> str | None:
    """Why the board's key for `target` does nothing on this unit (None: allowed): the
    domain's refusal and the board's keys that are allowed now."""
    try:
        check_unit_move(u.callsign, u.status, target)
    except IllegalTransition as exc:
        allowed = set(next_unit_statuses(u.status))
        offered = "、".join(f"{label} ({keys})" for status, label, keys in ACTIONS if status in allowed)
        return f"{exc}；" + (f"可用：{offered}" if offered else "看板上没有可用的状态操作")
    return None


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers -> (first, last) of each run of adjacent rows."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


class UnitBoard(QWidget):
    """Signals: `status_requested(unit_id, status_value)`, `selected(unit_id)`,
    `refused(text)` when the board does not do what a key asked: a status key not allowed
    (also shown in `message`), F7 with no unit on the incident in hand."""

    status_requested = Signal(int, str)
    selected = Signal(int)
    refused = Signal(str)

    def __init__(self, ack_timeout_s: float = 60.0, arrival_target_s: float = 300.0,
                 read_only: bool = False, parent: QWidget | None = None, tz: str = "Asia/Shanghai",
                 describe: Describe | None = None, stale_after_s: float | None = None) -> None:
        super().__init__(parent)
        self.model = UnitBoardModel(ack_timeout_s, arrival_target_s, tz, describe, stale_after_s,
                                    suggest=not read_only)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(24)
        # columns are sized from a sample of rows, and not at every change of a cell (a
        # moved unit, the tick): see ui.tables.ColumnFitter
        self.view.horizontalHeader().setResizeContentsPrecision(RESIZE_SAMPLE_ROWS)
        self.columns = ColumnFitter(self.view, stretch=POSITION_COLUMN)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.view.installEventFilter(self)
        title = QLabel("警力看板")
        title.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        title.setObjectName("title")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(title)
        lay.addWidget(self.view)
        self.message = QLabel("")  # a refused key, next to the keys; goes when the unit changes
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.hide()
        self._said_about: tuple[int, UnitStatus] | None = None
        lay.addWidget(self.message)
        self.buttons: dict[UnitStatus, QPushButton] = {}
        if not read_only:
            row = QHBoxLayout()
            for status, label, keys in ACTIONS:
                b = QPushButton(f"{label} ({keys})")
                b.clicked.connect(lambda _=False, s=status: self._request(s))
                sc = QShortcut(QKeySequence(keys), self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(lambda s=status: self._request_if_allowed(s))
                row.addWidget(b)
                self.buttons[status] = b
            lay.addLayout(row)
        self._update_buttons()

    def set_units(self, units: list[UnitSnapshot], incidents: list[IncidentView], now: datetime) -> None:
        keep = self.current_id()
        self.model.set_units(units, incidents, now)
        if keep is not None:
            self.select(keep)
        self._update_buttons()

    def tick(self, now: datetime) -> None:
        self.model.tick(now)

    def apply(self, units: Sequence[UnitSnapshot], incidents: list[IncidentView], now: datetime) -> set[int]:
        """Only the rows of these units (and of those whose alert changed); the selection
        and the scroll position stay; the buttons follow the current row's new status."""
        out = self.model.apply(units, incidents, now)
        self._update_buttons()
        return out

    def update_positions(self, moved: Sequence[Moved]) -> list[UnitSnapshot]:
        """The units that moved, updated in place; the buttons follow the current row."""
        out = self.model.update_positions(moved)
        self._update_buttons()
        return out

    def current_id(self) -> int | None:
        u = self.model.unit_at(self.view.currentIndex().row())
        return u.id if u else None

    def select(self, unit_id: int) -> None:
        row = self.model.row_of(unit_id)
        if row >= 0:
            self.view.selectRow(row)

    def land_on(self, unit_ids: list[int]) -> bool:
        """F7: put the cursor on the unit just dispatched of `unit_ids` (the units still on
        the incident in hand): the first unit of the incident's latest dispatch, unless the
        cursor is already on a unit of that dispatch. The cursor's row is scrolled into view.
        False when none of them is on the board: the cursor stays, in view, and `refused`
        says the incident has no unit."""
        shown = [uid for uid in unit_ids if self.model.row_of(uid) >= 0]
        if not shown:
            self.scroll_to_current()
            self.refused.emit(NO_UNIT)
            return False
        latest = self.model.latest_dispatch(shown)
        if self.current_id() not in latest:
            self.select(latest[0])
        self.scroll_to_current()
        return True

    def scroll_to_current(self) -> None:
        """The cursor's row in view (a row scrolled away is where a key would act unseen)."""
        current = self.view.currentIndex()
        if current.isValid():
            self.view.scrollTo(current)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # the keyboard brings the board into focus (F7, Tab): the row a key acts on is seen
        if obj is self.view and event.type() == QEvent.Type.FocusIn and event.reason() in KEY_FOCUS:
            self.scroll_to_current()
        return super().eventFilter(obj, event)

    def clear_message(self) -> None:
        """The incident in hand changed (another loaded, a new call, the one in hand closed):
        the line under the board said about what was on screen before goes."""
        self._say("")

    def _request_if_allowed(self, status: UnitStatus) -> None:
        u = self.model.unit_at(self.view.currentIndex().row())
        why = "请先在警力看板上选择警力（F7）" if u is None else refusal(u, status)
        if why is not None:
            self._say(why, (u.id, u.status) if u else None)
            self.refused.emit(why)
            return
        self._request(status)

    def _say(self, text: str, about: tuple[int, UnitStatus] | None = None) -> None:
        """The refusal line; `about` is the unit and status it describes."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self._said_about = about

    def _request(self, status: UnitStatus) -> None:
        uid = self.current_id()
        if uid is not None:
            self.status_requested.emit(uid, status.value)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
        u = self.model.unit_at(current.row())
        if u:
            self.selected.emit(u.id)

    def _update_buttons(self) -> None:
        u = self.model.unit_at(self.view.currentIndex().row())
        if self.message.text() and (u is None or (u.id, u.status) != self._said_about):
            self._say("")  # another unit, or its status changed: the refusal no longer applies
        allowed = set(next_unit_statuses(u.status)) if u else set()
        for status, b in self.buttons.items():
            b.setEnabled(status in allowed)
