"""值班长视图: every seat with its operator and what it holds, the calls waiting for
dispatch (over the target in red), and the lead's two powers, 改派席位 and 重新打开.
Refreshed from the log follower (one path for updates) and ticked each second."""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.domain.roles import ROLE_LABELS, Role
from dispatch.services.seat_overview import HeldIncident, SeatOverview, SeatRow, WaitingCall, seat_overview
from ui import theme
from ui.fmt import duration, local_time

SEAT_COLUMNS = ("席位", "操作员", "角色", "最后操作", "在办警情")
WAIT_COLUMNS = ("警情号", "等待时长", "地点", "类别", "席位")
NEED_LEAD = "需要值班长权限"


def category_label(code: str) -> str:
    c = CATEGORY_BY_CODE.get(code)
    return c.label if c else "未定性"


def held_text(incidents: tuple[HeldIncident, ...]) -> str:
    """"3 起：#12 待派警 纠纷、#15 已派警 盗窃" — what a seat is handling."""
    if not incidents:
        return "—"
    parts = [f"#{i.id} {i.status.label} {category_label(i.category)}" for i in incidents]
    return f"{len(incidents)} 起：" + "、".join(parts)


def role_label(role: str | None) -> str:
    try:
        return ROLE_LABELS[Role(role)] if role else "—"
    except ValueError:
        return role or "—"


class _Model(QAbstractTableModel):
    columns: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.rows: list = []

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


class SeatsModel(_Model):
    columns = SEAT_COLUMNS

    def __init__(self) -> None:
        super().__init__()
        self.now: datetime | None = None
        self.late: dict[str, int] = {}  # seat -> its calls waiting past the target

    def tick(self, now: datetime, late: dict[str, int]) -> None:
        self.now, self.late = now, late
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.columns) - 1))

    def last_activity(self, s: SeatRow) -> str:
        """"03:10:57（2分14秒前）": a seat gone quiet shows at a glance."""
        if s.last_activity is None:
            return "—"
        ago = f"（{duration((self.now - s.last_activity).total_seconds())}前）" if self.now else ""
        return local_time(s.last_activity) + ago

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        s: SeatRow = self.rows[index.row()]
        late = self.late.get(s.seat, 0)
        if role == Qt.ItemDataRole.DisplayRole:
            held = (f"超时待派 {late} 起 · " if late else "") + held_text(s.incidents)
            return (s.seat, s.operator or "—", role_label(s.role), self.last_activity(s), held)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and late and index.column() in (0, 4):
            return QBrush(theme.URGENT)  # the seat sitting on overdue calls
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 4 and s.incidents:
            return "\n".join(f"#{i.id} {i.status.label} {category_label(i.category)} {i.place or '（未定位）'} "
                             f"接警 {local_time(i.received_at)}" for i in s.incidents)
        if role == Qt.ItemDataRole.UserRole:
            return s.seat
        return None


