"""Stepping through the category box writes nothing; confirming writes one 定性 event
(Enter in the box, leaving it with a changed value, Ctrl+S, F5)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain import events as ev
from dispatch.services import queries
from dispatch.services.locations import Location
from dispatch.store import eventlog
from tests.ui.window_support import open_intake as _intake


def _categorised(app, iid: int) -> list:
    with app.session() as s:
        return [e for e in eventlog.read(s, incident_id=iid) if e.kind == ev.INCIDENT_CATEGORISED]


def test_stepping_writes_nothing_and_enter_confirms_once(qtbot, app):
    intake = _intake(qtbot, app)
    iid = intake.new_call("13800000000")
    intake.category.setFocus()
    seen = set()
    for _ in range(9):
        qtbot.keyClick(intake.category, Qt.Key.Key_Down)
        seen.add(intake.category.currentData())
    assert len(seen) == 9 and _categorised(app, iid) == []
    assert intake.category.currentData() == "theft"
    assert intake.priority.currentData() == "normal"  # 盗窃 is not urgent: the priority follows on screen
    qtbot.keyClick(intake.category, Qt.Key.Key_Up)
    assert intake.priority.currentData() == "urgent"  # 电信网络诈骗 is
    qtbot.keyClick(intake.category, Qt.Key.Key_Down)
    qtbot.keyClick(intake.category, Qt.Key.Key_Return)
    events = _categorised(app, iid)
    assert [e.payload["category"] for e in events] == [intake.category.currentData()]
    intake.number.setFocus()  # leaving the box unchanged writes nothing more
    qtbot.waitUntil(intake.number.hasFocus, timeout=1000)
    assert len(_categorised(app, iid)) == 1
    # not located yet: the intake says what comes next instead of recommending
    assert "请先确定地点" in intake.notice.text()


def test_leaving_the_box_with_a_changed_value_confirms(qtbot, app):
    intake = _intake(qtbot, app)
    iid = intake.new_call()
    intake.category.setFocus()
    qtbot.waitUntil(intake.category.hasFocus, timeout=1000)
    for _ in range(3):
        qtbot.keyClick(intake.category, Qt.Key.Key_Down)
    assert _categorised(app, iid) == []
    qtbot.keyClick(intake.category, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: not intake.category.hasFocus(), timeout=1000)
    assert [e.payload["category"] for e in _categorised(app, iid)] == [intake.category.currentData()]


def test_typed_pinyin_picks_and_ctrl_s_and_f5_save_once(qtbot, app):
    intake = _intake(qtbot, app)
    iid = intake.new_call()
    app.services.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    intake.load_incident(iid)
    intake.category.setFocus()
    qtbot.keyClicks(intake.category, "hz")          # 火灾
    assert intake.category.currentData() == "fire" and _categorised(app, iid) == []
    intake.save_details()                             # Ctrl+S
    intake.save_details()                             # again, nothing changed: no second event
    intake.recommend()                                # F5 with nothing changed
    qtbot.waitUntil(lambda: intake.rec_tree.recommendation is not None, timeout=15000)
    assert len(_categorised(app, iid)) == 1
    intake.narrative.setPlainText("三楼冒烟")
    intake.recommend()                                # F5 saves what changed first
    qtbot.waitUntil(lambda: intake.rec_tree.recommendation is not None, timeout=15000)
    events = _categorised(app, iid)
    assert len(events) == 2 and events[-1].payload["narrative"] == "三楼冒烟"
    with app.session() as s:
        assert queries.incident(s, iid).category == "fire"
