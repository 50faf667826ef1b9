"""The phone line on the real window: with DISPATCH_CTI set the window listens; an
"answered" for this seat fills the call in hand (F2 pressed first) or opens a new call,
draws the carrier location with its accuracy circle and shows the caller's history;
other seats' events and bad lines change nothing; a bad address is one message."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from dispatch.feeds.cti_client import event_line, send
from dispatch.services import queries
from tests.ui.window_support import open_window
from ui.cti_feed import RING_KEY

LON, LAT = 121.4853, 31.2394  # 南京东路 at 河南中路, in the demo's area


def test_answered_fills_the_call_and_draws_the_carrier_location(qtbot, app, monkeypatch):
    earlier = app.services.open_call("13800000061").incident_id
    app.services.categorise(earlier, "dispute")
    app.services.close(earlier, "mediated")
    monkeypatch.setenv("DISPATCH_CTI", "127.0.0.1:0")
    w = open_window(qtbot, app)
    feed = w.cti_feed
    assert feed is not None and feed.label.text().startswith("电话接口 127.0.0.1:")
    host, port = feed.listener.address
    seat = app.services.ctx.actor.seat
    qtbot.keyClick(w.queue.view, Qt.Key.Key_F2)  # the call-taker picked up first
    in_hand = w.intake.incident_id
    send(host, port, [event_line("ringing", seat, "13800000061")])
    qtbot.waitUntil(lambda: "振铃" in feed.label.text())
    send(host, port, ["garbage", event_line("answered", "别的席位", "13900000000", LON, LAT, 50),
                      event_line("answered", seat, "13800000061", LON, LAT, 350)])
    qtbot.waitUntil(lambda: w.intake.number.text() == "13800000061", timeout=5000)
    assert w.intake.incident_id == in_hand and feed.listener.bad_lines == 1
    with app.session() as s:
        assert [i.caller_number for i in queries.open_incidents(s)] == ["13800000061"]  # no second call opened
    assert "来电定位 ±350米" in w.map._state["pick"] and RING_KEY in w.map._routes
    # the view: the circle and at least 1.5 km around it (units that could go), not 50 m
    view = json.loads(w.map._state["view"].split("fitBounds(", 1)[1].rsplit(")", 1)[0])
    assert (view[3] - view[1]) * 111.32 >= 2.9 and view[0] < LON < view[2] and view[1] < LAT < view[3]
    qtbot.waitUntil(lambda: w.map.is_ready, timeout=60000)  # on the page itself: the pick point and the ring
    box: list = []
    w.map.evaluate("JSON.stringify(dispatchMap.debugState())", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    page = json.loads(box[0])
    assert page["routes"].get(RING_KEY) == 49 and abs(page["pick"]["lon"] - LON) < 1e-9
    assert "历史警情 1 起" in feed.label.text() and f"警情 {earlier}" in feed.label.toolTip()
    # the next call while this one is in hand (it has a number now): a new call
    send(host, port, [event_line("answered", seat, "13800000062")])
    qtbot.waitUntil(lambda: w.intake.incident_id not in (None, in_hand), timeout=5000)
    assert w.intake.number.text() == "13800000062" and "无历史警情" in feed.label.text()
    send(host, port, [event_line("hangup", seat, "13800000062")])
    qtbot.waitUntil(lambda: "已挂断" in feed.label.text())
    w.grab().save("/tmp/cti_window.png")


def test_bad_address_is_one_message(qtbot, app, monkeypatch):
    monkeypatch.setenv("DISPATCH_CTI", "localhost")
    w = open_window(qtbot, app)
    assert w.cti_feed is None and "DISPATCH_CTI" in w.statusBar().currentMessage()


def test_off_without_the_variable(qtbot, app, monkeypatch):
    monkeypatch.delenv("DISPATCH_CTI", raising=False)
    w = open_window(qtbot, app)
    assert w.cti_feed is None


def test_a_caller_location_outside_china_is_dropped_the_call_is_taken(qtbot, app, monkeypatch):
    """The phone system's location of a call at -121.47,-31.23 (signs lost): the call is
    answered all the same, the map neither marks nor jumps to it, the status bar says so."""
    monkeypatch.setenv("DISPATCH_CTI", "127.0.0.1:0")
    w = open_window(qtbot, app)
    feed = w.cti_feed
    host, port = feed.listener.address
    seat = app.services.ctx.actor.seat
    send(host, port, [event_line("answered", seat, "13800000071", -121.47, -31.23, 30)])
    qtbot.waitUntil(lambda: w.intake.number.text() == "13800000071", timeout=5000)
    qtbot.waitUntil(lambda: "未采用" in w.statusBar().currentMessage(), timeout=3000)
    assert "不在中国境内" in w.statusBar().currentMessage()
    assert "来电定位" not in w.map._state.get("pick", "") and RING_KEY not in w.map._routes
    assert "fitBounds" not in w.map._state.get("view", "")
