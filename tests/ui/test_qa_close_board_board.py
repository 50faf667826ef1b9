"""QA pass on the unit board: a refusal under the board goes when what it described is
gone (another incident in hand, the one in hand closed, another row); F7 lands on the
incident's unit just dispatched, scrolled into view, and on an incident without a unit
keeps the cursor in view and says the incident has none."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain.units import UnitStatus
from dispatch.services.locations import Location
from tests.ui.window_support import open_window
from ui.unit_board import NO_UNIT

CTRL = Qt.KeyboardModifier.ControlModifier
FUZHOU_ROAD = Location("福州路", 121.4820, 31.2340, kind="road")


def _incident(app, number: str) -> int:
    iid = app.services.open_call(number).incident_id
    app.services.locate(iid, FUZHOU_ROAD)
    app.services.categorise(iid, "dispute")
    return iid


def _unit(app, callsign: str):
    return next(u for u in app.unit_snapshots() if u.callsign == callsign)


def _free_unit(w, not_ids=()):
    return next(u for u in w._units if u.status is UnitStatus.AVAILABLE and u.id not in not_ids)


def _refuse_on_board(qtbot, w, unit_id: int) -> str:
    """Ctrl+3 (到场) on a unit 空闲: refused, said under the board."""
    w.board.select(unit_id)
    w.board.view.setFocus()
    qtbot.keyClick(w.board.view, Qt.Key.Key_3, CTRL)
    assert w.board.message.isVisible()
    return w.board.message.text()


def _in_view(w) -> bool:
    view = w.board.view
    rect = view.visualRect(view.currentIndex())
    return rect.isValid() and view.viewport().rect().contains(rect)


def test_a_board_refusal_goes_when_the_incident_in_hand_is_closed_and_another_loaded(qtbot, app):
    a, b = _incident(app, "13900000061"), _incident(app, "13900000062")
    w = open_window(qtbot, app)
    w._on_incident_clicked(a)
    free = _free_unit(w)
    text = _refuse_on_board(qtbot, w, free.id)
    assert text.startswith(f"{free.callsign} 当前为「空闲」")
    assert w.do_close(a, "invalid", "")                 # the incident in hand closed
    assert not w.board.message.isVisible() and w.board.message.text() == ""
    _refuse_on_board(qtbot, w, free.id)
    w._on_incident_clicked(b)                           # another incident loaded
    assert not w.board.message.isVisible() and w.board.message.text() == ""
    assert w.board.current_id() == free.id              # the cursor itself stays where it was


def test_a_board_refusal_goes_on_a_new_call_and_on_another_row(qtbot, app):
    w = open_window(qtbot, app)
    free = _free_unit(w)
    _refuse_on_board(qtbot, w, free.id)
    qtbot.keyClick(w.board.view, Qt.Key.Key_F2)         # a new call
    assert w.intake.incident_id is not None
    assert not w.board.message.isVisible()
    _refuse_on_board(qtbot, w, free.id)
    w.board.select(_free_unit(w, {free.id}).id)         # another row
    assert not w.board.message.isVisible()


def test_f7_lands_on_the_unit_just_dispatched_not_an_earlier_one(qtbot, app, clock):
    iid = _incident(app, "13900000063")
    first, second = _unit(app, "社区03"), _unit(app, "电巡01")
    app.services.dispatch(iid, [first.id])
    w = open_window(qtbot, app)
    w._on_incident_clicked(iid)
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert w.board.current_id() == first.id              # the only unit of the incident
    clock.advance(90)
    app.services.dispatch(iid, [second.id])             # then 电巡01 is sent
    w.follower.poll()
    qtbot.waitUntil(lambda: w.board.model.unit(second.id).status is UnitStatus.DISPATCHED, timeout=3000)
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert w.board.view.hasFocus()
    assert w.board.current_id() == second.id and _in_view(w)
    # from a unit of another incident too, F7 goes to the one just dispatched
    w.board.select(_free_unit(w).id)
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert w.board.current_id() == second.id


def test_f7_on_an_incident_without_a_unit_shows_the_cursor_and_says_so(qtbot, app):
    iid = _incident(app, "13900000064")
    w = open_window(qtbot, app)
    w._on_incident_clicked(iid)
    view = w.board.view
    last = w.board.model.unit_at(w.board.model.rowCount() - 1)
    w.board.select(last.id)
    view.scrollToTop()
    assert view.verticalScrollBar().maximum() > 0 and not _in_view(w)   # the cursor scrolled away
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_F7)
    assert view.hasFocus()
    assert w.board.current_id() == last.id and _in_view(w)
    assert w.statusBar().currentMessage() == NO_UNIT
