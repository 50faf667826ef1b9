"""Call intake: caller, place (type-ahead candidates), category and priority,
the recommendation with the incident's grid, and dispatch. Keyboard first."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORIES, CATEGORY_BY_CODE
from dispatch.services.locations import Location
from dispatch.services.queries import IncidentView
from ui.fmt import distance
from ui.place_context import grid_summary, history_summary
from ui.recommendation_list import RecommendationList
from ui.workers import run_in_background

KIND_LABELS = {"road": "道路", "intersection": "路口", "landmark": "地标", "poi": "兴趣点",
               "address": "门牌", "province": "省", "prefecture": "市", "county": "区县",
               "town": "乡镇街道", "village": "村社区", "manual": "地图选点"}


class Intake(QWidget):
    """Signals: `acted()` after any write (the window re-reads the log);
    `candidates_changed(list)` / `candidate_highlighted(int)` for the map;
    `located(float, float)`; `dispatched(incident_id, [(unit_id, callsign, route, metres)])`; `message(str)` for the status bar."""

    acted = Signal()
    candidates_changed = Signal(list)
    candidate_highlighted = Signal(int)
    located = Signal(float, float)
    dispatched = Signal(int, list)
    message = Signal(str)

    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.incident_id: int | None = None
        self._candidates: list = []
        self._seq = 0
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._run_geocode)
        self._build()
        self._set_enabled(False)

    # ---- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 4, 4)
        self.header = QLabel("无当前警情 — 按 F2 新接警")
        self.header.setObjectName("incident")
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        lay.addWidget(self.header)

        caller = QGroupBox("来电（F2 新接警）")
        form = QFormLayout(caller)
        self.number = QLineEdit()
        self.number.setPlaceholderText("来电号码")
        self.name = QLineEdit()
        self.name.setPlaceholderText("报警人姓名")
        for w in (self.number, self.name):
            w.editingFinished.connect(self._save_caller)
        form.addRow("号码", self.number)
        form.addRow("姓名", self.name)
        lay.addWidget(caller)

        place = QGroupBox("地点（F3；↑↓ 选择，回车确认；或在地图上点选）")
        pl = QVBoxLayout(place)
        self.place = QLineEdit()
        self.place.setPlaceholderText("例如：福州路西藏中路口、人民广场附近、rmgc")
        self.place.textEdited.connect(self._on_place_edited)
        self.place.installEventFilter(self)
        self.candidates = QListWidget()
        self.candidates.setMinimumHeight(150)
        self.candidates.currentRowChanged.connect(self.candidate_highlighted.emit)
        self.candidates.itemActivated.connect(lambda _i: self.pick_candidate())
        self.place_label = QLabel("未定位")
        self.place_label.setWordWrap(True)
        pl.addWidget(self.place)
        pl.addWidget(self.candidates)
        pl.addWidget(self.place_label)
        self.history_label = QLabel("")
        self.history_label.setWordWrap(True)
        self.history_label.setObjectName("hint")
        pl.addWidget(self.history_label)
        lay.addWidget(place)

        what = QGroupBox("警情（F4 类别；Ctrl+S 保存）")
        wf = QFormLayout(what)
        self.category = QComboBox()
        self.category.addItem("（请选择类别）", "")
        for c in CATEGORIES:
            self.category.addItem(f"{c.group} · {c.label}", c.code)
        self.category.activated.connect(self._on_category)
        self.priority = QComboBox()
        self.priority.addItem("非紧急", "normal")
        self.priority.addItem("紧急", "urgent")
        self.narrative = QPlainTextEdit()
        self.narrative.setPlaceholderText("简要警情")
        self.narrative.setFixedHeight(64)
        self.save_btn = QPushButton("保存警情 (Ctrl+S)")
        self.save_btn.clicked.connect(self.save_details)
        wf.addRow("类别", self.category)
        wf.addRow("优先级", self.priority)
        wf.addRow("简要", self.narrative)
        wf.addRow("", self.save_btn)
        lay.addWidget(what)

        rec = QGroupBox("推荐警力（F5 推荐；空格勾选；F6 派警）")
        rl = QVBoxLayout(rec)
        self.grid_label = QLabel("")
        self.grid_label.setObjectName("hint")
        self.grid_label.setWordWrap(True)
        self.rec_tree = RecommendationList()
        buttons = QHBoxLayout()
        self.recommend_btn = QPushButton("推荐 (F5)")
        self.recommend_btn.clicked.connect(self.recommend)
        self.dispatch_btn = QPushButton("派警 (F6)")
        self.dispatch_btn.setObjectName("primary")
        self.dispatch_btn.clicked.connect(self.dispatch_checked)
        buttons.addWidget(self.recommend_btn)
        buttons.addWidget(self.dispatch_btn)
        rl.addWidget(self.grid_label)
        rl.addWidget(self.rec_tree)
        rl.addLayout(buttons)
        lay.addWidget(rec, 1)
        lay.addWidget(self.error)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.number, self.name, self.place, self.candidates, self.category, self.priority,
                  self.narrative, self.save_btn, self.recommend_btn, self.dispatch_btn, self.rec_tree):
            w.setEnabled(on)

    # ---- actions ------------------------------------------------------------------------
    def _do(self, fn, *args, **kw):  # noqa: ANN001, ANN202
        """Run one service call; a refusal is shown, nothing else happens."""
        try:
            result = fn(*args, **kw)
        except DispatchError as exc:
            self.show_error(str(exc))
            return None
        self.error.setText("")
        self.acted.emit()
        return result

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.message.emit(text)

    def new_call(self, number: str = "", name: str = "") -> int | None:
        """F2: the incident and its call.received exist from this moment."""
        changes = self._do(self.app.services.open_call, number, name)
        if changes is None:
            return None
        self.load_incident(changes.incident_id)
        self.number.setFocus()
        self.number.selectAll()
        return changes.incident_id

    def load_incident(self, incident_id: int | None) -> None:
        """Show an incident (from F2 or the queue) for further work."""
        self.incident_id = incident_id
        self._candidates = []
        self.candidates.clear()
        self.rec_tree.reset_list()
        self.candidates_changed.emit([])
        self.error.setText("")
        view = self._view()
        self._set_enabled(view is not None and view.status.open)
        if view is None:
            self.header.setText("无当前警情 — 按 F2 新接警")
            for w in (self.number, self.name, self.place):
                w.clear()
            self.narrative.clear()
            self.place_label.setText("未定位")
            self.grid_label.setText("")
            return
        self.header.setText(f"警情 {view.id} · {view.status.label}")
        self.number.setText(view.caller_number)
        self.name.setText(view.caller_name)
        self.place.setText(view.place_text or view.place_name)
        self._show_place(view)
        idx = self.category.findData(view.category)
        self.category.setCurrentIndex(max(0, idx))
        self.priority.setCurrentIndex(1 if view.priority == "urgent" else 0)
        self.narrative.setPlainText(view.narrative)

    def refresh(self) -> None:
        """Re-read the current incident after a change from any seat."""
        view = self._view()
        if view is None:
            return
        self.header.setText(f"警情 {view.id} · {view.status.label}")
        self._show_place(view)
        if not view.status.open:
            self._set_enabled(False)

    def _view(self) -> IncidentView | None:
        if self.incident_id is None:
            return None
        from dispatch.services.queries import incident
        with self.app.session() as s:
            return incident(s, self.incident_id)

    def _show_place(self, view: IncidentView) -> None:
        if view.lon is None:
            self.place_label.setText("未定位")
            self.grid_label.setText("")
            self.history_label.setText("")
            return
        admin = " / ".join(view.place_admin)
        q = f"（{view.qualifier}）" if view.qualifier else ""
        self.place_label.setText(f"已定位：{view.place_name}{q}  {admin}  [{view.lon:.5f}, {view.lat:.5f}]")
        self._show_grid(view.grid_id)
        self._show_history(view)

    def _show_grid(self, grid_id: str | None) -> None:
        self.grid_label.setText(grid_summary(self.app, grid_id))

    def _show_history(self, view: IncidentView) -> None:
        text, alert = history_summary(self.app, view)
        self.history_label.setText(text)
        self.history_label.setStyleSheet("color:#ff7b72;font-weight:bold" if alert else "")

    def _save_caller(self) -> None:
        view = self._view()
        if view is None or not view.status.open:
            return
        if (self.number.text().strip(), self.name.text().strip()) != (view.caller_number, view.caller_name):
            self._do(self.app.services.update_caller, view.id, self.number.text(), self.name.text())

    # ---- place --------------------------------------------------------------------------
    def _on_place_edited(self, _text: str) -> None:
        self._debounce.start()

    def _run_geocode(self) -> None:
        text = self.place.text().strip()
        self._seq += 1
        seq = self._seq
        if not text:
            self._fill_candidates([], seq)
            return
        near = self.app.area_centre()
        run_in_background(lambda: self.app.geocoder.search(text, near=near, limit=8),
                          lambda cands: self._fill_candidates(cands, seq),
                          lambda exc: self._geocode_failed(exc, seq))

    def _geocode_failed(self, exc: Exception, seq: int) -> None:
        if seq == self._seq:
            self._fill_candidates([], seq)
            self.candidates.addItem(QListWidgetItem(f"⚠ {exc}"))

    def _fill_candidates(self, cands: list, seq: int) -> None:
        if seq != self._seq:
            return  # a newer query is on its way
        self._candidates = list(cands)
        self.candidates.clear()
        for i, c in enumerate(self._candidates, 1):
            kind = KIND_LABELS.get(c.kind, c.kind)
            ctx = c.context or " / ".join(c.admin)
            d = f"  {distance(c.distance_m)}" if c.distance_m is not None else ""
            q = f"（{c.qualifier}）" if c.qualifier else ""
            self.candidates.addItem(QListWidgetItem(f"{i}. {c.name}{q}  [{kind}]  {ctx}{d}"))
        if not self._candidates and self.place.text().strip():
            self.candidates.addItem(QListWidgetItem("没有找到匹配的地点，可换一种说法或在地图上点选"))
        if self._candidates:
            self.candidates.setCurrentRow(0)
        self.candidates_changed.emit([
            {"index": i, "name": c.name, "lon": c.lon, "lat": c.lat,
             "label": f"{i + 1}. {c.name}"} for i, c in enumerate(self._candidates)])

    def pick_candidate(self, row: int | None = None) -> bool:
        """Enter: locate the incident at the highlighted candidate."""
        row = self.candidates.currentRow() if row is None else row
        if self.incident_id is None or not (0 <= row < len(self._candidates)):
            if self.place.text().strip() and not self._candidates:
                self.show_error("请先从候选列表中选择地点，或在地图上点选")
            return False
        cand = self._candidates[row]
        if self._do(self.app.services.locate, self.incident_id,
                    Location.from_candidate(cand, self.place.text().strip())) is None:
            return False
        self.located.emit(cand.lon, cand.lat)
        self.refresh()
        self.category.setFocus()
        return True

    def locate_manual(self, lon: float, lat: float) -> None:
        """A click on the map sets the point by hand."""
        if self.incident_id is None:
            return
        if self._do(self.app.services.locate, self.incident_id,
                    Location.manual(lon, lat, self.place.text().strip())) is not None:
            self.located.emit(lon, lat)
            self.refresh()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if obj is self.place:
                if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.candidates.count():
                    step = 1 if key == Qt.Key.Key_Down else -1
                    row = max(0, min(self.candidates.count() - 1, self.candidates.currentRow() + step))
                    self.candidates.setCurrentRow(row)
                    return True
                if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                    if self._debounce.isActive():  # typed and pressed Enter at once
                        self._debounce.stop()
                        self._geocode_now()
                    self.pick_candidate()
                    return True
        return super().eventFilter(obj, event)

    def _geocode_now(self) -> None:
        """Synchronous search for Enter pressed before the debounce fired."""
        self._seq += 1
        try:
            cands = self.app.geocoder.search(self.place.text().strip(), limit=8)
        except DispatchError as exc:
            self.show_error(str(exc))
            cands = []
        self._fill_candidates(cands, self._seq)

    # ---- category -----------------------------------------------------------------------
    def _on_category(self, _index: int) -> None:
        c = CATEGORY_BY_CODE.get(self.category.currentData())
        if c:
            self.priority.setCurrentIndex(1 if c.urgent else 0)
            self.save_details()

    def save_details(self) -> bool:
        if self.incident_id is None:
            return False
        code = self.category.currentData()
        if not code:
            self.show_error("请选择警情类别")
            return False
        return self._do(self.app.services.categorise, self.incident_id, code,
                        self.priority.currentData(), self.narrative.toPlainText()) is not None

    # ---- recommend and dispatch ---------------------------------------------------------
    def recommend(self) -> None:
        if self.incident_id is None:
            return
        view = self._view()
        code = self.category.currentData()
        if view and code and (view.category, view.priority, view.narrative) != \
                (code, self.priority.currentData(), self.narrative.toPlainText().strip()):
            self.save_details()
        iid = self.incident_id
        self.rec_tree.show_busy()
        run_in_background(lambda: self.app.services.recommend(iid),
                          lambda rec: self._show_recommendation(iid, rec),
                          lambda exc: self._recommend_failed(exc))

    def _recommend_failed(self, exc: Exception) -> None:
        self.rec_tree.reset_list()
        self.show_error(str(exc))

    def _show_recommendation(self, incident_id: int, rec) -> None:  # noqa: ANN001
        if incident_id != self.incident_id:
            return
        self.acted.emit()  # unit.recommended was logged
        self.rec_tree.show_recommendation(rec)
        if not rec.ranked:
            self.show_error("没有可派的空闲警力")
        self.rec_tree.setFocus()

    def checked_units(self) -> list[int]:
        return self.rec_tree.checked_units()

    def dispatch_checked(self) -> bool:
        """F6: send the checked units."""
        if self.incident_id is None or self.rec_tree.recommendation is None:
            self.show_error("请先推荐警力 (F5)")
            return False
        ids = self.checked_units()
        if not ids:
            self.show_error("请勾选要派出的警力（空格键勾选）")
            return False
        if self._do(self.app.services.dispatch, self.incident_id, ids, self.rec_tree.estimates()) is None:
            return False
        # the recommendation already traced each unit's road route: draw those
        routes = [(r.unit_id, r.callsign, r.route, r.route_m)
                  for r in self.rec_tree.recommendation.ranked if r.unit_id in ids]
        self.dispatched.emit(self.incident_id, routes)
        self.message.emit(f"已派警：{len(ids)} 个警力")
        self.rec_tree.reset_list()
        self.refresh()
        return True
