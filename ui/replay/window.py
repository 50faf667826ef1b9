"""ReplayWindow: the console's own widgets (queue, unit board, map) showing the state
at the replay cursor; choose a period or an incident, play/pause, speed 1×–60×, scrub.
Read-only: it holds a read-only App and no widget in it can write."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from PySide6.QtCore import QDateTime, Qt, QTimer, QTimeZone
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDateTimeEdit, QDialog, QHBoxLayout, QLabel, QMainWindow,
                               QPushButton, QSlider, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from dispatch.domain.errors import DispatchError
from dispatch.services import queries
from dispatch.replay.state import ReplayIndex, ReplayState, load_index, log_end
from dispatch.replay.stats import compute_stats
from dispatch.replay.timeline import incident_timeline
from ui.fmt import local_time
from ui.replay.controller import SPEEDS, ReplayController
from ui.workers import run_in_background

LOCAL_TZ = QTimeZone(b"Asia/Shanghai")
REPLAY_RESIZE_ROWS = 30
TRACK_WINDOW_S = 300.0  # each unit's last 5 minutes of positions, drawn up to the cursor
MAP_STALL_S = 2.0  # a drawing the page never answered (reloaded meanwhile): the next is sent anyway


class ConsoleViews:
    """Adapter: feeds a ReplayState to the live console's widgets."""

    def __init__(self, app, with_map: bool) -> None:  # noqa: ANN001
        from ui.incident_queue import IncidentQueue
        from ui.map.map_pane import MapPane
        from ui.map_feed import build_console_basemap
        from ui.unit_board import UnitBoard

        s = app.settings
        self.tz = s.tz
        self.queue = IncidentQueue()
        self.board = UnitBoard(s.ack_timeout_s, s.targets.arrival_city_s, read_only=True, tz=s.tz)
        for table in (self.queue.view, self.board.view):
            # Replay refreshes whole tables many times a second: size columns from a
            # sample of rows, not from every row of a busy shift.
            table.horizontalHeader().setResizeContentsPrecision(REPLAY_RESIZE_ROWS)
        self.map = MapPane(build_console_basemap(app), s.cache_dir, tile_url=s.tile_url) if with_map else None
        self._map_next: tuple | None = None  # the newest state not yet drawn on the map
        self._map_busy, self._map_sent = False, 0.0
        self.map_drawings = 0  # states drawn on the map (fewer than shown while scrubbing)

    def show(self, state: ReplayState, tracks: Callable[[], dict[int, list]] | None = None) -> None:
        """The state at the cursor; `tracks()` (unit id -> recent positions) drawn on the map."""
        self.queue.set_incidents(state.incidents, state.at)
        self.board.set_units(state.units, state.incidents, state.at)
        if self.map is not None:
            self._map_next = (state, tracks)
            if not self._map_busy or time.monotonic() - self._map_sent > MAP_STALL_S:
                self._draw_map()

    def map_idle(self) -> bool:
        """The map shows the latest state (no drawing in flight, none waiting)."""
        return not self._map_busy and self._map_next is None

    def _draw_map(self) -> None:
        """The latest state the cursor reached, on the map: one drawing in flight at a time
        (a scrub sends dozens of states a second; queued in the page they made the markers
        trail the tables by seconds), the markers and tracks made only for what is drawn."""
        from ui.map_feed import incident_markers, unit_markers

        if self._map_next is None or self.map is None:
            self._map_busy = False
            return
        (state, tracks), self._map_next = self._map_next, None
        self._map_busy, self._map_sent = True, time.monotonic()
        self.map_drawings += 1
        self.map.set_units(unit_markers(state.units, {}, state.at, self.tz))
        self.map.set_incidents(incident_markers(state.incidents))
        if tracks is not None:
            self.map.set_tracks(tracks())
        self.map.evaluate("0", lambda _v: self._draw_map())  # (after the three: the page runs them in order)


