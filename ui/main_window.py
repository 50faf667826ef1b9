"""The console's one window, laid out for a 1920x1080 control-room screen:
call intake | map | incident queue + unit board."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from ui.confirm import confirm, status_change_question
from ui.incident_queue import IncidentQueue
from ui.intake import Intake
from ui.log_follower import LogFollower
from ui.map.map_pane import MapPane
from ui.map.road_reload import RoadReload
from ui.map_feed import build_console_basemap
from ui.position_feed import LivePositions
from ui.screen_updates import ScreenUpdates
from ui.unit_board import UnitBoard
from ui.fmt import PositionNames, local_time
from ui.window_actions import on_demand
from ui.workers import run_in_background

REPLAY_HOURS = 12  # what F11 / F12 open: the last hours of the log (a shift)

# Screens opened by a key alone: their modules load when the key is first pressed (each
# attach() binds the key and sets the window's opener), not at every start.
ON_DEMAND = (
    ("ui.callback_list", "open_callback_list", "Ctrl+H"),  # 回访
    ("ui.transfer_dialog", "open_transfer", "Ctrl+T"),  # 转警
    ("ui.fraud_panel", "open_fraud_panel", "Ctrl+Shift+F"),  # 紧急止付
    ("ui.refer_dialog", "open_refer_dialog", "Ctrl+Shift+D"),  # 纠纷移交
    ("ui.referral_list", "open_referral_list", "Ctrl+Shift+R"),  # 移交回访
    ("ui.report_pdf", "save_report", "Ctrl+P"),  # 报告
)


class MainWindow(QMainWindow):
    def __init__(self, app: App, map_pane: MapPane | None = None) -> None:
        """``map_pane``: a pane made without its basemap before the database was opened
        (ui.app.open_map_early), its page loading since; given the basemap here."""
        super().__init__()
        self.app = app
        s = app.settings
        mode = "【培训演练 · 数据库副本，不影响实战】 " if s.training else ""
        self.setWindowTitle(f"{mode}110 接处警调度台 — {s.seat} · {s.operator}")
        # the map first: its web engine starts its own processes, which load the page while
        # the rest of the window is built
        if map_pane is not None and map_pane.cache_dir != s.cache_dir:  # another database's page
            map_pane.deleteLater()
            map_pane = None
        if map_pane is not None:
            self.map = map_pane
            self.map.use_basemap(build_console_basemap(app))
        else:
            self.map = MapPane(build_console_basemap(app), s.cache_dir, tile_url=s.tile_url)
        self.intake = Intake(app)
        self.queue = IncidentQueue()
        self._places = PositionNames(app)
        self.board = UnitBoard(s.ack_timeout_s, s.targets.arrival_city_s, tz=s.tz, describe=self._places,
                               stale_after_s=s.stale_position_s)
        self._incidents: list[queries.IncidentView] = []
        self._dialogs: list = []
        self._replay_loading = False  # F11 / F12 folding a period in the background
        self._map_incident: int | None = None  # the incident whose point and routes the map shows
        self._last_closed: int | None = None

        queue_buttons = QHBoxLayout()
        for text, slot in (("处理 (Enter)", self._work_on_selected), ("时间线 (F9)", self.open_timeline),
                           ("结警 (F8)", self.close_incident)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            if "结警" in text:
                b.setObjectName("danger")
            queue_buttons.addWidget(b)
        right_top = QWidget()
        rt = QVBoxLayout(right_top)
        rt.setContentsMargins(0, 0, 0, 0)
        rt.addWidget(self.queue)
        rt.addLayout(queue_buttons)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(right_top)
        right.addWidget(self.board)
        right.setSizes([430, 570])
        # the intake scrolls inside its pane: warnings never push the window past the screen
        self.intake_scroll = QScrollArea()
        self.intake_scroll.setWidget(self.intake)
        self.intake_scroll.setWidgetResizable(True)
        self.intake_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.intake_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.intake_scroll.setMinimumWidth(420)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.intake_scroll)
        main.addWidget(self.map)
        main.addWidget(right)
        main.setSizes([520, 780, 620])
        main.setChildrenCollapsible(False)
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.banner: QLabel | None = None
        if s.training:
            self.banner = QLabel("培训演练 · 本席位使用数据库副本，所有操作不影响实战数据")
            self.banner.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
            self.banner.setObjectName("training_banner")
            self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.banner.setStyleSheet("background:#9e6a03;color:#ffffff;font-weight:bold;font-size:16px;"
                                      "padding:4px 8px")
            col.addWidget(self.banner)
        col.addWidget(main, 1)
        self.setCentralWidget(central)
        self.clock_label = QLabel()
        self.clock_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warm_label = QLabel("")
        self.warm_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warm_label.setObjectName("warm")
        self.statusBar().addPermanentWidget(self.warm_label)
        for text in (f"数据库：{_short_url(s.database_url)}", "地图数据 © OpenStreetMap contributors (ODbL)"):
            label = QLabel(text)
            label.setTextFormat(Qt.TextFormat.PlainText)  # (a path may hold anything)
            self.statusBar().addPermanentWidget(label)
        self.statusBar().addPermanentWidget(self.clock_label)

        self.follower = LogFollower(app, parent=self)
        self.updates = ScreenUpdates(self)  # the follower's batches change only their rows and markers
        self.basemap_reload = RoadReload(self.map, self.follower.changed, lambda: build_console_basemap(app))
        self.basemap_reload.failed.connect(self._on_message)
        self.follower.failed.connect(self._on_message)
        self.intake.acted.connect(self.follower.poll)
        self.live = LivePositions(self)  # fixes write no events: their own feed moves the units
        self.intake.message.connect(self._on_message)
        self.intake.candidates_changed.connect(self.map.set_candidates)
        self.intake.candidate_highlighted.connect(self._on_candidate_highlighted)
        self.intake.located.connect(self._on_located)
        self.intake.dispatched.connect(self._on_dispatched)
        self.map.map_clicked.connect(self._on_map_clicked)
        self.map.candidate_clicked.connect(self._on_candidate_clicked)
        self.map.incident_clicked.connect(self._on_incident_clicked)
        self.map.unit_clicked.connect(self.board.select)
        self.queue.activated.connect(self._on_incident_clicked)
        self.board.status_requested.connect(self._on_status_requested)
        self.board.refused.connect(self._on_message)
        self.board.view.installEventFilter(self)
        self._shortcuts()
        from ui import cti_feed, import_screen, joint_response_panel, register_loader
        for extra in (cti_feed, joint_response_panel, register_loader, import_screen):
            extra.attach(self)  # phone line, 联动 and its reminder, 地名库 and 数据导入 (status-bar buttons)
        for module, opener, keys in ON_DEMAND:
            on_demand(self, module, opener, keys)
        self.intake.restore_draft()  # a draft left by a crash goes back into its incident
        self._own_shortcuts()
        self._tick_timer = QTimer(self)
        self._tick_timer.timeout.connect(self._tick)
        self._tick_timer.start(1000)
        self.reload()
        self._tick()

    def _shortcuts(self) -> None:
        keys = {
            "F2": self.new_call, "F3": self._focus_place, "F4": self.intake.category.setFocus,
            "Ctrl+S": self.intake.save_details, "F5": self.intake.recommend,
            "F6": self.intake.dispatch_checked, "F7": self.board.view.setFocus,
            "F8": self.close_incident, "F9": self.open_timeline, "F10": self.queue.view.setFocus,
            "F11": self.open_shift_review, "F12": self.open_replay,
            "Shift+F11": self.open_lead_view,  # 值班长视图 (F11 is the shift review)
        }
        for key, slot in keys.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)

    # ---- refresh from the log ------------------------------------------------------------
    def reload(self) -> None:
        """Re-read every open incident and every unit (start, resync; see ui.screen_updates)."""
        self.updates.reload_all()

    def _clear_map_incident(self) -> None:
        """Remove the point and routes drawn for the incident that was in hand."""
        self._map_incident = None
        self.map.clear_routes()
        self.map.clear_pick_point()

    def _tick(self) -> None:
        self.clock_label.setText(local_time(self.app.clock.now(), with_date=True))
        self.updates.tick()

    def warm_up(self, compiler=None) -> None:  # noqa: ANN001 (subprocess.Popen from ui.app)
        """Compile the routing kernels and load the gazetteer, road graph and reverse
        geocoder in the background; their state stays in the status bar."""
        from ui.app import WARM_STEPS, warm_up

        self._warm = {k: None for k in WARM_STEPS}
        self._show_warm()
        warm_up(self.app, self._on_warm_step, self._on_warm_failed, compiler)

    def _show_warm(self) -> None:
        from ui.app import WARM_STEPS

        failed = [WARM_STEPS[k] for k, v in self._warm.items() if v is False]
        waiting = [WARM_STEPS[k] for k, v in self._warm.items() if v is None]
        if failed:
            self.warm_label.setText("加载失败：" + "、".join(failed))
            self.warm_label.setStyleSheet("color:#f85149")
        elif waiting:
            self.warm_label.setText("准备中：" + "、".join(waiting) + "…")
            self.warm_label.setStyleSheet("color:#d29922")
        else:
            self.warm_label.setText("地名库、路网、路径计算已就绪")
            self.warm_label.setStyleSheet("color:#3fb950")

    def _on_warm_step(self, key: str, _seconds: float) -> None:
        self._warm[key] = True
        self._show_warm()
        if key == "roads":  # unit positions can now be named by the nearest road
            self._places.clear()
            self.board.model.layoutChanged.emit()

    def _on_warm_failed(self, key: str, exc: Exception) -> None:
        self._warm[key] = False
        self._show_warm()
        self._on_message(f"加载失败：{exc}")

    def _on_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # ---- actions -------------------------------------------------------------------------
    def new_call(self) -> None:
        iid = self.intake.new_call()
        if iid is not None:
            self._clear_map_incident()
            self.board.clear_message()
            self.queue.select(iid)

    def _focus_place(self) -> None:
        self.intake.place.setFocus()
        self.intake.place.selectAll()

    def _work_on_selected(self) -> None:
        iid = self.queue.current_id()
        if iid is not None:
            self._on_incident_clicked(iid)

    def _selected_incident(self) -> int | None:
        """The incident an action is for: the queue's row when the queue has the keyboard,
        else the one in the intake, else the one just closed, else the queue's row."""
        if self.queue.view.hasFocus():
            return self.queue.current_id()
        if self.intake.incident_id is not None:
            return self.intake.incident_id
        return self._last_closed if self._last_closed is not None else self.queue.current_id()

    def _own_shortcuts(self) -> None:
        sc = QShortcut(QKeySequence("Ctrl+F"), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(self.open_search)

    def open_search(self) -> None:
        """Ctrl+F: find any incident, closed ones too; Enter opens it, F9 its timeline."""
        from ui.search_dialog import SearchDialog

        dlg = SearchDialog(self.app, self)
        dlg.opened.connect(self._on_incident_clicked)
        dlg.timeline_requested.connect(self.open_timeline_of)
        self._keep(dlg)
        dlg.raise_()
        dlg.activateWindow()

    def close_incident(self) -> None:
        """F8 (and the queue's 结警 button): the 结警 dialog for the incident in hand. With
        none, or one already closed, the intake says why in red (never a silent key)."""
        from ui.close_dialog import NOTHING_IN_HAND, CloseDialog

        iid = self._selected_incident()
        if iid is None:
            self.intake.show_error(f"{NOTHING_IN_HAND}（F10 到警情队列选择）")
            return
        with self.app.session() as s:
            view = queries.incident(s, iid)
        if view is None or not view.status.open:
            self.intake.show_error(f"{NOTHING_IN_HAND}（警情 {iid} 已结警）" if iid == self._last_closed
                                   else f"警情 {iid} 已结警，无需再结警")
            return
        dlg = CloseDialog(view, self)
        if dlg.exec():
            code, note = dlg.values()
            self.do_close(iid, code, note)

    def do_close(self, incident_id: int, code: str, note: str) -> bool:
        try:
            self.app.services.close(incident_id, code, note)
        except DispatchError as exc:
            self.follower.poll()  # another seat's close: the queue and intake show it at once
            self.intake.show_error(str(exc))  # in red where the eyes are (and the status bar)
            return False
        self._last_closed = incident_id
        in_hand = self.intake.incident_id == incident_id
        self.follower.poll()
        if in_hand:
            self.intake.load_incident(None)
            self.board.clear_message()
        if self._map_incident == incident_id:
            self._clear_map_incident()
        self._on_message(f"警情 {incident_id} 已结警")
        return True

    def open_timeline(self) -> None:
        """F9: every event of the incident with time, seat and operator, and its intervals."""
        iid = self._selected_incident()
        if iid is None:
            self._on_message("请先选择警情（Ctrl+F 查找已结警情）")
            return
        self.open_timeline_of(iid)

    def open_timeline_of(self, iid: int) -> None:
        """The timeline of any incident, open or closed."""
        from dispatch.replay.timeline import incident_timeline
        from ui.timeline.incident_dialog import IncidentTimelineDialog

        with self.app.session() as s:
            view = queries.incident(s, iid)
            events = queries.incident_events(s, iid)
        if view is None:
            self._on_message(f"没有警情 {iid}")
            return
        timeline = incident_timeline(view, events, self.app.settings.targets, self.app.settings.ack_timeout_s,
                                     callsigns={u.id: u.callsign for u in self._units})
        self._keep(IncidentTimelineDialog(timeline, view, parent=self))

    def _open_replay_then(self, then) -> None:  # noqa: ANN001
        """Replay and review read the log through their own read-only connection, the last
        REPLAY_HOURS of it (other periods are loaded from the window), folded off the GUI
        thread: the console keeps taking calls meanwhile. `then(window)` once it is open."""
        from dispatch.bootstrap import bootstrap
        from dispatch.replay.state import load_recent

        if self._replay_loading:
            self._on_message("回放数据正在载入，请稍候")
            return
        try:
            ro = bootstrap(self.app.settings, read_only=True)
        except DispatchError as exc:
            self._on_message(str(exc))
            return
        self._replay_loading = True
        self.statusBar().showMessage(f"正在载入回放数据（最近 {REPLAY_HOURS} 小时）……可继续接警")

        def opened(index) -> None:  # noqa: ANN001
            from ui.replay.window import ReplayWindow

            self._replay_loading = False
            self.statusBar().clearMessage()
            try:
                w = ReplayWindow(ro, index, parent=self)
            except DispatchError as exc:
                self._on_message(str(exc))
                return
            self._keep(w)
            then(w)

        def failed(exc: Exception) -> None:
            self._replay_loading = False
            self._on_message(f"回放数据载入失败：{exc}")

        run_in_background(lambda: load_recent(ro, REPLAY_HOURS), opened, failed)

    def open_shift_review(self) -> None:
        """F11: the shift timeline (units x time) and statistics, for the shift lead."""
        self._open_replay_then(lambda w: w.open_shift_timeline())

    def open_lead_view(self) -> None:
        """Shift+F11: 值班长视图 — seats, calls waiting for dispatch, 改派席位 / 重新打开."""
        from ui.lead_view import LeadView

        view = next((d for d in self._dialogs if isinstance(d, LeadView)), None)
        if view is None:
            view = LeadView(self.app, self.follower, parent=self)
            self._keep(view)
        view.raise_()
        view.activateWindow()
        view.waiting.setFocus()

    def open_replay(self) -> None:
        """F12: replay (read-only) of a period or an incident."""
        self._open_replay_then(lambda _w: None)

    def _keep(self, widget) -> None:  # noqa: ANN001
        widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        widget.destroyed.connect(lambda _=None, w=widget: self._dialogs.remove(w) if w in self._dialogs else None)
        self._dialogs.append(widget)
        widget.show()

    # ---- the unit board: F7 lands on the incident in hand; risky moves are confirmed ------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # F7 (a plain setFocus) or Tab into the board; not a click, nor focus coming back
        # after a dialog, which must leave the cursor where the call-taker put it
        if obj is self.board.view and event.type() == QEvent.Type.FocusIn and event.reason() in (
                Qt.FocusReason.OtherFocusReason, Qt.FocusReason.TabFocusReason,
                Qt.FocusReason.BacktabFocusReason, Qt.FocusReason.ShortcutFocusReason):
            self._land_on_incident_units()
        return super().eventFilter(obj, event)

    def _incident_in_hand(self) -> queries.IncidentView | None:
        iid = self.intake.incident_id
        return next((v for v in self._incidents if v.id == iid), None) if iid is not None else None

    def _land_on_incident_units(self) -> None:
        """F7: the cursor goes to the unit of the incident in hand just dispatched (UnitBoard.land_on)."""
        view = self._incident_in_hand()
        if view is None:
            return
        ids = [a.unit_id for a in sorted(view.assignments, key=lambda a: a.dispatched_at) if a.open]
        self.board.land_on(ids)

    def _on_status_requested(self, unit_id: int, status: str) -> None:
        unit = next((u for u in self._units if u.id == unit_id), None)
        fix = self.live.arrival_fix(unit_id, status)  # a confirmed 到场 suggestion: its fix
        question = status_change_question(unit, UnitStatus(status), self.intake.incident_id, self._incidents) \
            if unit is not None and fix is None else None
        if question is not None:
            action = "撤回" if status == UnitStatus.AVAILABLE.value else UnitStatus(status).label
            if not confirm(self, f"确认 — {unit.callsign}", question, action):
                self._on_message(f"已取消：{unit.callsign} 状态未改变")
                return
        try:
            self.app.services.set_unit_status(unit_id, status, fix=fix)
        except DispatchError as exc:
            self._on_message(str(exc))
            return
        self.follower.poll()

    def _on_map_clicked(self, lon: float, lat: float) -> None:
        if self.intake.incident_id is not None:
            self.intake.locate_manual(lon, lat)

    def _on_candidate_clicked(self, index: int) -> None:
        self.intake.candidates.setCurrentRow(index)
        self.intake.pick_candidate(index)

    def _on_candidate_highlighted(self, index: int) -> None:
        if index >= 0:
            self.map.highlight_candidate(index)

    def _on_located(self, lon: float, lat: float) -> None:
        self.map.set_candidates([])
        self._map_incident = self.intake.incident_id
        self.map.set_pick_point(lon, lat, "警情地点")
        self.map.focus(lon, lat)

    def _on_incident_clicked(self, incident_id: int) -> None:
        self._last_closed = None  # the incident in the intake is the one in hand now
        self.queue.select(incident_id)
        self.intake.load_incident(incident_id)
        self.board.clear_message()
        with self.app.session() as s:
            view = queries.incident(s, incident_id)
        self._clear_map_incident()
        if view and view.lon is not None:
            self._map_incident = incident_id
            self.map.set_pick_point(view.lon, view.lat, f"警情 {incident_id}")
            self.map.focus(view.lon, view.lat)
            self._draw_routes(view, [a.unit_id for a in view.assignments if a.open])

    def _on_dispatched(self, incident_id: int, routes: list) -> None:
        self._map_incident = incident_id
        for unit_id, callsign, coords, metres in routes:
            self._show_route(unit_id, callsign, coords, metres)

    def _show_route(self, unit_id: int, callsign: str, coords, metres: float) -> None:  # noqa: ANN001
        self.map.show_route(f"u{unit_id}", [list(p) for p in coords], f"{callsign} 路线 {metres / 1000:.1f} 公里")

    def _draw_routes(self, view: queries.IncidentView, unit_ids: list[int]) -> None:
        """Routes from the units' current positions (a reopened incident)."""
        units = {u.id: u for u in self._units}
        targets = [units[u] for u in unit_ids if u in units]
        to = (view.lon, view.lat)

        def compute() -> list:
            roads = self.app.roads
            return [(u, roads.route(u.kind.travel, (u.lon, u.lat), to)) for u in targets]

        def draw(routes: list) -> None:
            for u, r in routes:
                self._show_route(u.id, u.callsign, r.coords, r.meters)

        run_in_background(compute, draw, lambda exc: self._on_message(f"路线计算失败：{exc}"))

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self.intake.close_cleanly()  # nothing unsaved: no draft to restore at the next start
        self.follower.stop()
        self.live.stop()
        self._tick_timer.stop()
        super().closeEvent(event)


def _short_url(url: str) -> str:
    if url.startswith("sqlite"):
        return url.split("///", 1)[-1]
    return url.split("@")[-1]
