"""Two seats on one incident (review 2026-12-01): a seat's form follows what another
seat changed in the fields it has not touched; a field both changed is not silently
overwritten — the later save is refused naming who changed it; a map click does not move
a located incident without a confirmation; a bad number keeps the cursor and does not
lose the name; a clean close leaves no stale draft, and a restored draft's save is still
checked against what changed since."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from dispatch.bootstrap import bootstrap
from dispatch.services.drafts import draft_path, read_draft
from dispatch.services.locations import Location
from dispatch.settings import Settings
from tests.ui.window_support import answer_confirm, open_window


def _type(widget, text: str) -> None:
    widget.setFocus()
    e = QInputMethodEvent()
    e.setCommitString(text)
    QApplication.sendEvent(widget, e)


def _other_seat(app):  # noqa: ANN001, ANN202
    return bootstrap(Settings(data_dir=app.settings.data_dir, seat="席位02"), clock=app.clock)


def _incident(app, iid):  # noqa: ANN001, ANN202
    from dispatch.services.queries import incident
    with app.session() as s:
        return incident(s, iid)


def test_untouched_fields_follow_and_a_field_both_changed_is_refused(qtbot, app):
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800138000", "")
    other = _other_seat(app)
    try:
        other.services.categorise(iid, "fire", "urgent", "三楼冒烟")  # 席位02 raises it to 火灾 紧急
        qtbot.waitUntil(lambda: w.intake.category.currentData() == "fire", timeout=5000)
        assert w.intake.priority.currentData() == "urgent" and w.intake.narrative.toPlainText() == "三楼冒烟"

        w.intake.narrative.setPlainText("三楼冒烟，有人被困")  # this seat edits the narrative
        other.services.categorise(iid, "fire", "urgent", "已疏散")  # ...and 席位02 changes it too
        qtbot.waitUntil(lambda: "已疏散" in (_incident(app, iid).narrative or ""), timeout=5000)
        w.follower.poll()
        assert w.intake.narrative.toPlainText() == "三楼冒烟，有人被困"  # what was typed stays
        assert not w.intake.save_details()
        assert "席位02" in w.intake.error.text() and "简要警情" in w.intake.error.text()
        assert _incident(app, iid).narrative == "已疏散"  # not overwritten
        assert _incident(app, iid).category == "fire" and _incident(app, iid).priority == "urgent"

        w.intake.load_incident(iid)  # reopened: the latest, and a save goes through
        assert w.intake.narrative.toPlainText() == "已疏散"
        w.intake.narrative.setPlainText("已疏散，无人受伤")
        assert w.intake.save_details()
        assert _incident(app, iid).narrative == "已疏散，无人受伤"
    finally:
        other.engine.dispose()


def test_a_stale_category_does_not_downgrade_another_seats_change(qtbot, app):
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800138001", "")
    w.intake.category.select("theft")
    assert w.intake.save_details()
    other = _other_seat(app)
    try:
        w.intake.category.select("dispute")  # this seat steps to another category, not saved yet
        other.services.categorise(iid, "fire", "urgent", "")
        w.follower.poll()
        assert not w.intake.save_details()
        assert "类别" in w.intake.error.text() and "火灾" in w.intake.error.text()
        assert (_incident(app, iid).category, _incident(app, iid).priority) == ("fire", "urgent")
    finally:
        other.engine.dispose()


def test_a_map_click_moves_a_located_incident_only_when_confirmed(qtbot, app):
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800138002", "")
    app.services.locate(iid, Location.manual(121.4720, 31.2310, "", None))
    w.intake.load_incident(iid)
    asked = answer_confirm(qtbot, accept=False)
    w.intake.locate_manual(121.4800, 31.2250)
    qtbot.waitUntil(lambda: bool(asked), timeout=10000)
    assert "改为地图上点选" in asked[0]
    qtbot.waitUntil(lambda: w.intake.place_label.text().startswith("已定位"), timeout=3000)  # not left "识别中"
    assert (_incident(app, iid).lon, _incident(app, iid).lat) == (121.4720, 31.2310)
    answer_confirm(qtbot, accept=True)
    w.intake.locate_manual(121.4800, 31.2250)
    qtbot.waitUntil(lambda: _incident(app, iid).lon == 121.4800, timeout=10000)


def test_a_bad_number_keeps_the_cursor_and_the_name_is_saved(qtbot, app):
    w = open_window(qtbot, app)
    iid = w.intake.new_call()
    w.intake.number.setFocus()
    qtbot.keyClicks(w.intake.number, "138abc00xyz")
    qtbot.keyClick(w.intake.number, Qt.Key.Key_Return)
    assert w.intake.number.hasFocus() and w.intake.error.text()
    _type(w.intake.name, "王先生")
    w.intake._save_caller()
    assert _incident(app, iid).caller_name == "王先生" and _incident(app, iid).caller_number == ""
    assert w.intake.error.text()  # the number is still wrong and still said


def test_a_clean_close_leaves_no_stale_draft_and_a_restored_draft_is_checked(qtbot, app, clock):
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800138003", "")
    path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
    w.intake.narrative.setPlainText("saved")
    w.intake.category.select("theft")
    assert w.intake.save_details()
    w.intake.close_cleanly()
    assert read_draft(path) is None  # nothing unsaved: nothing to restore

    w.intake.narrative.setPlainText("typed, not saved")
    w.intake.close_cleanly()
    assert read_draft(path).narrative == "typed, not saved"
    other = _other_seat(app)
    try:
        other.services.categorise(iid, "theft", "normal", "changed by 席位02")
    finally:
        other.engine.dispose()
    w.hide()
    again = bootstrap(app.settings, clock=clock)
    w2 = open_window(qtbot, again)
    try:
        assert w2.intake.narrative.toPlainText() == "typed, not saved"
        assert "简要警情" in w2.intake.notice.text()
        assert not w2.intake.save_details()
        assert "席位02" in w2.intake.error.text()
        assert _incident(again, iid).narrative == "changed by 席位02"
    finally:
        again.engine.dispose()


def test_a_close_lost_to_another_seat_names_who_closed_it(qtbot, app):
    """Both seats close one incident: the later is refused naming the seat, the time and
    the result of the close that won (not "已结警 cannot become 已结警"), in red in the
    intake, and the first close stands."""
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800000001", "")
    other = _other_seat(app)
    other.services.close(iid, "invalid", "误拨，已核实")
    assert not w.do_close(iid, "handled", "现场处置完毕")
    msg = w.intake.error.text()
    assert f"警情 {iid} 已被 席位02" in msg and "结警（" in msg and "您的结警未保存" in msg
    assert "不能改为" not in msg
    assert _incident(app, iid).close_note == "误拨，已核实"
    other.engine.dispose()


def _recommended_call(qtbot, app):  # noqa: ANN001, ANN202
    """This seat's window with a call at 人民广场 in hand, categorised, its units
    recommended: (window, incident id, the first ranked unit)."""
    w = open_window(qtbot, app)
    iid = w.intake.new_call("13800000001", "")
    app.services.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    app.services.categorise(iid, "theft", "normal")
    w.intake.refresh()
    w.intake.recommend()
    qtbot.waitUntil(lambda: w.intake.rec_tree.recommendation is not None, timeout=15000)
    first = w.intake.rec_tree.recommendation.ranked[0]
    return w, iid, first


def test_a_recommended_unit_taken_by_another_seat_goes_busy_on_the_list(qtbot, app):
    """Seat B dispatches the unit seat A's recommendation ticked first: A's list marks it
    忙 with the reason, unticked, and the intake asks for F5 again; Enter then dispatches
    nothing in vain (it asks for a tick)."""
    w, iid, first = _recommended_call(qtbot, app)
    assert w.intake.checked_units() == [first.unit_id]
    other = _other_seat(app)
    theirs = other.services.open_call("13800000002", "").incident_id
    other.services.locate(theirs, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    other.services.dispatch(theirs, [first.unit_id])
    w.follower.poll()
    qtbot.waitUntil(lambda: first.callsign in w.intake.error.text(), timeout=5000)
    assert "F5" in w.intake.error.text()
    row = w.intake.rec_tree.topLevelItem(0)
    assert row.text(0) == "忙" and f"已派往警情 {theirs}" in row.text(5)
    assert w.intake.checked_units() == []
    current = w.intake.rec_tree.currentItem()  # the cursor moved off the busy row, nothing ticked
    assert current.text(0) != "忙" and current.text(1) != first.callsign
    w.intake.rec_tree.setFocus()
    qtbot.keyClick(w.intake.rec_tree, Qt.Key.Key_Return)
    assert "请勾选" in w.intake.error.text()
    assert _incident(app, iid).assignments == ()
    other.engine.dispose()


def test_a_unit_another_seat_sends_to_this_incident_goes_busy_on_this_seats_list(qtbot, app):
    """QA (real window): both seats on one incident, both pressed F5; seat 02 dispatched
    the first unit. This seat's list must not keep offering it free, ticked and 最快到达:
    as soon as the dispatch arrives its row is 忙, unticked, and says another seat sent it
    to this incident; F6 on it is refused by name, and the list still shows it 忙."""
    w, iid, first = _recommended_call(qtbot, app)
    assert w.intake.checked_units() == [first.unit_id]
    other = _other_seat(app)
    try:
        other.services.dispatch(iid, [first.unit_id])  # 席位02 sends it to the same incident
    finally:
        other.engine.dispose()
    tree = w.intake.rec_tree
    row = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
               if tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == first.unit_id)
    # the follower brings it (no poll by hand: the seat's own timer reads the log)
    qtbot.waitUntil(lambda: row.text(0) == "忙", timeout=5000)
    assert row.checkState(0) == Qt.CheckState.Unchecked and w.intake.checked_units() == []
    assert "已由其他席位派往本警情" in row.text(5) and "最快" not in row.text(5)
    assert first.callsign in w.intake.error.text() and "本警情" in w.intake.error.text()

    # ticked again by hand and F6: refused by name, and the row still says 忙
    tree.setCurrentItem(row)
    tree.setFocus()
    qtbot.keyClick(tree, Qt.Key.Key_Space)
    assert not w.intake.dispatch_checked()
    assert first.callsign in w.intake.error.text() and "本警情" in w.intake.error.text()
    assert row.text(0) == "忙"
    assert [a.unit_id for a in _incident(app, iid).assignments] == [first.unit_id]  # sent once


def test_a_refused_dispatch_never_leaves_the_unit_free_on_the_list(qtbot, app):
    """Seat 02's dispatch has not been read by this seat's follower yet when F6 is
    pressed: the refusal names the unit, and the list shows it 忙 from then on."""
    w, iid, first = _recommended_call(qtbot, app)
    w.follower.stop()  # (this seat has not read the log since)
    other = _other_seat(app)
    try:
        other.services.dispatch(iid, [first.unit_id])
    finally:
        other.engine.dispose()
    assert not w.intake.dispatch_checked()
    assert first.callsign in w.intake.error.text() and "不能" in w.intake.error.text()
    row = w.intake.rec_tree.topLevelItem(0)
    assert row.data(0, Qt.ItemDataRole.UserRole) == first.unit_id
    assert row.text(0) == "忙" and row.checkState(0) == Qt.CheckState.Unchecked
    assert "最快" not in row.text(5)


def test_this_seats_own_dispatch_is_not_said_to_be_another_seats(qtbot, app):
    """The seat's own F6 comes back through the log before the list is cleared: no
    "已由其他席位派往本警情" for it, and the message line stays clear."""
    w, iid, first = _recommended_call(qtbot, app)
    said = []
    w.intake.message.connect(said.append)
    assert w.intake.dispatch_checked()
    assert w.intake.error.text() == "" and not any("其他席位" in m for m in said)
    assert [a.unit_id for a in _incident(app, iid).assignments] == [first.unit_id]
