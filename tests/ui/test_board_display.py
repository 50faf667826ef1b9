"""What the board and the map show (review findings 6 and 10): one duty rule (不在岗,
grey, outside a unit's duty windows), positions in words, never coordinates; the
start-up warm-up's state in the status bar (finding 18)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from PySide6.QtGui import QColor

from dispatch.domain.units import UnitStatus
from ui import theme
from ui.map_feed import unit_markers
from tests.ui.window_support import open_window as _window

COORDS = re.compile(r"\d{2,3}\.\d{3,}")
NIGHT_UTC = datetime(2026, 11, 23, 17, 46, tzinfo=timezone.utc)  # 01:46 in Shanghai, as in the review


def test_off_duty_by_window_is_grey_on_board_and_map(qtbot, app, clock):
    clock.set(NIGHT_UTC)
    w = _window(qtbot, app)
    m = w.board.model
    day_only = [u for u in w._units if u.duty and u.status is UnitStatus.AVAILABLE
                and all(str(d) == "08:00-20:00" for d in u.duty)]
    assert day_only, "the demo roster has 08:00-20:00 community units"
    for u in day_only:
        row = m.row_of(u.id)
        assert m.data(m.index(row, 2)) == "不在岗"
        assert m.data(m.index(row, 2), role=9).color() == QColor(theme.STATUS_COLOURS["off_duty"])  # ForegroundRole
        assert m.data(m.index(row, 6)) == "08:00-20:00"            # why: the duty window beside it
    markers = {x["id"]: x for x in unit_markers(w._units, {}, clock.now(), app.settings.tz)}
    assert all(markers[u.id]["status"] == "off_duty" and "不在岗" in markers[u.id]["label"] for u in day_only)
    always = next(u for u in w._units if not u.duty and u.status is UnitStatus.AVAILABLE)
    assert m.data(m.index(m.row_of(always.id), 2)) == "空闲"


def test_board_positions_are_words_never_coordinates(qtbot, app):
    unit = next(u for u in app.unit_snapshots() if u.kind.is_police)
    app.services.report_position(unit.id, unit.home_lon + 0.004, unit.home_lat + 0.002)
    w = _window(qtbot, app)
    m = w.board.model
    texts = [m.data(m.index(r, 5)) for r in range(m.rowCount())]
    moved = texts[m.row_of(unit.id)]
    assert moved and not COORDS.search(moved), moved
    assert "米" in moved or "路" in moved or "街" in moved, moved    # distance from its post, or a road
    assert not any(COORDS.search(t) for t in texts), texts
    w.warm_up()                                                    # the reverse geocoder comes with the roads
    qtbot.waitUntil(lambda: w._warm.get("roads") is not None, timeout=120000)
    named = m.data(m.index(m.row_of(unit.id), 5))
    assert named and not COORDS.search(named), named


def test_warm_up_state_is_shown_until_ready(qtbot, app):
    w = _window(qtbot, app)
    w.warm_up()
    assert w.warm_label.text().startswith("准备中")
    qtbot.waitUntil(lambda: "已就绪" in w.warm_label.text() or "失败" in w.warm_label.text(), timeout=120000)
    assert w.warm_label.text() == "地名库、路网、路径计算已就绪"
