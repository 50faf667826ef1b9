"""A status key the unit's state does not allow (review screen 26_board: Ctrl+3 到场 on
a unit 已派) changes nothing and says so on the board, naming the current status and
the keys allowed; the message goes when the unit's status changes."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from dispatch.domain import events as ev
from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.services.locations import Location
from dispatch.store import eventlog
from tests.ui.window_support import open_window
from ui.unit_board import refusal

CTRL = Qt.KeyboardModifier.ControlModifier


def _dispatched(app):
    unit = next(u for u in app.unit_snapshots() if u.kind.is_police and u.status is UnitStatus.AVAILABLE)
    iid = app.services.open_call("13900000041").incident_id
    app.services.locate(iid, Location("福州路", 121.4820, 31.2340, kind="road"))
    app.services.categorise(iid, "dispute")
    app.services.dispatch(iid, [unit.id])
    return iid, unit


def _status(app, unit_id):
    with app.session() as s:
        return next(u for u in queries.unit_snapshots(s) if u.id == unit_id).status


def _status_events(app) -> int:
    with app.session() as s:
        return sum(e.kind == ev.UNIT_STATUS for e in eventlog.read(s))


def test_ctrl3_on_a_dispatched_unit_says_why_and_changes_nothing(qtbot, app):
    iid, unit = _dispatched(app)
    w = open_window(qtbot, app)
    w._on_incident_clicked(iid)
    said = []
    w.board.refused.connect(said.append)
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert w.board.current_id() == unit.id
    before = _status_events(app)
    qtbot.keyClick(w.board.view, Qt.Key.Key_3, CTRL)
    text = w.board.message.text()
    assert w.board.message.isVisible()
    assert text == (f"{unit.callsign} 当前为「已派」，不能改为「到场」；"
                    "可用：签收 (Ctrl+1)、出发 (Ctrl+2)、空闲/撤回 (Ctrl+4)")
    assert said == [text]
    assert _status(app, unit.id) is UnitStatus.DISPATCHED and _status_events(app) == before
    # an allowed key acts; once the board shows the new status the message goes
    qtbot.keyClick(w.board.view, Qt.Key.Key_1, CTRL)
    qtbot.waitUntil(lambda: w.board.model.unit(unit.id).status is UnitStatus.ACKNOWLEDGED, timeout=3000)
    assert not w.board.message.isVisible() and w.board.message.text() == ""
    qtbot.keyClick(w.board.view, Qt.Key.Key_3, CTRL)   # 已签收 → 到场 is allowed
    qtbot.waitUntil(lambda: _status(app, unit.id) is UnitStatus.ON_SCENE, timeout=3000)
    assert w.board.message.text() == ""


def test_the_refusal_follows_the_domains_moves(app):
    unit = next(u for u in app.unit_snapshots() if u.status is UnitStatus.AVAILABLE)
    assert refusal(unit, UnitStatus.ON_SCENE) == \
        f"{unit.callsign} 当前为「空闲」，不能改为「到场」；看板上没有可用的状态操作"
    on_scene = replace(unit, status=UnitStatus.ON_SCENE)
    assert refusal(on_scene, UnitStatus.AVAILABLE) is None
    assert refusal(on_scene, UnitStatus.EN_ROUTE) == \
        f"{unit.callsign} 当前为「到场」，不能改为「出发」；可用：空闲/撤回 (Ctrl+4)"
