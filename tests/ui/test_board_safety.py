"""The board acts only on the unit meant (review finding 1): F7 lands on the units of
the incident in hand; a status change for another incident's unit, and every 撤回/空闲
of a unit on an incident, asks first, with 取消 as the default."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.services.locations import Location
from tests.ui.window_support import answer_confirm
from tests.ui.window_support import open_window as _window




def _two_incidents(app):
    """Incident A (黄浦 福州路) and B (西藏中路), each with one dispatched police unit."""
    police = [u for u in app.unit_snapshots() if u.kind.is_police and u.status is UnitStatus.AVAILABLE]
    out = []
    for (name, lon, lat), unit in zip((("福州路", 121.4820, 31.2340), ("西藏中路", 121.4760, 31.2300)),
                                      police[:2]):
        iid = app.services.open_call("13900000000").incident_id
        app.services.locate(iid, Location(name, lon, lat, kind="road"))
        app.services.categorise(iid, "dispute")
        app.services.dispatch(iid, [unit.id])
        out.append((iid, unit))
    return out


def _status(app, unit_id):
    with app.session() as s:
        return next(u for u in queries.unit_snapshots(s) if u.id == unit_id).status


def test_f7_lands_on_the_unit_of_the_incident_in_hand(qtbot, app):
    (a, unit_a), (b, unit_b) = _two_incidents(app)
    w = _window(qtbot, app)
    w._on_incident_clicked(a)
    w.board.select(unit_b.id)                 # the cursor was left on the other incident's unit
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert w.board.view.hasFocus()
    assert w.board.current_id() == unit_a.id


def _press_and_answer(qtbot, w, key, answer_key, answer_mod=Qt.KeyboardModifier.NoModifier):
    """Press Ctrl+key on the board; answer the question (if one comes) with answer_key.
    Returns the question's text and default button text, or None when nothing was asked."""
    w.activateWindow()  # offscreen Qt does not give the window back after a question
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    answers = answer_confirm(qtbot, key=answer_key, mod=answer_mod)
    qtbot.keyClick(w.board.view, key, Qt.KeyboardModifier.ControlModifier)  # a question is modal: asked and answered within
    answers.stop()
    return {"text": answers[0], "default": answers.defaults[0]} if answers else None


def test_ctrl4_on_another_incidents_unit_asks_and_esc_changes_nothing(qtbot, app):
    (a, unit_a), (b, unit_b) = _two_incidents(app)
    w = _window(qtbot, app)
    w._on_incident_clicked(a)
    w.board.view.setFocus(Qt.FocusReason.MouseFocusReason)   # a click on B's row, as in the review
    w.board.select(unit_b.id)

    asked = _press_and_answer(qtbot, w, Qt.Key.Key_4, Qt.Key.Key_Escape)
    assert asked, "standing down another incident's unit must ask"
    assert unit_b.callsign in asked["text"] and f"警情 {b}" in asked["text"]
    assert "西藏中路" in asked["text"] and "矛盾纠纷" in asked["text"]
    assert asked["default"].startswith("取消")
    assert _status(app, unit_b.id) is UnitStatus.DISPATCHED

    # Enter is the default button (取消) too
    assert _press_and_answer(qtbot, w, Qt.Key.Key_4, Qt.Key.Key_Return)
    assert _status(app, unit_b.id) is UnitStatus.DISPATCHED
    assert w.board.current_id() == unit_b.id      # the cursor stays where it was

    # even 签收 of another incident's unit asks; Ctrl+Enter confirms it
    assert _press_and_answer(qtbot, w, Qt.Key.Key_1, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _status(app, unit_b.id) is UnitStatus.ACKNOWLEDGED, timeout=3000)
    assert _status(app, unit_a.id) is UnitStatus.DISPATCHED


def test_own_incident_moves_do_not_ask_but_standing_down_does(qtbot, app):
    (a, unit_a), _ = _two_incidents(app)
    w = _window(qtbot, app)
    w._on_incident_clicked(a)
    w.board.view.setFocus()
    assert w.board.current_id() == unit_a.id
    assert _press_and_answer(qtbot, w, Qt.Key.Key_1, Qt.Key.Key_Escape) is None   # no question
    qtbot.waitUntil(lambda: _status(app, unit_a.id) is UnitStatus.ACKNOWLEDGED, timeout=3000)
    asked = _press_and_answer(qtbot, w, Qt.Key.Key_4, Qt.Key.Key_Escape)
    assert asked and unit_a.callsign in asked["text"] and "无警力处置" in asked["text"]
    assert _status(app, unit_a.id) is UnitStatus.ACKNOWLEDGED
