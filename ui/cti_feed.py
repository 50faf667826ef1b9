"""The phone line on screen: when DISPATCH_CTI=HOST:PORT is set, the window listens for
the telephone system (dispatch.feeds.cti). On "answered" for this seat the number fills
the call in hand (an open incident without a number) or opens a new call; the carrier
location is drawn on the map with its accuracy circle, and the caller's earlier incidents
are shown in the status bar's phone field (hover for the list). "ringing" and "hangup"
are shown there too. A bad address is one message; bad lines are counted, never fatal."""
from __future__ import annotations

import math
import os

from PySide6.QtCore import QObject, Signal, Slot, Qt
from PySide6.QtWidgets import QLabel

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES
from dispatch.feeds.cti import ENV, CallEvent, CtiListener, address_from_env
from dispatch.services.phone_calls import caller_history
from ui.fmt import local_time

RING_KEY = "cti-accuracy"


MIN_VIEW_RADIUS_M = 1500.0  # the map around a caller's location shows at least this far


def accuracy_ring(lon: float, lat: float, radius_m: float, points: int = 48) -> list[list[float]]:
    """A closed ring of `radius_m` around (lon, lat), as [[lon, lat], ...] for the map."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    return [[lon + dlon * math.cos(2 * math.pi * k / points), lat + dlat * math.sin(2 * math.pi * k / points)]
            for k in range(points + 1)]


class CtiFeed(QObject):
    """Bridges the listener's threads to the GUI thread and acts there."""

    received = Signal(object)  # CallEvent, emitted on a listener thread, handled on the GUI thread

    def __init__(self, window, address: tuple[str, int]) -> None:  # noqa: ANN001 (MainWindow)
        super().__init__(window)
        self.window = window
        self.seat = window.app.services.ctx.actor.seat
        self.label = QLabel("")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        window.statusBar().addPermanentWidget(self.label)
        self.history: list = []
        self.received.connect(self.on_call)
        self.listener = CtiListener(address[0], address[1], self.received.emit).start()
        listener = self.listener
        window.destroyed.connect(lambda *_: listener.stop())
        self._idle()

    def _idle(self) -> None:
        host, port = self.listener.address
        self.label.setText(f"电话接口 {host}:{port}")

    @Slot(object)
    def on_call(self, call: CallEvent) -> None:
        if call.seat != self.seat:
            return
        w = self.window
        if call.event == "ringing":
            self.label.setText(f"来电振铃：{call.number or '未显示号码'}")
            return
        if call.event == "hangup":
            self.label.setText(f"来电 {call.number or ''} 已挂断")
            return
        in_hand = w.intake.incident_id
        try:
            iid = w.app.services.answer_call(call.number, call.lon, call.lat, call.accuracy_m, in_hand)
        except DispatchError as exc:
            w._on_message(str(exc))
            return
        w.follower.poll()
        w._on_incident_clicked(iid)
        if call.location_problem:  # the call is taken; its location was not (noted on the incident)
            w._on_message(f"来电位置未采用：{call.location_problem}")
        self.show_carrier_location(call)
        self.show_history(call.number, iid)

    def show_carrier_location(self, call: CallEvent) -> None:
        if not call.located:
            return
        m = self.window.map
        acc = f" ±{call.accuracy_m:.0f}米" if call.accuracy_m is not None else ""
        view_located = any(i.id == self.window.intake.incident_id and i.lon is not None
                           for i in self.window._incidents)
        if not view_located:
            m.set_pick_point(call.lon, call.lat, f"来电定位{acc}")
        if call.accuracy_m:
            m.show_route(RING_KEY, accuracy_ring(call.lon, call.lat, call.accuracy_m))  # the accuracy circle
        # the circle, and at least the streets and units around it: a 50 m view of a
        # ±20 m fix shows where the caller is but no unit that could go
        view = accuracy_ring(call.lon, call.lat, max(call.accuracy_m or 0.0, MIN_VIEW_RADIUS_M), points=8)
        lons, lats = [p[0] for p in view], [p[1] for p in view]
        m.fit_bounds([min(lons), min(lats), max(lons), max(lats)])

    def show_history(self, number: str, incident_id: int) -> None:
        with self.window.app.session() as s:
            self.history = caller_history(s, number, exclude_id=incident_id)
        if not self.history:
            self.label.setText(f"来电 {number}：无历史警情")
            self.label.setToolTip("")
            self.label.setStyleSheet("")
            return
        last = self.history[0]
        what = CATEGORY_BY_CODE[last.category].label if last.category in CATEGORY_BY_CODE else "未定性"
        self.label.setText(f"来电 {number}：历史警情 {len(self.history)} 起（最近 "
                           f"{local_time(last.received_at, with_date=True)} {what}）")
        self.label.setStyleSheet("color:#d29922;font-weight:bold")
        self.label.setToolTip("\n".join(
            f"警情 {i.id} · {local_time(i.received_at, with_date=True)} · "
            f"{CATEGORY_BY_CODE[i.category].label if i.category in CATEGORY_BY_CODE else '未定性'} · "
            f"{i.place_name or '未定位'} · {RESULT_CODES.get(i.result_code, i.status.label)}" for i in self.history))


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Listen when DISPATCH_CTI is set; a bad address or a busy port is one message."""
    window.cti_feed = None
    try:
        address = address_from_env(os.environ)
        if address is not None:
            window.cti_feed = CtiFeed(window, address)
    except DispatchError as exc:
        window._on_message(str(exc))
    except OSError as exc:
        window._on_message(f"电话接口无法监听 {os.environ.get(ENV)}：{exc.strerror or exc}")
