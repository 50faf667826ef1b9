"""The intake shows the caller's history (with the lead's 骚扰电话 badge) and the possible
repeats with their reasons; Ctrl+Shift+L links the call in hand to the selected incident
(it leaves the intake closed as 重复报警), and 取消关联 reopens it."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt

from dispatch.services import call_links, queries
from dispatch.services.caller_history import mark_number
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from ui.intake import Intake
from tests.ui.window_support import shown

SHOT = os.environ.get("H5_SCREENSHOT", "")


def test_history_suggestion_link_and_unlink(qtbot, app, clock):
    sv = app.services
    first = sv.open_call("13900001111", "王先生").incident_id
    sv.locate(first, Location(name="外滩", lon=121.4903, lat=31.2400, kind="landmark"))
    sv.categorise(first, "traffic_accident")
    clock.advance(8 * 60)
    lead = app.services_for(Actor("席位01", "值班长甲", "lead"))
    mark_number(lead.ctx, "13900001111", "nuisance", "一周内无效来电 12 次")

    intake = Intake(app)
    intake.resize(520, 900)
    shown(qtbot, intake)
    call = intake.new_call("13900001111")
    panel, history = intake.call_links, intake.caller_history
    assert history.isVisible() and history.badge.isVisible() and history.badge.text() == "骚扰电话"
    assert "#da3633" in history.badge.styleSheet()
    assert "近90天来电 1 次" in history.summary.text() and "一周内无效来电" in history.summary.text()
    assert history.list.count() == 1 and f"#{first}" in history.list.item(0).text()
    assert panel.isVisible() and panel.list.count() == 1
    row = panel.list.item(0).text()
    assert row.startswith(f"#{first} 交通事故 外滩") and "同一号码" in row and "8分钟前" in row
    if SHOT:
        intake.grab().save(SHOT)

    intake.number.setFocus()
    qtbot.keyClick(intake.number, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: intake.incident_id is None, timeout=5000)
    with app.session() as s:
        v = queries.incident(s, call)
        assert (v.status.value, v.result_code) == ("closed", "duplicate")
        assert call_links.link_of(s, call).to_incident == first
    assert not panel.isVisible()

    intake.load_incident(first)   # the incident that took the call lists it
    assert panel.isVisible() and f"关联来电：#{call} 13900001111" in panel.status.text()
    assert not panel.unlink_btn.isVisible()
    intake.load_incident(call)    # the linked call: where it went, and 取消关联
    assert f"已关联到警情 {first}" in panel.status.text() and panel.unlink_btn.isVisible()
    qtbot.mouseClick(panel.unlink_btn, Qt.MouseButton.LeftButton)
    assert intake.incident_id == call and intake.number.isEnabled()
    with app.session() as s:
        assert queries.incident(s, call).status.value == "pending"
    assert panel.list.count() == 1 and not panel.unlink_btn.isVisible()


def test_refusal_is_shown_and_nothing_linked(qtbot, app):
    sv = app.services
    first = sv.open_call("13900002222").incident_id
    intake = Intake(app)
    qtbot.addWidget(intake)
    call = intake.new_call("13900002222")
    assert intake.call_links.list.count() == 1
    sv.close(first, "invalid")
    sv.close(call, "invalid")           # another seat closed the call in hand meanwhile
    assert not intake.call_links.link_selected()
    assert "已结警" in intake.error.text()
    # a number without history or mark takes no room
    intake.load_incident(sv.open_call("13900003333").incident_id)
    assert not intake.caller_history.isVisibleTo(intake) and not intake.call_links.isVisibleTo(intake)
