"""Call intake: caller, place (type-ahead candidates), category and priority, the
recommendation with the incident's grid, and dispatch. Keyboard first: F2, number,
Enter, place, Enter, category, Enter, Enter (see the README's keyboard table). The
geocoder, the reverse geocoder and the recommendation run off the GUI thread; what
is typed but not saved is kept as a draft that survives a crash."""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget)

import json

from dispatch.bootstrap import App
from dispatch.domain.decide import MAX_NAME, MAX_PLACE, check_phone
from dispatch.domain.edit_base import EDITABLE
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.drafts import Draft, clear_draft, draft_path, read_draft, write_draft
from dispatch.services.locations import Location
from dispatch.services.queries import IncidentView, unit_snapshots
from ui.call_links_panel import CallLinksPanel
from ui.confirm import confirm
from ui.caller_history_panel import CallerHistoryPanel
from ui.category_box import CategoryBox
from ui.place_context import place_summary
from ui.message_line import MessageLine, one_line
from ui.place_search import PlaceSearch
from ui.recommendation_list import RecommendationList, busy_reason
from ui.workers import run_in_background

NUMBER_FIELD_MAX = 40
DRAFT_DELAY_MS = 1000   # typed text reaches the draft file within this (and the write)
TYPED = ("caller_number", "caller_name", "category", "priority", "narrative")  # the fields typed on screen


def base_of(view: IncidentView | None) -> dict:
    """What the seat is shown of the fields it may edit: sent with each save
    (dispatch.domain.edit_base), so an edit made on an older view is refused, not applied."""
    if view is None:
        return {}
    return {"caller_number": view.caller_number, "caller_name": view.caller_name, "category": view.category,
            "priority": view.priority, "narrative": view.narrative,
            "place": None if view.lon is None or view.lat is None else [view.lon, view.lat]}


def edit_labels(fields: list[str]) -> list[str]:
    return [EDITABLE[f][0] for f in fields]


def _same(field: str, a: object, b: object) -> bool:
    """Equal as the screen shows them (no category and '' alike; no priority is 非紧急)."""
    if field == "priority":
        return (a or "normal") == (b or "normal")
    return (a or "") == (b or "")


