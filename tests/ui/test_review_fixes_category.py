"""F4 pinyin (review screens 34c/35c): the letters typed are shown while they count;
letters that match no category keep the choice the box had, say 无匹配类别, and Enter
on them saves nothing and recommends nothing."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain import events as ev
from dispatch.services.locations import Location
from dispatch.store import eventlog
from tests.ui.window_support import open_intake


def _categorised(app, iid: int) -> list:
    with app.session() as s:
        return [e for e in eventlog.read(s, incident_id=iid) if e.kind == ev.INCIDENT_CATEGORISED]


def _located_call(qtbot, app):
    intake = open_intake(qtbot, app)
    iid = intake.new_call("13800000001")
    app.services.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    intake.load_incident(iid)
    intake.category.setFocus()
    qtbot.waitUntil(intake.category.hasFocus, timeout=1000)
    return intake, iid


def test_typed_letters_are_shown_while_typing(qtbot, app):
    intake, _iid = _located_call(qtbot, app)
    box = intake.category
    qtbot.keyClicks(box, "jf")
    assert box.currentData() == "dispute"
    assert box.typed_label.isVisible() and "jf" in box.typed_label.text()
    assert not box.no_match
    qtbot.keyClick(box, Qt.Key.Key_Down)        # another key: the letters no longer count
    assert not box.typed_label.isVisible()


def test_no_match_on_a_new_call_selects_nothing_and_enter_saves_nothing(qtbot, app):
    intake, iid = _located_call(qtbot, app)
    box = intake.category
    qtbot.keyClicks(box, "zzzq")                # 'z' alone is 治安案件; 'zz…' is nothing
    assert box.currentData() == ""              # no category chosen, as before the letters
    assert box.no_match and box.typed_label.isVisible()
    assert box.typed_label.text() == "「zzzq」无匹配类别"
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert _categorised(app, iid) == []
    assert intake.rec_tree.topLevelItemCount() == 0 and intake.rec_tree.recommendation is None
    assert box.typed_label.isVisible() and "无匹配类别" in box.typed_label.text()  # still says so


def test_no_match_keeps_the_previous_choice_and_its_priority(qtbot, app):
    intake, iid = _located_call(qtbot, app)
    box = intake.category
    qtbot.keyClicks(box, "dq")                  # 盗窃, not urgent
    qtbot.keyClick(box, Qt.Key.Key_Return)      # saved (and the recommendation starts)
    qtbot.waitUntil(lambda: intake.rec_tree.recommendation is not None, timeout=15000)
    assert [e.payload["category"] for e in _categorised(app, iid)] == ["theft"]
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=1000)
    qtbot.keyClicks(box, "zzzq")
    assert box.currentData() == "theft" and intake.priority.currentData() == "normal"
    assert box.no_match and "无匹配类别" in box.typed_label.text()
    intake.rec_tree.reset_list()
    qtbot.keyClick(box, Qt.Key.Key_Return)      # nothing saved, nothing recommended
    assert len(_categorised(app, iid)) == 1 and intake.rec_tree.topLevelItemCount() == 0
    # letters that match again: the message goes and Enter confirms as always
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert not box.no_match and not box.typed_label.isVisible()
    qtbot.keyClicks(box, "hz")
    assert box.currentData() == "fire" and not box.no_match and "hz" in box.typed_label.text()
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert [e.payload["category"] for e in _categorised(app, iid)] == ["theft", "fire"]
