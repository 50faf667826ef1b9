"""A refusal names the unit and why; a message goes when the state it describes
changes; after a close, and on loading another incident, nothing of the previous
incident stays in the intake."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain import events as ev
from dispatch.services.locations import Location
from dispatch.store import eventlog
from ui.intake import Intake
from ui.main_window import MainWindow
from tests.ui.window_support import answer_confirm

PEOPLE_SQUARE = Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark")


def _intake(qtbot, app) -> Intake:
    intake = Intake(app)
    qtbot.addWidget(intake)
    intake.show()
    qtbot.waitExposed(intake)
    return intake


def _recommend(qtbot, intake: Intake) -> None:
    intake.recommend()
    qtbot.waitUntil(lambda: intake.rec_tree.recommendation is not None, timeout=15000)


def _busy_incident(app) -> tuple[int, int, str]:
    """Another incident at the same place with its nearest unit sent there."""
    other = app.services.open_call("13700000000").incident_id
    app.services.locate(other, PEOPLE_SQUARE)
    app.services.categorise(other, "fire")
    top = app.services.recommend(other).ranked[0]
    app.services.dispatch(other, [top.unit_id])
    return other, top.unit_id, top.callsign


def test_ticking_a_busy_unit_says_which_and_why(qtbot, app):
    other, busy_id, busy_callsign = _busy_incident(app)
    intake = _intake(qtbot, app)
    iid = intake.new_call("13900000000")
    app.services.locate(iid, PEOPLE_SQUARE)
    intake.load_incident(iid)
    intake.rec_tree.setFocus()
    qtbot.keyClick(intake.rec_tree, Qt.Key.Key_F6)  # before any recommendation
    intake.dispatch_checked()
    assert intake.error.text() == "请先推荐警力 (F5)"
    _recommend(qtbot, intake)
    assert intake.error.text() == ""  # a new recommendation: the old message is gone
    tree = intake.rec_tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    busy_row = next(r for r in rows if r.data(0, Qt.ItemDataRole.UserRole) == busy_id)
    assert busy_row.text(0) == "忙"
    tree.setCurrentItem(rows[0])
    qtbot.keyClick(tree, Qt.Key.Key_Space)       # untick the pre-ticked first unit
    tree.setCurrentItem(busy_row)
    qtbot.keyClick(tree, Qt.Key.Key_Space)       # tick the busy one
    assert intake.checked_units() == [busy_id]
    assert not intake.dispatch_checked()
    assert intake.error.text() == f"{busy_callsign} 已派往警情 {other}（已派），不能派出"
    with app.session() as s:
        assert not [e for e in eventlog.read(s, incident_id=iid) if e.kind == ev.UNIT_DISPATCHED]

    # the place is located again: the message described the old state and goes
    answer_confirm(qtbot)  # moving a located incident is confirmed (none asked otherwise)
    intake.locate_manual(121.4745, 31.2310)
    qtbot.waitUntil(lambda: intake.error.text() == "", timeout=20000)


def test_message_goes_with_another_incident_or_the_dispatch(qtbot, app):
    intake = _intake(qtbot, app)
    first = intake.new_call()
    assert not intake.dispatch_btn.isEnabled()  # nothing to send: 派警 is not the green button
    intake.dispatch_checked()
    assert intake.error.text()
    second = intake.new_call()
    assert second != first and intake.error.text() == ""
    app.services.locate(second, PEOPLE_SQUARE)
    intake.load_incident(second)
    _recommend(qtbot, intake)
    assert intake.dispatch_btn.isEnabled()      # the first unit is ticked for you
    tree = intake.rec_tree
    tree.setCurrentItem(tree.topLevelItem(0))
    qtbot.keyClick(tree, Qt.Key.Key_Space)       # nothing ticked
    assert not intake.dispatch_btn.isEnabled()
    assert not intake.dispatch_checked() and "请勾选" in intake.error.text()
    qtbot.keyClick(tree, Qt.Key.Key_Space)
    assert intake.dispatch_btn.isEnabled()
    qtbot.keyClick(tree, Qt.Key.Key_Return)      # Enter dispatches like F6
    assert intake.error.text() == ""
    assert not intake.dispatch_btn.isEnabled()  # sent: the list is empty again
    with app.session() as s:
        assert [e.kind for e in eventlog.read(s, incident_id=second)].count(ev.UNIT_DISPATCHED) == 1


def _show_everything(qtbot, intake: Intake, app) -> int:
    """An incident in hand with every part of the intake filled."""
    _busy_incident(app)  # an open incident close by: the duplicate warning shows
    iid = intake.new_call("13900000001", "李先生")
    answer_confirm(qtbot)  # moving a located incident is confirmed (none asked otherwise)
    intake.locate_manual(PEOPLE_SQUARE.lon, PEOPLE_SQUARE.lat)
    qtbot.waitUntil(lambda: "可能是重复报警" in intake.history_label.text(), timeout=20000)
    intake.category.setCurrentIndex(intake.category.findData("criminal"))
    intake.narrative.setPlainText("有人持刀")
    intake.save_details()
    _recommend(qtbot, intake)
    intake.place.setText("人民广场")
    intake.place_box.run_geocode()
    qtbot.waitUntil(lambda: len(intake.place_box.found) > 0, timeout=10000)
    intake.show_error("一条旧的提示")
    return iid


def _assert_blank(intake: Intake) -> None:
    assert intake.category.currentData() == "" and intake.priority.currentData() == "normal"
    assert intake.narrative.toPlainText() == "" and intake.history_label.text() == ""
    assert intake.candidates.count() == 0 and intake.place_box.found == []
    assert intake.rec_tree.topLevelItemCount() == 0 and intake.rec_tree.recommendation is None
    assert intake.error.text() == "" and intake.grid_label.text() == ""
    assert intake.place.text() == "" and intake.number.text() == "" and intake.place_label.text() == "未定位"


def test_after_a_close_the_intake_is_blank(qtbot, app):
    w = MainWindow(app)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    iid = _show_everything(qtbot, w.intake, app)
    assert w.do_close(iid, "handled", "")
    assert w.intake.incident_id is None
    _assert_blank(w.intake)


def test_closed_by_another_seat_leaves_the_intake(qtbot, app):
    intake = _intake(qtbot, app)
    iid = _show_everything(qtbot, intake, app)
    app.services.close(iid, "handled", "")
    intake.refresh()   # what the log follower does when the close comes in
    assert intake.incident_id is None
    _assert_blank(intake)


def test_loading_another_incident_keeps_nothing_of_the_previous(qtbot, app):
    intake = _intake(qtbot, app)
    _show_everything(qtbot, intake, app)
    fresh = app.services.open_call("").incident_id
    intake.load_incident(fresh)
    assert intake.incident_id == fresh and intake.header.text().startswith(f"警情 {fresh}")
    _assert_blank(intake)
