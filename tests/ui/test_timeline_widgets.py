"""ShiftTimeline, StatsView and the training copy."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from dispatch.replay.stats import compute_stats
from dispatch.replay.training import make_training_copy
from dispatch.settings import Targets
from tests.ui.replay_fixture import simulated_replay
from ui.timeline.shift_timeline import ShiftTimeline
from ui.timeline.stats_view import StatsView


def test_shift_timeline_rows_spans_and_click_on_an_incident(tmp_path, qtbot):
    _live, _ro, index = simulated_replay(tmp_path)
    tl = ShiftTimeline(index)
    qtbot.addWidget(tl)
    tl.resize(1200, 700)
    tl.show()
    qtbot.waitExposed(tl)
    rows = {s[2] for s in tl.spans}
    assert rows == set(range(len(index.unit_ids())))
    assert {s[3].value for s in tl.spans} >= {"available", "dispatched", "on_scene"}
    x, row, incident = next(m for m in tl.markers if m[1] >= 0)
    tl.zoom_to(index.start, index.end)
    tl.plot.setYRange(row - 3, row + 3, padding=0)
    qtbot.wait(50)
    scene_pt = tl.plot.plotItem.vb.mapViewToScene(QPointF(x, row + 0.45))
    widget_pt = tl.plot.mapFromScene(scene_pt)
    with qtbot.waitSignal(tl.incident_clicked, timeout=2000) as sig:
        qtbot.mouseClick(tl.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_pt)
    assert sig.args[0] in {m[2] for m in tl.markers}
    span = next(s for s in tl.spans if s[4] is not None)
    assert tl.span_at((span[0] + span[1]) / 2, span[2])[4] == span[4]


def test_stats_view_exports_csv_and_png(tmp_path, qtbot):
    _live, _ro, index = simulated_replay(tmp_path)
    stats = compute_stats(index.final_incidents(), Targets(), index.start, index.end)
    view = StatsView(stats)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    assert f"共 {stats.calls} 起" in view.summary.text()
    view.export_csv(tmp_path / "s.csv")
    view.export_png(tmp_path / "s.png")
    assert "矛盾纠纷" in (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    png = (tmp_path / "s.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_training_copy_is_a_separate_database(tmp_path):
    live, _ro, index = simulated_replay(tmp_path / "live")
    url = make_training_copy(live.settings.database_url, tmp_path / "training" / "copy.sqlite3")
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    copy = bootstrap(Settings(db_url=url, data_dir=tmp_path / "training", load_demo=False))
    copy.services.open_call("13900000000", "培训")
    from dispatch.replay.state import load_index
    assert len(load_index(copy).final_incidents()) == len(index.final_incidents()) + 1
    assert len(load_index(live).final_incidents()) == len(index.final_incidents())


def test_the_shift_axis_names_days_and_months_in_chinese(qtbot):
    import re

    import pyqtgraph as pg

    from ui.timeline.shift_timeline import SHANGHAI_UTC_OFFSET, ChineseDateAxis

    axis = ChineseDateAxis(orientation="bottom", utcOffset=SHANGHAI_UTC_OFFSET)
    plot = pg.PlotWidget(axisItems={"bottom": axis})
    qtbot.addWidget(plot)
    plot.resize(1200, 300)
    plot.show()
    seen = []
    for days in (4, 400):  # day ticks ("Thu 03"), then month ticks ("Dec")
        start = 1764720000.0  # 2025-12-03 00:00 UTC
        plot.setXRange(start, start + days * 86400, padding=0)
        qtbot.wait(50)
        axis.setZoomLevelForDensity(days * 86400 / 1200)
        for spacing, values in axis.tickValues(start, start + days * 86400, 1200):
            seen += axis.tickStrings(values, 1, spacing)
    assert seen and not [t for t in seen if re.search(r"[A-Za-z]", t)], seen
    assert any("日 周" in t for t in seen) and any(t.endswith("月") for t in seen), seen