class ReplayWindow(QMainWindow):
    """The trainer's / shift lead's replay of the log."""

    def __init__(self, app, index: ReplayIndex, with_map: bool = True,  # noqa: ANN001
                 parent: QWidget | None = None) -> None:
        """`index`: the period to show first (replay.state.load_index / load_recent); the
        window loads others, off the GUI thread, when asked for one outside it."""
        super().__init__(parent)
        if not getattr(app, "read_only", False):
            raise DispatchError("回放只能使用只读数据库连接")
        self.app = app
        self.index = index
        self._loading = False
        if self.index.start is None:
            raise DispatchError("数据库中没有可回放的事件")
        self.controller = ReplayController(self.index, parent=self)
        self.views = ConsoleViews(app, with_map)
        self.setWindowTitle("回放（只读）（Esc 关闭）")
        self._fit_to_screen(1600, 900)
        self._build()
        self.controller.state_changed.connect(self._on_state)
        self.controller.playing_changed.connect(self._on_playing)
        self.controller.seek(self.index.start)
        # the keys of replay (Space, ←/→) work at once: not in the 从 date field, which
        # would take them as date edits
        self.slider.setFocus()

    # ---- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        top = QHBoxLayout()
        self.from_edit, self.to_edit = self._dt_edit(self.index.start), self._dt_edit(self.index.end)
        self.load_period = QPushButton("回放时段")
        self.load_period.clicked.connect(self._on_load_period)
        self.incident_box = QSpinBox()
        self.incident_box.setRange(0, 2_000_000_000)
        self.incident_box.setPrefix("警情 ")
        self.load_incident = QPushButton("回放警情")
        self.load_incident.clicked.connect(self._on_load_incident)
        self.incident_box.lineEdit().returnPressed.connect(self._on_load_incident)  # Enter: as the button (QA)
        self.timeline_button = QPushButton("班次时间轴")
        self.timeline_button.clicked.connect(self.open_shift_timeline)
        self.stats_button = QPushButton("统计")
        self.stats_button.clicked.connect(self.open_stats)
        for w in (QLabel("从"), self.from_edit, QLabel("到"), self.to_edit, self.load_period,
                  self.incident_box, self.load_incident, self.timeline_button, self.stats_button):
            top.addWidget(w)
        top.addStretch(1)
        tag = QLabel("只读回放：不会写入实战日志")
        tag.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        tag.setStyleSheet("color:#c62828;font-weight:bold")
        top.addWidget(tag)
        lay.addLayout(top)
        bar = QHBoxLayout()
        self.play_button = QPushButton("播放 (空格)")
        self.play_button.clicked.connect(self.controller.toggle)
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s}×", s)
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.controller.set_speed(self.speed_box.itemData(i)))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setSingleStep(60)  # ←/→ on the slider (where the window opens): ±60 s
        self.slider.setPageStep(600)
        self.slider.valueChanged.connect(self._on_slider)
        self._pending: int | None = None
        self._scrub_timer = QTimer(self)
        self._scrub_timer.setSingleShot(True)
        self._scrub_timer.setInterval(0)
        self._scrub_timer.timeout.connect(self._on_scrub_timer)
        self.time_label = QLabel()
        self.time_label.setTextFormat(Qt.TextFormat.PlainText)
        self.time_label.setMinimumWidth(180)
        for w in (self.play_button, self.speed_box):
            bar.addWidget(w)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.time_label)
        lay.addLayout(bar)
        body = QSplitter(Qt.Orientation.Horizontal)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.views.queue)
        left.addWidget(self.views.board)
        body.addWidget(left)
        if self.views.map is not None:
            body.addWidget(self.views.map)
            body.setSizes([700, 900])
        lay.addWidget(body, 1)
        self.setCentralWidget(central)
        self._set_slider_range()
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.controller.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, activated=lambda: self.controller.step(60))
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, activated=lambda: self.controller.step(-60))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.close)
        # a call comes in while reviewing: F2 goes to the console behind, as everywhere
        QShortcut(QKeySequence(Qt.Key.Key_F2), self, activated=self._new_call_in_console)
        if hasattr(self.views.queue, "activated"):
            self.views.queue.activated.connect(self.open_incident_timeline)

    def _dt_edit(self, value: datetime) -> QDateTimeEdit:
        edit = QDateTimeEdit()
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setTimeZone(LOCAL_TZ)
        edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp()), LOCAL_TZ))
        return edit

    def _set_slider_range(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(1, int(self.controller.length_s)))
        self.slider.blockSignals(False)

    # ---- choosing what to replay ---------------------------------------------------------
    def set_period(self, start: datetime, end: datetime) -> None:
        self.controller.pause()
        self.controller.set_period(start, end)
        self._set_slider_range()
        self._show_period()

    def _show_period(self) -> None:
        """从/到 say the period shown (after an incident's replay, a refused entry)."""
        for edit, value in ((self.from_edit, self.controller.start), (self.to_edit, self.controller.end)):
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp()), LOCAL_TZ))

    def replay_incident(self, incident_id: int, _loaded: bool = False) -> None:
        """Replay one incident: from a minute before its call to a minute after it closed
        (loaded first if it is not in the period loaded)."""
        final = self.index.incident_at(incident_id, self.index.end)
        if final is None and _loaded:  # (an imported call: its events are not in its own times)
            raise DispatchError(f"警情 {incident_id} 不在回放数据中")
        if final is None:
            with self.app.session() as s:
                final = queries.incident(s, incident_id)
            if final is None:
                raise DispatchError(f"没有警情 {incident_id}")
            start = final.received_at - timedelta(minutes=1)
            end = (final.closed_at or log_end(self.app) or final.updated_at) + timedelta(minutes=1)
            self._load(start, end, lambda: self._replay_loaded(incident_id))
            return
        end = final.closed_at or self.index.end
        self.set_period(final.received_at - timedelta(minutes=1), end + timedelta(minutes=1))
        if hasattr(self.views.queue, "select"):
            self.controller.step(60)
            self.views.queue.select(incident_id)

    def _replay_loaded(self, incident_id: int) -> None:
        try:
            self.replay_incident(incident_id, _loaded=True)
        except DispatchError as exc:
            self.statusBar().showMessage(str(exc), 5000)

    def _on_load_period(self) -> None:
        start = datetime.fromtimestamp(self.from_edit.dateTime().toSecsSinceEpoch(), timezone.utc)
        end = datetime.fromtimestamp(self.to_edit.dateTime().toSecsSinceEpoch(), timezone.utc)
        if end <= start:
            self.statusBar().showMessage("结束时间须晚于开始时间；已恢复为正在回放的时段", 5000)
            self._show_period()  # (the refused values would otherwise stay, looking loaded)
            return
        if self._holds(start, end):
            self.set_period(start, end)
        else:
            self._load(start, end, lambda: self.set_period(max(start, self.index.start), end))

    def _holds(self, start: datetime, end: datetime) -> bool:
        """Whether the period loaded has all of start..end that the log has."""
        if start < self.index.start:
            return False
        if end <= self.index.end:
            return True
        last = log_end(self.app)
        return last is None or last <= self.index.end

    def _load(self, start: datetime, end: datetime, then) -> None:  # noqa: ANN001
        """Fold start..end off the GUI thread (from the checkpoint before it: it costs the
        period), then show it and call `then`; the buttons wait meanwhile."""
        if self._loading:
            self.statusBar().showMessage("正在载入，请稍候", 3000)
            return
        self._loading = True
        for b in (self.load_period, self.load_incident):
            b.setEnabled(False)
        self.statusBar().showMessage(
            f"正在载入 {local_time(start, with_date=True)} 至 {local_time(end, with_date=True)} 的回放数据……")

        def loaded(index: ReplayIndex) -> None:
            self._loading_done()
            if index.start is None:
                self.statusBar().showMessage("该时段没有可回放的事件", 5000)
                return
            self.index = index
            self.controller.set_index(index)
            self._set_slider_range()
            self.slider.setFocus()
            then()

        def failed(exc: Exception) -> None:
            self._loading_done()
            self.statusBar().showMessage(f"回放数据载入失败：{exc}", 8000)

        run_in_background(lambda: load_index(self.app, since=start, until=end), loaded, failed)

    def _loading_done(self) -> None:
        self._loading = False
        self.statusBar().clearMessage()
        for b in (self.load_period, self.load_incident):
            b.setEnabled(True)

    def _on_load_incident(self) -> None:
        try:
            self.replay_incident(self.incident_box.value())
        except DispatchError as exc:
            self.statusBar().showMessage(str(exc), 5000)

    # ---- cursor ------------------------------------------------------------------------
    def _on_slider(self, value: int) -> None:
        """Dragging sends many values: draw only the latest one when the loop is idle."""
        self._pending = value
        if not self._scrub_timer.isActive():
            self._scrub_timer.start()

    def _on_scrub_timer(self) -> None:
        if self._pending is not None:
            value, self._pending = self._pending, None
            self.controller.seek_seconds(value)

    def flush_scrub(self) -> None:
        """Apply a pending slider move now (tests, and before reading the cursor)."""
        self._scrub_timer.stop()
        self._on_scrub_timer()

    def _on_state(self, state: ReplayState) -> None:
        index = self.index
        self.views.show(state, lambda: index.tracks_at(state.at, TRACK_WINDOW_S))
        self.slider.blockSignals(True)
        self.slider.setValue(int(self.controller.position_s))
        self.slider.blockSignals(False)
        self.time_label.setText(f"{local_time(state.at, with_date=True)}  ×{self.controller.speed}")

    def _on_playing(self, playing: bool) -> None:
        self.play_button.setText("暂停 (空格)" if playing else "播放 (空格)")

    # ---- other views -------------------------------------------------------------------
    def open_incident_timeline(self, incident_id: int) -> QDialog | None:
        from ui.timeline.incident_dialog import IncidentTimelineDialog
        view = self.index.incident_at(incident_id, self.index.end)
        if view is None:
            return None
        names = {u.id: u.callsign for u in self.index.state_at(self.index.end, interpolate=False).units}
        tl = incident_timeline(view, self.index.incident_events(incident_id), self.app.settings.targets,
                               self.app.settings.ack_timeout_s, callsigns=names)
        dlg = IncidentTimelineDialog(tl, view, self)
        dlg.show()
        return dlg

    def open_shift_timeline(self) -> QDialog:
        from ui.timeline.shift_timeline import ShiftTimeline
        dlg = QDialog(self)
        dlg.setWindowTitle("班次时间轴")
        dlg.resize(1400, 800)
        timeline = ShiftTimeline(self.index, self.controller.start, self.controller.end)
        timeline.incident_clicked.connect(self.open_incident_timeline)
        timeline.set_cursor(self.controller.at)
        self.controller.state_changed.connect(timeline.on_state)
        QVBoxLayout(dlg).addWidget(timeline)
        dlg.timeline = timeline
        dlg.show()
        return dlg

    def open_stats(self) -> QWidget:
        from ui.timeline.stats_view import StatsView
        stats = compute_stats(self.index.final_incidents(), self.app.settings.targets, self.controller.start,
                              self.controller.end, self.app.settings.tz, self.app.settings.ack_timeout_s)
        view = StatsView(stats)
        view.setParent(self, view.windowFlags() | Qt.WindowType.Window)
        view.resize(1200, 800)
        view.show()
        return view

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self.controller.pause()
        super().closeEvent(event)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """At most the screen's free area, centred on it: the title bar is never off-screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(width, height)
            return
        free = screen.availableGeometry()
        self.resize(min(width, free.width()), min(height, free.height() - 40))
        self.move(free.left() + (free.width() - self.width()) // 2, free.top() + max(0, (free.height() - self.height() - 40) // 2))

    def _new_call_in_console(self) -> None:
        console = self.parent()
        if console is not None and hasattr(console, "new_call"):
            console.activateWindow()
            console.raise_()
            console.new_call()
