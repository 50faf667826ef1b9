"""The place part of the intake: what the caller says, type-ahead candidates from the
geocoder (full matches first; a partial one greyed, saying what differs, never
pre-selected), Enter that waits for a search still running, a map click named by
the reverse geocoder, and the 地名补录 offer. The geocoder and the reverse geocoder
run off the GUI thread; locating is left to the intake (`choose`, `set_point`)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from dispatch.bootstrap import App
from ui.caller_history_panel import fit_rows
from ui.place_context import candidate_text, full_first
from ui.place_proposal_dialog import PlaceProposalBar
from ui.workers import run_in_background

PARTIAL_GREY = QBrush(QColor("#8b949e"))


LIST_ROWS = 6  # candidates shown without scrolling (the search returns up to 8)


class PlaceSearch(QGroupBox):
    """`choose(candidate, words) -> bool` locates at a confirmed candidate;
    `set_point(lon, lat, words, point) -> bool` at a named map point. Signals:
    `candidates_changed(list)` / `candidate_highlighted(int)` for the map, `edited()`,
    `problem(str)` for a refusal to show, `proposed(str)` after 地名补录."""

    candidates_changed = Signal(list)
    candidate_highlighted = Signal(int)
    edited = Signal()
    problem = Signal(str)
    proposed = Signal(str)

    def __init__(self, app: App, choose: Callable, set_point: Callable, parent: QWidget | None = None) -> None:
        super().__init__("地点（F3；↑↓ 选择，回车确认；或在地图上点选）", parent)
        self.app, self._choose, self._set_point = app, choose, set_point
        self.found: list = []          # the candidates on the list, full matches first
        self._seq = 0                  # searches; only the newest result is shown
        self._shown_text: str | None = None
        self._explicit = False         # the call-taker moved through the candidates himself
        self._pick_pending = False     # Enter came before the candidates: pick when they arrive
        self._point_seq = 0            # map clicks being named in the background
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.run_geocode)
        lay = QVBoxLayout(self)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("例如：福州路西藏中路口、人民广场附近、rmgc")
        self.edit.textEdited.connect(self._on_edited)
        self.edit.installEventFilter(self)
        self.list = QListWidget()
        self.list.setWordWrap(True)   # what differs must be read, not scrolled to
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self.candidate_highlighted.emit)
        self.list.itemActivated.connect(lambda _i: self.pick(self.list.currentRow()))
        self.label = QLabel("未定位")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.label.setWordWrap(True)
        self.proposal = PlaceProposalBar()
        self.proposal.accepted.connect(self._propose)
        self.history = QLabel("")
        self.history.setTextFormat(Qt.TextFormat.PlainText)
        self.history.setWordWrap(True)
        self.history.setObjectName("hint")
        self.history.hide()  # (shown while it says something)
        for w in (self.edit, self.list, self.label, self.proposal, self.history):
            lay.addWidget(w)

    def reset(self, text: str) -> None:
        """Another incident (or none): its words, nothing of the previous searches."""
        self._debounce.stop()
        self._seq += 1
        self._point_seq += 1
        self._pick_pending = False
        self._fill([], self._seq, None)
        self.proposal.hide()
        self.edit.setText(text)

    def focus(self) -> None:
        self.edit.setFocus()
        self.edit.selectAll()

    # ---- search -------------------------------------------------------------------------
    def _on_edited(self, _text: str) -> None:
        self.list.show()
        self._pick_pending = False
        self._debounce.start()
        self.edited.emit()

    def run_geocode(self) -> None:
        self._debounce.stop()
        text = self.edit.text().strip()
        self._seq += 1
        seq = self._seq
        if not text:
            self._fill([], seq, text)
            return
        app, near = self.app, self.app.area_centre()
        run_in_background(lambda: app.geocoder.search(text, near=near, limit=8),
                          lambda cands: self._fill(cands, seq, text),
                          lambda exc: self._failed(exc, seq, text))

    def _failed(self, exc: Exception, seq: int, text: str) -> None:
        if seq == self._seq:
            self._pick_pending = False
            self._fill([], seq, text)
            self.problem.emit(f"地点查询失败：{exc}")

    def _fill(self, cands: list, seq: int, text: str | None) -> None:
        if seq != self._seq:
            return  # a newer query is on its way
        self.found = full_first(list(cands))
        self._shown_text, self._explicit = text, False
        self.list.clear()
        for i, c in enumerate(self.found, 1):
            item = QListWidgetItem(candidate_text(i, c, c.kind_label))
            if c.partial:
                item.setForeground(PARTIAL_GREY)
            self.list.addItem(item)
        if not self.found and text:
            self.list.addItem(QListWidgetItem("没有找到匹配的地点，可换一种说法或在地图上点选"))
        # the list takes room only while there is something to choose from, and only its
        # rows' (a 1080-line screen must keep the recommendation and its buttons in view
        # with a repeat caller's history and a possible duplicate above them)
        self.list.setVisible(bool(self.list.count()))
        fit_rows(self.list, LIST_ROWS, least=2)
        # only a full match is pre-selected for Enter
        self.list.setCurrentRow(0 if self.found and not self.found[0].partial else -1)
        self.candidates_changed.emit([
            {"index": i, "name": c.name, "lon": c.lon, "lat": c.lat,
             "label": f"{i + 1}. {'≈' if c.partial else ''}{c.name}"} for i, c in enumerate(self.found)])
        if self._pick_pending:
            self._pick_pending = False
            self.pick()

    def _enter(self) -> None:
        """Enter: confirm the highlighted candidate; typed faster than the search, wait
        for it (in the background) and take the first full match."""
        text = self.edit.text().strip()
        if not text:
            self.problem.emit("请输入地点，或在地图上点选")
            return
        if self._debounce.isActive() or self._shown_text != text:
            self._pick_pending = True
            self.found = []
            self.list.clear()
            self.list.addItem(QListWidgetItem("查找中…"))
            self.list.show()
            fit_rows(self.list, LIST_ROWS, least=2)
            self.run_geocode()
            return
        self.pick()

    def pick(self, row: int | None = None) -> bool:
        """Confirm a candidate: `row` when given (a click, a map marker), else the
        highlighted one. A partial match is taken only when chosen explicitly."""
        explicit = row is not None or self._explicit
        row = self.list.currentRow() if row is None else row
        words = self.edit.text().strip()
        if not (0 <= row < len(self.found)):
            if self.found:  # only partial matches, none chosen
                self.problem.emit(f"“{words}”只有部分匹配的地点，不能直接确认：请用 ↑↓ 选定一个后回车，或在地图上点选")
            elif words:
                self.problem.emit("没有找到该地点：请换一种说法，或在地图上点选")
            return False
        cand = self.found[row]
        if cand.partial and not explicit:
            self.problem.emit("所选地点只是部分匹配，请用 ↑↓ 确认后回车")
            return False
        if not self._choose(cand, words):
            return False
        self.proposal.hide()
        self.list.hide()  # located: the place line says where; typing shows the list again
        return True

    # ---- a point set on the map ---------------------------------------------------------
    def name_point(self, lon: float, lat: float) -> None:
        """Name a clicked point off the GUI thread, then hand it to `set_point`; words the
        geocoder does not know (no full match) get the 地名补录 offer."""
        self._point_seq += 1
        seq, words = self._point_seq, self.edit.text().strip()
        self.label.setText("地图选点：正在识别位置…")
        app, near = self.app, self.app.area_centre()

        def work() -> tuple:
            point = app.reverse.describe(lon, lat)
            unknown = bool(words) and not any(not c.partial for c in app.geocoder.search(words, near=near, limit=8))
            return point, unknown

        run_in_background(work, lambda r: self._named(seq, lon, lat, words, *r),
                          lambda _exc: self._named(seq, lon, lat, words, None, False))

    def _named(self, seq: int, lon: float, lat: float, words: str, point, unknown: bool) -> None:  # noqa: ANN001
        if seq != self._point_seq:
            return  # another click, or another incident, since
        if self._set_point(lon, lat, words, point) and unknown:
            self.proposal.offer(words, lon, lat, point.label if point is not None else "地图选点")

    def _propose(self, words: str, lon: float, lat: float) -> None:
        """地名补录 accepted: keep the words at that point (searchable at once on this seat)."""
        app = self.app
        run_in_background(lambda: app.services.propose_place(words, lon, lat),
                          lambda _changes: self.proposed.emit(words),
                          lambda exc: self.problem.emit(f"地名补录失败：{exc}"))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.found:
                step = 1 if key == Qt.Key.Key_Down else -1
                self.list.setCurrentRow(max(0, min(len(self.found) - 1, self.list.currentRow() + step)))
                self._explicit = True
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._enter()
                return True
        return super().eventFilter(obj, event)
