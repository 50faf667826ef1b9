"""Who has what (issue 9, item 3, first part): the queue shows the seat that holds each
incident, and a second seat opening it reads "席位N 正在处理"."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.services.context import Actor
from tests.ui.window_support import open_window


def test_queue_and_intake_name_the_seat_that_holds_the_incident(qtbot, app):
    other = app.services_for(Actor("席位07", "李四"))
    theirs = other.open_call("13800000007").incident_id
    mine = app.services.open_call("13800000001").incident_id
    w = open_window(qtbot, app)
    m = w.queue.model
    col = 8
    assert m.headerData(col, Qt.Orientation.Horizontal) == "席位"
    assert m.data(m.index(m.row_of(theirs), col)) == "席位07"
    assert m.data(m.index(m.row_of(mine), col)) == app.settings.seat
    w._on_incident_clicked(theirs)
    assert w.intake.header.text().endswith("席位07 正在处理")
    w._on_incident_clicked(mine)
    assert "正在处理" not in w.intake.header.text()
