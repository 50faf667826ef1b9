"""StatsView: charts of a period's statistics (pyqtgraph) with CSV and PNG export."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from dispatch.replay.stats import PeriodStats, write_csv
from ui.fmt import duration


class StatsView(QWidget):
    """Calls per hour, by category, by grid, interval percentiles vs targets."""

    def __init__(self, stats: PeriodStats, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stats = stats
        self.setWindowTitle("警情统计")
        lay = QVBoxLayout(self)
        yoy = ("同比：数据不足一年" if stats.year_on_year is None else
               f"同比：去年同期 {stats.last_year_calls} 起，变化 {stats.year_on_year:+.1%}")
        self.summary = QLabel(f"共 {stats.calls} 起警情　{yoy}")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.summary.setObjectName("title")
        lay.addWidget(self.summary)
        grid = QGridLayout()
        lay.addLayout(grid, 1)
        self.hourly = self._bars("每小时警情数（本地时间）", list(range(24)), stats.hour_of_day,
                                 [(h, f"{h:02d}") for h in range(0, 24, 2)])
        self.categories = self._hbars("按类别", stats.by_category[:12])
        self.grids = self._hbars("按网格（前15）", stats.by_grid[:15])
        self.intervals = self._interval_chart()
        grid.addWidget(self.hourly, 0, 0)
        grid.addWidget(self.categories, 0, 1)
        grid.addWidget(self.grids, 1, 0)
        grid.addWidget(self.intervals, 1, 1)
        lines = []
        for iv in stats.intervals:
            pct = " ".join(f"P{p}={duration(v)}" for p, v in iv.percentiles.items()) or "无数据"
            met = "" if iv.share_met is None else f"，目标内 {iv.share_met:.0%}"
            lines.append(f"{iv.name}: {pct}{met}")
        self.interval_text = QLabel("\n".join(lines))
        self.interval_text.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.interval_text)
        row = QHBoxLayout()
        b_csv, b_png = QPushButton("导出 CSV"), QPushButton("导出 PNG")
        b_csv.clicked.connect(self._on_export_csv)
        b_png.clicked.connect(self._on_export_png)
        row.addStretch(1)
        row.addWidget(b_csv)
        row.addWidget(b_png)
        lay.addLayout(row)

    def _bars(self, title: str, xs: list, ys: list, ticks: list) -> pg.PlotWidget:
        w = pg.PlotWidget(background="w", title=title)
        w.addItem(pg.BarGraphItem(x=xs, height=ys, width=0.7, brush="#42a5f5"))
        w.getAxis("bottom").setTicks([ticks])
        w.getAxis("left").setWidth(50)
        w.setMouseEnabled(x=False, y=False)
        return w

    def _hbars(self, title: str, rows: list[tuple[str, int]]) -> pg.PlotWidget:
        """Horizontal bars, most first from the top: long Chinese labels stay readable."""
        w = pg.PlotWidget(background="w", title=title)
        ys = list(range(len(rows)))[::-1]
        w.addItem(pg.BarGraphItem(x0=0, y=ys, height=0.7, width=[n for _, n in rows], brush="#42a5f5"))
        left = w.getAxis("left")
        left.setTicks([[(y, label) for y, (label, _) in zip(ys, rows)]])
        left.setWidth(110)
        w.setMouseEnabled(x=False, y=False)
        return w

    def _interval_chart(self) -> pg.PlotWidget:
        w = pg.PlotWidget(background="w", title="处警时效（秒）：P50 紫 · P90 蓝 · 目标 灰")
        timed = [iv for iv in self.stats.intervals if iv.target_s]
        xs = list(range(len(timed)))
        for offset, values, colour in ((-0.27, [iv.percentiles.get(50, 0.0) for iv in timed], "#7e57c2"),
                                       (0.0, [iv.percentiles.get(90, 0.0) for iv in timed], "#42a5f5"),
                                       (0.27, [iv.target_s for iv in timed], "#bdbdbd")):
            w.addItem(pg.BarGraphItem(x=[x + offset for x in xs], height=values, width=0.25, brush=colour))
        w.getAxis("bottom").setTicks([[(i, iv.name) for i, iv in enumerate(timed)]])
        w.getAxis("left").setWidth(50)
        w.setMouseEnabled(x=False, y=False)
        return w

    def export_csv(self, path: Path) -> None:
        write_csv(self.stats, Path(path))

    def export_png(self, path: Path) -> None:
        """The whole view (all charts) as one PNG."""
        if not self.grab().save(str(path), "PNG"):
            from dispatch.domain.errors import DispatchError
            raise DispatchError(f"无法写入图片文件: {path}")

    def _on_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "导出 CSV", "警情统计.csv", "CSV (*.csv)")
        if path:
            self.export_csv(Path(path))

    def _on_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "导出 PNG", "警情统计.png", "PNG (*.png)")
        if path:
            self.export_png(Path(path))