class WaitingModel(_Model):
    """Waiting calls; the wait is recomputed from received_at on each tick (no query)."""

    columns = WAIT_COLUMNS

    def __init__(self) -> None:
        super().__init__()
        self.now: datetime | None = None
        self.target_s = 60.0

    def tick(self, now: datetime) -> None:
        self.now = now
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.columns) - 1))

    def wait_s(self, w: WaitingCall) -> float:
        return max(0.0, (self.now - w.incident.received_at).total_seconds()) if self.now else w.wait_s

    def overdue(self, row: int) -> bool:
        return self.wait_s(self.rows[row]) > self.target_s

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        w: WaitingCall = self.rows[index.row()]
        inc = w.incident
        late = self.overdue(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            wait = duration(self.wait_s(w)) + ("（超时）" if late else "")
            return (str(inc.id), wait, inc.place or "（未定位）", category_label(inc.category),
                    inc.seat or "—")[index.column()]
        if role == Qt.ItemDataRole.BackgroundRole and late:
            return QBrush(theme.ALERT)
        if role == Qt.ItemDataRole.ForegroundRole and late:
            return QBrush(theme.ALERT_TEXT)
        if role == Qt.ItemDataRole.FontRole and late:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.UserRole:
            return inc.id
        return None


def _table(model: _Model, stretch: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside it
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class LeadView(QWidget):
    """The 值班长视图 tool window. `follower` is the main window's LogFollower (its
    `changed` refreshes this view); without one, the view follows the log itself."""

    def __init__(self, app: App, follower=None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent, Qt.WindowType.Tool)
        self.app = app
        self.setWindowTitle("值班长视图")
        self.overview: SeatOverview | None = None
        if follower is None:
            from ui.log_follower import LogFollower
            follower = LogFollower(app, parent=self)
        self.follower = follower
        follower.changed.connect(self.refresh)

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.summary.setObjectName("title")
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.waiting_model, self.seats_model = WaitingModel(), SeatsModel()
        self.waiting = _table(self.waiting_model, 2)
        self.seats = _table(self.seats_model, 4)
        self.waiting.activated.connect(self._on_waiting_activated)
        self.seats.activated.connect(self._on_seat_activated)
        self.waiting.selectionModel().currentRowChanged.connect(self._on_waiting_current)

        self.move_id, self.move_seat, self.move_reason = QLineEdit(), QComboBox(), QLineEdit()
        self.reopen_id, self.reopen_reason = QLineEdit(), QLineEdit()
        for edit in (self.move_id, self.reopen_id):
            # no validator: it dropped the keys it refused, so "1e309" became incident 1309
            # (QA); the number is checked when the action is asked for (_incident_number)
            edit.setPlaceholderText("警情号")
            edit.setMaximumWidth(110)
        self.move_reason.setPlaceholderText("改派原因（可不填）")
        self.reopen_reason.setPlaceholderText("重新打开的原因（必填）")
        self.move_seat.setMinimumWidth(160)
        # editable: a seat that has just logged in has no action in the log yet, so is not
        # listed, and a lead must still be able to hand it calls (QA)
        self.move_seat.setEditable(True)
        self.move_seat.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.move_seat.lineEdit().setPlaceholderText("选择或输入席位")
        self.move_button = QPushButton("改派席位 (Ctrl+M)")
        self.move_button.setObjectName("primary")
        self.reopen_button = QPushButton("重新打开 (Ctrl+R)")
        self.reopen_button.setObjectName("danger")
        for signal, slot in ((self.move_button.clicked, self.move_selected), (self.reopen_button.clicked, self.reopen_typed),
                             (self.move_reason.returnPressed, self.move_selected),
                             (self.reopen_reason.returnPressed, self.reopen_typed),
                             (self.reopen_id.returnPressed, self.reopen_reason.setFocus),
                             (self.move_id.returnPressed, self.move_seat.setFocus)):
            signal.connect(slot)

        self.actions = actions = QGroupBox("值班长操作")
        grid = QGridLayout(actions)
        for col, w in enumerate((QLabel("改派"), self.move_id, QLabel("到席位"), self.move_seat, self.move_reason,
                                 self.move_button)):
            grid.addWidget(w, 0, col)
        for col, span, w in ((0, 1, QLabel("已结警情")), (1, 1, self.reopen_id), (2, 3, self.reopen_reason),
                             (5, 1, self.reopen_button)):
            grid.addWidget(w, 1, col, 1, span)
        grid.setColumnStretch(4, 1)

        def boxed(title: str, view: QTableView, hint: str) -> QWidget:
            w, head = QWidget(), QHBoxLayout()
            for text, name in ((title, "title"), (hint, "hint")):
                label = QLabel(text)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setObjectName(name)
                head.addWidget(label, 1 if name == "title" else 0)
            lay = QVBoxLayout(w)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addLayout(head)
            lay.addWidget(view)
            return w

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(boxed("待派警情（等待派警，超过目标标红）", self.waiting,
                              "↑↓ 选择 · Enter 选改派席位 · Tab 到席位表"))
        split.addWidget(boxed("席位", self.seats, "↑↓ 选择 · Enter 改派到此席位 · Esc 关闭"))
        split.setSizes([380, 320])
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)
        lay.addWidget(actions)
        lay.addWidget(self.message)
        for key, slot in (("Esc", self.close), ("Ctrl+M", self.move_selected), ("Ctrl+R", self.reopen_typed)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self.setTabOrder(self.waiting, self.seats)
        self.resize(1280, 860)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(1000)
        self.refresh()

    # ---- reading -------------------------------------------------------------------------
    @property
    def is_lead(self) -> bool:
        """A logged-in 值班长, or a seat without a login layer (the services then check nothing)."""
        return self.app.actor.role in (None, Role.LEAD.value)

    def refresh(self, _events: list | None = None) -> None:
        now = self.app.clock.now()
        try:
            with self.app.session() as s:
                self.overview = seat_overview(s, now, self.app.settings.targets.dispatch_s)
        except DispatchError as exc:
            self.say(f"刷新失败：{exc}", error=True)
            return
        keep_wait, keep_seat = self._current(self.waiting), self._current(self.seats)
        self.waiting_model.target_s = self.overview.dispatch_target_s
        self.waiting_model.now = now
        self.waiting_model.set_rows(list(self.overview.waiting))
        self.seats_model.set_rows(list(self.overview.seats))
        self._select(self.waiting, keep_wait)
        self._select(self.seats, keep_seat)
        chosen = self.move_seat.currentText()
        self.move_seat.clear()
        self.move_seat.addItems([s.seat for s in self.overview.seats])
        self.move_seat.setCurrentIndex(self.move_seat.findText(chosen) if chosen else -1)  # never a default seat
        self.move_seat.setEditText(chosen)  # (a seat typed, not listed yet, stays typed)
        self._permissions()
        self.tick()

    def tick(self) -> None:
        if self.move_button.isEnabled() != self.is_lead:  # another account logged in at the lock
            self._permissions()
        now = self.app.clock.now()
        self.waiting_model.tick(now)
        late: dict[str, int] = {}
        for i, w in enumerate(self.waiting_model.rows):
            if self.waiting_model.overdue(i):
                late[w.incident.seat] = late.get(w.incident.seat, 0) + 1
        self.seats_model.tick(now, late)
        self._summarise()

    def _summarise(self) -> None:
        if self.overview is None:
            return
        rows = self.waiting_model.rows
        late = sum(self.waiting_model.overdue(i) for i in range(len(rows)))
        target = duration(self.overview.dispatch_target_s)
        self.summary.setText(f"待派 {len(rows)} 起，超时 {late} 起（派警目标 {target}）· "
                             f"席位 {len(self.overview.seats)} 个 · {local_time(self.app.clock.now())}")
        self.summary.setStyleSheet(f"color:{theme.URGENT.name()}" if late else "")

    def _permissions(self) -> None:
        lead = self.is_lead
        for w in (self.move_button, self.reopen_button, self.move_id, self.move_seat, self.move_reason,
                  self.reopen_id, self.reopen_reason):
            w.setEnabled(lead)
            w.setToolTip("" if lead else NEED_LEAD)
        self.setWindowTitle("值班长视图" if lead else f"值班长视图（只读：{NEED_LEAD}）")
        self.actions.setTitle("值班长操作" if lead else f"值班长操作（只读：{NEED_LEAD}）")

    @staticmethod
    def _current(view: QTableView):  # noqa: ANN205
        idx = view.currentIndex()
        return view.model().data(view.model().index(idx.row(), 0), Qt.ItemDataRole.UserRole) if idx.isValid() else None

    @staticmethod
    def _select(view: QTableView, key) -> None:  # noqa: ANN001
        model = view.model()
        for row in range(model.rowCount()):
            if model.data(model.index(row, 0), Qt.ItemDataRole.UserRole) == key:
                view.setCurrentIndex(model.index(row, 0))
                return

    def _on_waiting_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        iid = self.waiting_model.data(self.waiting_model.index(current.row(), 0), Qt.ItemDataRole.UserRole)
        if iid is not None:
            self.move_id.setText(str(iid))

    def _on_waiting_activated(self, index: QModelIndex) -> None:
        self._on_waiting_current(index, index)
        self.seats.setFocus()  # Enter: now choose where it goes

    def _on_seat_activated(self, index: QModelIndex) -> None:
        seat = self.seats_model.data(index, Qt.ItemDataRole.UserRole)
        if seat:
            self.move_seat.setCurrentText(seat)
            self.move_reason.setFocus()

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setObjectName("error" if error else "")
        self.message.setStyleSheet(f"color:{theme.URGENT.name()};font-weight:bold" if error else "color:#3fb950")

    # ---- the lead's actions ----------------------------------------------------------------
    def _incident_number(self, edit: QLineEdit) -> str:
        """The incident number typed in `edit` ("" when none is); anything but a plain
        number is said and gives "" (never read as another number)."""
        text = edit.text().strip()
        if text and not (text.isascii() and text.isdigit() and 0 < int(text) < 2**31):
            self.say(f"警情号应为正整数：「{text[:20]}」", error=True)
            edit.setFocus()
            edit.selectAll()
            return ""
        return text

    def move_selected(self) -> None:
        """改派席位: the incident in the number field (the selected waiting call) to the chosen seat."""
        if not self.is_lead:
            self.say(NEED_LEAD, error=True)
            return
        iid, seat = self._incident_number(self.move_id), self.move_seat.currentText().strip()
        if not iid:
            if not self.move_id.text().strip():
                self.say("请先在待派警情中选择警情，或填写警情号", error=True)
                self.waiting.setFocus()
            return
        if not seat:
            self.say("请选择改派到的席位", error=True)
            self.move_seat.setFocus()
            return
        try:
            self.app.services.move_incident(int(iid), seat, self.move_reason.text().strip())
        except DispatchError as exc:
            self.say(str(exc), error=True)
            return
        self.move_reason.clear()
        self.say(f"警情 {iid} 已改派至 {seat}")
        self.follower.poll()  # the change comes back through the log, as another seat's would

    def reopen_typed(self) -> None:
        """重新打开: a closed incident by number, with a reason."""
        if not self.is_lead:
            self.say(NEED_LEAD, error=True)
            return
        iid, reason = self._incident_number(self.reopen_id), self.reopen_reason.text().strip()
        if not iid:
            if not self.reopen_id.text().strip():
                self.say("请填写要重新打开的已结警情号", error=True)
                self.reopen_id.setFocus()
            return
        if not reason:
            self.say("请填写重新打开的原因", error=True)
            self.reopen_reason.setFocus()
            return
        try:
            self.app.services.reopen(int(iid), reason)
        except DispatchError as exc:
            self.say(str(exc), error=True)
            return
        self.reopen_reason.clear()
        self.say(f"警情 {iid} 已重新打开，回到待派")
        self.follower.poll()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self._timer.stop()
        super().closeEvent(event)
