"""ShiftTimeline (pyqtgraph): one row per unit, its statuses as coloured spans, incidents
as markers; zoom and pan over the shift; a click on a marker or a span emits
`incident_clicked(incident_id)`."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from dispatch.domain.units import UnitStatus
from dispatch.replay.state import ReplayIndex

STATUS_COLOURS = {UnitStatus.AVAILABLE: "#66bb6a", UnitStatus.DISPATCHED: "#ef5350",
                  UnitStatus.ACKNOWLEDGED: "#ffa726", UnitStatus.EN_ROUTE: "#42a5f5",
                  UnitStatus.ON_SCENE: "#7e57c2", UnitStatus.OFF_DUTY: "#bdbdbd"}
SHANGHAI_UTC_OFFSET = -8 * 3600  # pyqtgraph counts seconds west of UTC, like time.timezone


_WEEKDAYS = dict(zip(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), "一二三四五六日"))
_MONTHS = {m: f"{k}月" for k, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                "Oct", "Nov", "Dec"), 1)}


class ChineseDateAxis(pg.DateAxisItem):
    """pyqtgraph's date axis in the console's words: its day ticks read "Thu 03" and its
    month ticks "Dec" (English names from strftime); here "3日 周四" and "12月"."""

    def tickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201, N802 (pyqtgraph's API)
        out = []
        for text in super().tickStrings(values, scale, spacing):
            head, _, rest = text.partition(" ")
            if head in _WEEKDAYS and rest.isdigit():
                text = f"{int(rest)}日 周{_WEEKDAYS[head]}"
            elif head in _MONTHS and not rest:
                text = _MONTHS[head]
            out.append(text)
        return out


def _ts(d: datetime) -> float:
    return d.astimezone(timezone.utc).timestamp()


class ShiftTimeline(QWidget):
    incident_clicked = Signal(int)

    def __init__(self, index: ReplayIndex, start: datetime | None = None, end: datetime | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.start = start or index.start
        self.end = end or index.end
        axis = ChineseDateAxis(orientation="bottom", utcOffset=SHANGHAI_UTC_OFFSET)
        self.plot = pg.PlotWidget(axisItems={"bottom": axis}, background="w")
        self.plot.setMouseEnabled(x=True, y=True)
        self.plot.showGrid(x=True, y=False, alpha=0.2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        legend = "　".join(f'<span style="color:{c}">■</span> {s.label}' for s, c in STATUS_COLOURS.items())
        self.legend = QLabel(legend + "　▼ 警情（点击打开时间线）")
        lay.addWidget(self.legend)
        lay.addWidget(self.plot)
        self.spans: list[tuple[float, float, int, UnitStatus, int | None]] = []  # x0, x1, row, status, incident
        self.markers: list[tuple[float, int, int]] = []  # x, row, incident
        self.cursor: pg.InfiniteLine | None = None
        self._draw()

    def _draw(self) -> None:
        t0, t1 = _ts(self.start), _ts(self.end)
        ids = self.index.unit_ids()
        labels = [(-1, "未派警力")]
        for row, uid in enumerate(ids):
            labels.append((row, self.index.unit_static(uid)["callsign"]))
            spans = self.index.unit_status_spans(uid)
            for k, (since, status, incident) in enumerate(spans):
                a = t0 if since is None else max(t0, _ts(since))
                b = t1 if k + 1 == len(spans) else min(t1, _ts(spans[k + 1][0]))
                if b > a:
                    self.spans.append((a, b, row, status, incident))
        for status, colour in STATUS_COLOURS.items():
            mine = [s for s in self.spans if s[3] is status]
            if not mine:
                continue
            x0 = np.array([s[0] for s in mine])
            item = pg.BarGraphItem(x0=x0, x1=np.array([s[1] for s in mine]), y=np.array([s[2] for s in mine]),
                                   height=0.7, brush=colour, pen=None)
            self.plot.addItem(item)
        row_of = {uid: r for r, uid in enumerate(ids)}
        for v in self.index.final_incidents():
            x = _ts(v.received_at)
            if not (t0 <= x <= t1):
                continue
            rows = [row_of[a.unit_id] for a in v.assignments if a.unit_id in row_of]
            self.markers.append((x, rows[0] if rows else -1, v.id))
        scatter = pg.ScatterPlotItem(x=[m[0] for m in self.markers], y=[m[1] + 0.45 for m in self.markers],
                                     data=[m[2] for m in self.markers], symbol="t", size=9,
                                     brush="#212121", pen=None)
        scatter.sigClicked.connect(self._on_marker_clicked)
        self.plot.addItem(scatter)
        self.scatter = scatter
        left = self.plot.getAxis("left")
        left.setTicks([labels])
        left.setWidth(80)
        self.plot.setLimits(xMin=t0 - 600, xMax=t1 + 600, yMin=-2, yMax=len(ids) + 1)
        self.plot.setXRange(t0, t1, padding=0.01)
        self.plot.setYRange(-1.5, min(len(ids), 40), padding=0)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)

    def _on_marker_clicked(self, _item, points, *_args) -> None:  # noqa: ANN001
        if len(points):
            self.incident_clicked.emit(int(points[0].data()))

    def _on_scene_clicked(self, event) -> None:  # noqa: ANN001
        if event.isAccepted():
            return
        p = self.plot.plotItem.vb.mapSceneToView(event.scenePos())
        hit = self.span_at(p.x(), p.y())
        if hit is not None and hit[4] is not None:
            self.incident_clicked.emit(int(hit[4]))

    def span_at(self, x: float, y: float):  # noqa: ANN201
        """The status span under a point of the plot (x epoch seconds, y row)."""
        row = round(y)
        for s in self.spans:
            if s[2] == row and s[0] <= x <= s[1] and abs(y - row) <= 0.35:
                return s
        return None

    def set_cursor(self, at: datetime) -> None:
        """Show the replay cursor as a vertical line."""
        if self.cursor is None:
            self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#c62828", width=2))
            self.plot.addItem(self.cursor)
        self.cursor.setValue(_ts(at))

    def on_state(self, state) -> None:  # noqa: ANN001 (ReplayState)
        """Slot for ReplayController.state_changed (bound method: disconnected with the widget)."""
        self.set_cursor(state.at)

    def zoom_to(self, start: datetime, end: datetime) -> None:
        self.plot.setXRange(_ts(start), _ts(end), padding=0)
