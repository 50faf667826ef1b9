"""After locating, the intake warns of an open incident close by (maybe the same event)
and shows the grid with its members and 警格 officer."""
from __future__ import annotations

from dispatch.services.locations import Location
from ui.intake import Intake


def test_possible_duplicate_and_grid_are_shown(qtbot, app, clock):
    first = app.services.open_call("13800000000", "").incident_id
    app.services.locate(first, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    app.services.categorise(first, "fire")
    clock.advance(240)
    intake = Intake(app)
    qtbot.addWidget(intake)
    intake.new_call("13900000000", "")
    intake.locate_manual(121.4739, 31.2305)  # ~20 m from the first call (named off the GUI thread)
    qtbot.waitUntil(lambda: intake.history_label.text() != "", timeout=20000)
    assert f"#{first}" in intake.history_label.text() and "可能是重复报警" in intake.history_label.text()
    assert "火灾" in intake.history_label.text() and "4分00秒前" in intake.history_label.text()
    assert intake.grid_label.text().startswith("网格 ") and "网格长" in intake.grid_label.text()
    assert "警格社区民警" in intake.grid_label.text()