def _say(label: QLabel, text: str) -> None:
    """A message line takes room only while it says something."""
    label.setText(text)
    label.setVisible(bool(text))


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
        self._was_open = False
        self._loading = False     # fields are being filled from the log, not typed
        self._base: dict = {}     # the editable fields as last shown from the log (base_of)
        self._sending: frozenset[int] = frozenset()  # units this seat is dispatching right now
        self._draft_path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._build()
        self._set_enabled(False)

    # ---- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 4, 4)
        self.header = QLabel("无当前警情 — 按 F2 新接警")
        self.header.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.header.setObjectName("incident")
        self.error = MessageLine()  # keeps its room: nothing below moves when a message comes or goes
        self.error.setObjectName("error")
        self.notice = QLabel("")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setStyleSheet("color:#d29922;font-weight:bold")
        self.notice.setWordWrap(True)
        self.error.hide()
        self.notice.hide()
        lay.addWidget(self.header)
        lay.addWidget(self.error)   # at the top: a refusal is seen where the eyes are
        lay.addWidget(self.notice)

        caller = QGroupBox("来电（F2 新接警；回车 → 地点）")
        form = QFormLayout(caller)
        self.number = QLineEdit()
        self.number.setPlaceholderText("来电号码")
        # a number is at most 32 characters (domain.decide.PHONE): a longer paste is cut
        # here, still long enough to be refused with its reason, never 10,000 digits
        # echoed across the intake
        self.number.setMaxLength(NUMBER_FIELD_MAX)
        self.name = QLineEdit()
        self.name.setPlaceholderText("报警人姓名")
        self.name.setMaxLength(MAX_NAME)  # what the log keeps; more cannot be typed
        for w in (self.number, self.name):
            w.editingFinished.connect(self._save_caller)
            w.textEdited.connect(self._touch_draft)
        self.number.returnPressed.connect(self._number_entered)
        self.name.returnPressed.connect(self.focus_place)
        form.addRow("号码", self.number)
        form.addRow("姓名", self.name)
        lay.addWidget(caller)
        self.caller_history = CallerHistoryPanel(self.app)  # the number's earlier calls and mark
        lay.addWidget(self.caller_history)

        self.place_box = PlaceSearch(self.app, self._locate_candidate, self._locate_point)
        self.place_box.candidates_changed.connect(self.candidates_changed.emit)
        self.place_box.candidates_changed.connect(lambda _c: self.clear_error())
        self.place_box.candidate_highlighted.connect(self.candidate_highlighted.emit)
        self.place_box.edited.connect(self._touch_draft)
        self.place_box.problem.connect(self.show_error)
        self.place_box.proposed.connect(self._proposed)
        self.place_box.proposal.finished.connect(lambda: self.category.setFocus())
        b = self.place_box
        self.place, self.candidates, self.place_label, self.history_label = b.edit, b.list, b.label, b.history
        self.place.setMaxLength(MAX_PLACE)  # what the log keeps of the typed place
        lay.addWidget(self.place_box)
        self.call_links = CallLinksPanel(self.app)  # 可能重复报警: link the call to another incident
        self.call_links.problem.connect(self.show_error)
        self.call_links.linked.connect(self._linked)
        self.call_links.unlinked.connect(self._unlinked)
        self.call_links.bind_keys(self)
        lay.addWidget(self.call_links)

        what = QGroupBox("警情（F4 类别：↑↓ 或拼音首字母，回车确认并推荐；Ctrl+S 保存）")
        wf = QFormLayout(what)
        self.category = CategoryBox()
        self.category.currentIndexChanged.connect(self._on_category_stepped)
        self.category.confirmed.connect(self.confirm_category)
        self.category.left.connect(self._on_category_left)
        self.priority = QComboBox()
        self.priority.addItem("非紧急", "normal")
        self.priority.addItem("紧急", "urgent")
        self.priority.currentIndexChanged.connect(self._touch_draft)
        self.narrative = QPlainTextEdit()
        self.narrative.setPlaceholderText("简要警情")
        self.narrative.setFixedHeight(64)
        self.narrative.setTabChangesFocus(True)
        self.narrative.textChanged.connect(self._touch_draft)
        self.save_btn = QPushButton("保存警情 (Ctrl+S)")
        self.save_btn.clicked.connect(self.save_details)
        wf.addRow("类别", self.category)
        wf.addRow("优先级", self.priority)
        wf.addRow("简要", self.narrative)
        wf.addRow("", self.save_btn)
        lay.addWidget(what)

        rec = self.rec_box = QGroupBox("推荐警力（F5 推荐；空格勾选；F6 或回车派警）")
        rl = QVBoxLayout(rec)
        self.grid_label = QLabel("")
        self.grid_label.setTextFormat(Qt.TextFormat.PlainText)
        self.grid_label.setObjectName("hint")
        self.grid_label.setWordWrap(True)
        # at most two lines (the whole text in its tooltip): the list and its buttons stay in view
        self.grid_label.setMaximumHeight(2 * self.grid_label.fontMetrics().lineSpacing() + 4)
        self.grid_label.hide()  # (shown while it says something)
        self.rec_tree = RecommendationList()
        self.rec_tree.dispatch_requested.connect(self.dispatch_checked)
        buttons = QHBoxLayout()
        self.recommend_btn = QPushButton("推荐 (F5)")
        self.recommend_btn.clicked.connect(self.recommend)
        self.dispatch_btn = QPushButton("派警 (F6)")
        self.dispatch_btn.setObjectName("primary")
        self.dispatch_btn.clicked.connect(self.dispatch_checked)
        buttons.addWidget(self.recommend_btn)
        buttons.addWidget(self.dispatch_btn)
        model = self.rec_tree.model()  # (green only with a unit ticked: see _sync_dispatch_btn)
        for signal in (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self._sync_dispatch_btn)
        rl.addWidget(self.grid_label)
        rl.addWidget(self.rec_tree)
        rl.addLayout(buttons)
        lay.addWidget(rec, 1)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.number, self.name, self.place, self.candidates, self.category, self.priority,
                  self.narrative, self.save_btn, self.recommend_btn, self.dispatch_btn, self.rec_tree):
            w.setEnabled(on)
        self._sync_dispatch_btn()

    def _sync_dispatch_btn(self, *_args) -> None:  # noqa: ANN002
        """派警 is the green button only while a unit is ticked: with nothing to send it
        is greyed, so a tired eye does not read it as ready (F6 then says what is missing)."""
        self.dispatch_btn.setEnabled(self.rec_tree.isEnabled() and bool(self.checked_units()))

    # ---- messages -----------------------------------------------------------------------
    def _do(self, fn, *args, keep_error: bool = False, **kw):  # noqa: ANN001, ANN202
        """Run one service call; a refusal is shown, nothing else happens. `keep_error`:
        the message on screen is about something else still wrong (a bad number)."""
        try:
            result = fn(*args, **kw)
        except DispatchError as exc:
            self.show_error(str(exc))
            return None
        if not keep_error:
            self.clear_error()
        self.acted.emit()
        return result

    def show_error(self, text: str) -> None:
        _say(self.error, text)  # (on one line; cut to what fits, the whole in its tooltip)
        self.message.emit(self.error.text())
        self._into_view(self.error)

    def _into_view(self, widget: QWidget) -> None:
        """Scroll the intake, when the window holds it in a scroll area (a screen too short
        for all of it), so that `widget` is seen whole."""
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None:
            area.ensureWidgetVisible(widget, 0, 4)

    def clear_error(self) -> None:
        """The state a message described has changed: the message goes."""
        if self.error.text():
            _say(self.error, "")
            self.message.emit("")

    # ---- the incident in hand -----------------------------------------------------------
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
        """Show an incident (from F2 or the queue), or nothing (None, e.g. after a close):
        nothing of the previous incident stays on screen."""
        self.incident_id = incident_id
        self._draft_timer.stop()
        clear_draft(self._draft_path)
        self.rec_tree.reset_list()
        _say(self.error, "")
        _say(self.notice, "")
        view = self._view()
        self._base = base_of(view)
        self._was_open = view is not None and view.status.open
        self._set_enabled(self._was_open)
        self._set_number_ok(True)
        self._loading = True
        try:
            self.number.setText(view.caller_number if view else "")
            self.name.setText(view.caller_name if view else "")
            self.place_box.reset((view.place_text or view.place_name) if view else "")
            self.category.select(view.category if view else "")
            self.priority.setCurrentIndex(1 if view and view.priority == "urgent" else 0)
            self.narrative.setPlainText(view.narrative if view else "")
        finally:
            self._loading = False
        if view is None:
            self.header.setText("无当前警情 — 按 F2 新接警")
        else:
            self.header.setText(self._header_text(view))
        self._show_place(view)

    def refresh(self) -> None:
        """Re-read the current incident after a change from any seat; an incident closed
        while in hand leaves the intake."""
        view = self._view()
        if view is None:
            return
        if self._was_open and not view.status.open:
            self.load_incident(None)
            self.message.emit(f"警情 {view.id} 已结警")
            return
        self._follow(view)
        self.header.setText(self._header_text(view))
        self._show_place(view)

    def on_screen(self) -> dict:
        """The typed fields as they stand on screen."""
        return {"caller_number": self.number.text().strip(), "caller_name": self.name.text().strip(),
                "category": self.category.currentData() or "", "priority": self.priority.currentData() or "",
                "narrative": self.narrative.toPlainText().strip()}

    def edited(self) -> list[str]:
        """The typed fields changed on screen and not saved yet."""
        screen = self.on_screen()
        return [f for f in TYPED if not _same(f, screen[f], self._base.get(f))]

    def _follow(self, view: IncidentView) -> None:
        """Another action changed the incident: the fields not edited here show the new
        values (and are the new base); a field edited here keeps what was typed, and its
        save will be refused naming who changed it (edit_base)."""
        fresh, edited = base_of(view), set(self.edited())
        self._loading = True
        try:
            for f in TYPED:
                if f in edited or _same(f, fresh[f], self._base.get(f)):
                    continue
                value = fresh[f] or ""
                if f == "caller_number":
                    self.number.setText(value)
                elif f == "caller_name":
                    self.name.setText(value)
                elif f == "category":
                    self.category.select(value)
                elif f == "priority":
                    self.priority.setCurrentIndex(1 if value == "urgent" else 0)
                else:
                    self.narrative.setPlainText(value)
                self._base[f] = fresh[f]
        finally:
            self._loading = False
        self._base["place"] = fresh["place"]

    def _rebase(self, *fields: str) -> None:
        """After this seat saved `fields`: they are the base now (and the draft follows)."""
        fresh = base_of(self._view())
        for f in fields:
            if f in fresh:
                self._base[f] = fresh[f]
        self._draft_timer.stop()
        self.save_draft()  # after a crash the incident comes back into the intake, quietly

    def _based_on(self, *fields: str) -> dict:
        return {f: self._base.get(f) for f in fields}

    def _header_text(self, view: IncidentView) -> str:
        """The incident in hand; when another seat holds it, say so (notes may still be added)."""
        text = f"警情 {view.id} · {view.status.label}"
        if view.status.open and view.seat and view.seat != self.app.settings.seat:
            text += f" · {view.seat} 正在处理"
        return text

    def _view(self) -> IncidentView | None:
        if self.incident_id is None:
            return None
        from dispatch.services.queries import incident
        with self.app.session() as s:
            return incident(s, self.incident_id)

    def _show_calls(self, view: IncidentView | None) -> None:
        """The caller's history and the possible repeats follow the number and the place."""
        self.caller_history.show_number(view.caller_number if view else "", view.id if view else None)
        self.call_links.show_for(view)

    def _linked(self, call_id: int, to_id: int) -> None:
        self.clear_error()
        self.acted.emit()
        self.load_incident(None)
        self.message.emit(f"来电（警情 {call_id}）已关联到警情 {to_id}，按重复报警结警")

    def _unlinked(self, call_id: int) -> None:
        self.acted.emit()
        self.load_incident(call_id)
        self.message.emit(f"警情 {call_id} 已取消关联，恢复为待派警")

    def _show_place(self, view: IncidentView | None) -> None:
        self._show_calls(view)
        if view is None or view.lon is None:
            self.place_label.setText("未定位")
            _say(self.grid_label, "")
            _say(self.history_label, "")
            return
        admin = " / ".join(view.place_admin)
        q = f"（{view.qualifier}）" if view.qualifier else ""
        grid = f"  网格 {view.grid_id}" if view.grid_id else ""
        self.place_label.setText(f"已定位：{view.place_name}{q}  {admin}{grid}")
        grid_text, text, alert = place_summary(self.app, view)
        _say(self.grid_label, grid_text)
        self.grid_label.setToolTip(grid_text)
        _say(self.history_label, text)
        self.history_label.setStyleSheet("color:#ff7b72;font-weight:bold" if alert else "")

    def _number_ok(self) -> bool:
        try:
            check_phone(self.number.text())
        except DispatchError as exc:
            self.show_error(str(exc))
            self._set_number_ok(False)
            return False
        self._set_number_ok(True)
        return True

    def _set_number_ok(self, ok: bool) -> None:
        self.number.setStyleSheet("" if ok else "border:2px solid #f85149")

    def _number_entered(self) -> None:
        """Enter in 号码: on to the place, unless the number cannot be one (then stay)."""
        if self._number_ok():
            self.focus_place()
        else:
            self.number.setFocus()
            self.number.selectAll()

    def _save_caller(self) -> None:
        """Number and name as typed; a number that cannot be one is refused (and shown),
        the name is saved on its own."""
        view = self._view()
        if view is None or not view.status.open:
            return
        number = self.number.text() if self._number_ok() else view.caller_number
        if (number.strip(), self.name.text().strip()) != (view.caller_number, view.caller_name):
            based = self._based_on("caller_number", "caller_name")
            changes = self._do(self.app.services.update_caller, view.id, number, self.name.text(), based,
                               keep_error=number != self.number.text())
            if changes:
                self._rebase("caller_number", "caller_name")
                self._show_calls(self._view())

    def focus_place(self) -> None:
        self.place_box.focus()

    # ---- place --------------------------------------------------------------------------
    def pick_candidate(self, row: int | None = None) -> bool:
        """Locate at a candidate: `row` when given (a click, a map marker), else the
        highlighted one (a partial match only when chosen explicitly)."""
        return self.incident_id is not None and self.place_box.pick(row)

    def _locate_candidate(self, cand, words: str) -> bool:  # noqa: ANN001 (gazetteer.Candidate)
        if self.incident_id is None or self._do(self.app.services.locate, self.incident_id,
                                                Location.from_candidate(cand, words), self._based_on("place")) is None:
            return False
        self._rebase("place")
        self.located.emit(cand.lon, cand.lat)
        self.refresh()
        self.category.setFocus()
        return True

    def locate_manual(self, lon: float, lat: float) -> None:
        """A click on the map sets the point by hand, named off the GUI thread."""
        if self.incident_id is not None and self._was_open:
            self.place_box.name_point(lon, lat)

    def _locate_point(self, lon: float, lat: float, words: str, point) -> bool:  # noqa: ANN001 (reverse.PointName)
        """A point picked on the map. An incident already located is moved only when the
        call-taker confirms (a click to focus the map must not move a call, least of all
        one with units on the way)."""
        view = self._view()
        if self.incident_id is None or view is None:
            return False
        if view.located and not self._confirm_move(view, point.label if point is not None else "地图选点"):
            self._show_place(view)  # not "正在识别位置…" any more: where the call still is
            self.message.emit("未改变警情地点")
            return False
        if self._do(self.app.services.locate, self.incident_id, Location.manual(lon, lat, words, point),
                    self._based_on("place")) is None:
            self._show_place(self._view())
            return False
        self._rebase("place")
        self.located.emit(lon, lat)
        self.refresh()
        return True

    def _confirm_move(self, view: IncidentView, to: str) -> bool:
        out = [a for a in view.assignments if a.open]
        units = f"\n已派警力 {len(out)} 个（{'、'.join(a.callsign for a in out)}）将按新地点前往，请通知。" if out else ""
        return confirm(self, "改变警情地点", f"警情 {view.id} 已定位在「{view.place_name or view.place_text}」。\n"
                                          f"改为地图上点选的「{to}」？{units}", "改到此处")

    def _proposed(self, words: str) -> None:
        self.acted.emit()
        _say(self.notice, one_line(f"已补录地名“{words}”：本席位立即可查，待班长确认"))
        self.message.emit(self.notice.text())

    # ---- category -----------------------------------------------------------------------
    def _on_category_stepped(self, _index: int) -> None:
        """Stepping through the box writes nothing: the priority follows on screen."""
        c = CATEGORY_BY_CODE.get(self.category.currentData())
        if not self._loading:
            if c:
                self.priority.setCurrentIndex(1 if c.urgent else 0)
            else:  # back to no category (letters that matched nothing): the saved priority again
                view = self._view()
                self.priority.setCurrentIndex(1 if view is not None and view.priority == "urgent" else 0)
        self._touch_draft()

    def _on_category_left(self) -> None:
        """Leaving the box with a changed category confirms it."""
        view = self._view()
        if view is not None and view.status.open and self.category.currentData() \
                and self.category.currentData() != view.category:
            self.save_details()

    def confirm_category(self) -> None:
        """Enter in the category box: save (one 定性 event) and, once located, recommend."""
        if not self.save_details():
            return
        view = self._view()
        if view is not None and view.located:
            self.recommend()
        else:
            _say(self.notice, "类别已保存；请先确定地点 (F3) 再推荐警力")
            self.focus_place()

    def _details_changed(self, view: IncidentView) -> bool:
        return (view.category, view.priority, view.narrative) != \
            (self.category.currentData(), self.priority.currentData(), self.narrative.toPlainText().strip())

    def save_details(self) -> bool:
        """Ctrl+S: category, priority and narrative as one incident.categorised event
        (none when nothing changed)."""
        view = self._view()
        if view is None:
            return False
        code = self.category.currentData()
        if not code:
            self.show_error("请选择警情类别（F4，↑↓ 或拼音首字母）")
            return False
        if not self._details_changed(view):
            return True
        done = self._do(self.app.services.categorise, self.incident_id, code, self.priority.currentData(),
                        self.narrative.toPlainText(), self._based_on("category", "priority", "narrative"))
        if done is None:
            return False
        self._rebase("category", "priority", "narrative")
        return True

    # ---- recommend and dispatch ---------------------------------------------------------
    def recommend(self) -> None:
        """F5: save what changed, then rank the units off the GUI thread."""
        if self.incident_id is None:
            return
        view = self._view()
        if view and self.category.currentData() and self._details_changed(view) and not self.save_details():
            return
        iid = self.incident_id
        self.rec_tree.show_busy()
        run_in_background(lambda: self.app.services.recommend(iid),
                          lambda rec: self._show_recommendation(iid, rec),
                          lambda exc: self._recommend_failed(iid, exc))

    def _recommend_failed(self, incident_id: int, exc: Exception) -> None:
        if incident_id == self.incident_id:
            self.rec_tree.reset_list()
            self.show_error(str(exc))

    def _show_recommendation(self, incident_id: int, rec) -> None:  # noqa: ANN001
        if incident_id != self.incident_id:
            return
        self.acted.emit()  # unit.recommended was logged
        self.clear_error()
        self.rec_tree.show_recommendation(rec)
        self.rec_tree.setFocus()
        self._into_view(self.rec_box)  # the list and its buttons, where Space and F6 act
        if not rec.ranked:
            self.show_error("没有可派的空闲警力")

    def units_changed(self, units: list) -> None:
        """Units changed at any seat: those the recommendation offered and another seat
        (or a terminal) took meanwhile go 忙 on the list, and the intake says so — those
        another seat sent to this very incident too (only this seat's own dispatch, read
        back while it is being sent, leaves the list as it is)."""
        taken = self.rec_tree.units_changed(units, self.incident_id, self._sending)
        here = "、".join(t.callsign for t in taken if t.here)
        there = "、".join(t.callsign for t in taken if not t.here)
        if here and not there:
            self.show_error(f"推荐中的 {here} 已由其他席位派往本警情；如需增派，请按 F5 重新推荐")
        elif taken:
            also = f"{here} 已由其他席位派往本警情，" if here else ""
            self.show_error(f"推荐中的 {also}{there} 已被其他席位派出或状态已变，请按 F5 重新推荐")

    def checked_units(self) -> list[int]:
        return self.rec_tree.checked_units()

    def dispatch_checked(self) -> bool:
        """F6 (or Enter on the list): send the checked units."""
        if self.incident_id is None or self.rec_tree.recommendation is None:
            self.show_error("请先推荐警力 (F5)")
            return False
        ids = self.checked_units()
        if not ids:
            self.show_error("请勾选要派出的警力（空格键勾选）")
            return False
        with self.app.session() as s:
            units = unit_snapshots(s)
        reason = busy_reason(units, ids, self.incident_id)
        if reason:
            # what F6 found is on the list at once (the log follower may not have
            # brought another seat's dispatch yet): the unit is 忙 there, not free
            self.rec_tree.units_changed(units, self.incident_id)
            self.show_error(reason)
            return False
        self._sending = frozenset(ids)  # read back during the dispatch: not "taken"
        try:
            sent = self._do(self.app.services.dispatch, self.incident_id, ids, self.rec_tree.estimates())
        finally:
            self._sending = frozenset()
        if sent is None:  # refused (another seat was quicker): the list shows why
            with self.app.session() as s:
                self.rec_tree.units_changed(unit_snapshots(s), self.incident_id)
            return False
        # the recommendation already traced each unit's road route: draw those
        routes = [(r.unit_id, r.callsign, r.route, r.route_m)
                  for r in self.rec_tree.recommendation.ranked if r.unit_id in ids]
        self.dispatched.emit(self.incident_id, routes)
        self.message.emit(f"已派警：{len(ids)} 个警力")
        self.rec_tree.reset_list()
        self.refresh()
        return True

    # ---- draft (survives a crash) -------------------------------------------------------
    def _touch_draft(self, *_args) -> None:  # noqa: ANN002
        if not self._loading and self.incident_id is not None and not self._draft_timer.isActive():
            self._draft_timer.start()

    def save_draft(self) -> None:
        """Write what is on screen for the incident in hand to the seat's draft file."""
        if self.incident_id is None:
            return
        draft = Draft(self.incident_id, self.place.text(), self.narrative.toPlainText(), self.number.text(),
                      self.name.text(), self.category.currentData() or "", self.priority.currentData() or "",
                      json.dumps(self._base, ensure_ascii=False))
        try:
            write_draft(self._draft_path, draft)
        except OSError as exc:
            self.message.emit(f"草稿未能保存：{exc}")

    def unsaved(self) -> bool:
        """Typed on screen and not saved: a field, or a place not located yet."""
        if self.incident_id is None or not self._was_open:
            return False
        view = self._view()
        if view is None or not view.status.open:
            return False
        typed = self.place.text().strip()
        return bool(self.edited()) or (bool(typed) and typed != (view.place_text or view.place_name or ""))

    def close_cleanly(self) -> None:
        """The console is closing (the window, or a TERM signal): nothing unsaved, no draft;
        something unsaved is written to the draft now and comes back at the next start."""
        self._draft_timer.stop()
        if self.unsaved():
            self.save_draft()
        else:
            clear_draft(self._draft_path)

    def restore_draft(self) -> bool:
        """At start: put a draft left by a crash (or a close with unsaved typing) back into
        the intake of its incident, if that incident is still open, and say so. The draft's
        base comes back too: a field another seat changed since is refused at the save,
        naming who changed it, and the notice says which fields those are."""
        draft = read_draft(self._draft_path)
        if draft is None:
            return False
        self.load_incident(draft.incident_id)  # forgets the file; written again below
        view = self._view()
        if view is None or not view.status.open:
            self.load_incident(None)
            return False
        try:
            saved_base = json.loads(draft.base) if draft.base else None
        except ValueError:
            saved_base = None
        if isinstance(saved_base, dict):
            self._base.update({f: saved_base[f] for f in TYPED if f in saved_base})
        self._loading = True
        try:
            self.number.setText(draft.caller_number)
            self.name.setText(draft.caller_name)
            self.place.setText(draft.place_text)
            if draft.category:
                self.category.select(draft.category)
            if draft.priority:
                self.priority.setCurrentIndex(max(0, self.priority.findData(draft.priority)))
            self.narrative.setPlainText(draft.narrative)
        finally:
            self._loading = False
        self.save_draft()
        if view.located:
            self.located.emit(view.lon, view.lat)  # the map shows where the call was
        if draft.place_text.strip() and draft.place_text != (view.place_text or view.place_name):
            self.place_box.run_geocode()
        fresh, screen = base_of(view), self.on_screen()
        for f in TYPED:  # what the draft holds is in the log already: nothing to protect
            if _same(f, screen[f], fresh[f]):
                self._base[f] = fresh[f]
        since = [f for f in TYPED if not _same(f, fresh[f], self._base.get(f))]
        restored = bool(self.edited()) or draft.place_text != (view.place_text or view.place_name)
        if restored or since:
            text = f"已恢复警情 {view.id} 上次退出前未保存的录入，请核对后保存"
            if since:
                text += f"；此后该警情的{'、'.join(edit_labels(since))}已被修改，保存前请核对"
            _say(self.notice, text)
            self.message.emit(text)
        return restored
