"""A candidate that matches only part of what the caller said never looks like a sure
match: it says what differs, ranks after full matches and is never taken by Enter
alone. A map click names the point (reverse geocoder, off the GUI thread), and for
words the geocoder did not know offers 地名补录, one key to accept."""
from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from dispatch.domain import events as ev
from dispatch.services import queries
from dispatch.store import eventlog
from tests.ui.window_support import answer_confirm, open_intake as _intake


def _type(qtbot, widget, text: str) -> None:
    widget.setFocus()
    e = QInputMethodEvent()
    e.setCommitString(text)
    QApplication.sendEvent(widget, e)


def _incident(app, iid: int):
    with app.session() as s:
        return queries.incident(s, iid)


def test_only_partial_matches_enter_asks_to_choose(qtbot, app):
    """南京东路 (a pedestrian street, not in the drivable demo roads) must not confirm 南京西路."""
    intake = _intake(qtbot, app)
    iid = intake.new_call()
    _type(qtbot, intake.place, "南京东路外滩")
    qtbot.keyClick(intake.place, Qt.Key.Key_Return)  # before the search came back
    qtbot.waitUntil(lambda: intake.error.text() != "", timeout=10000)
    assert intake.place_box.found and all(c.partial for c in intake.place_box.found)
    assert intake.candidates.currentRow() == -1        # nothing pre-selected
    assert "部分匹配" in intake.error.text() and "↑↓" in intake.error.text()
    assert _incident(app, iid).lon is None
    rows = [intake.candidates.item(i).text() for i in range(intake.candidates.count())]
    assert all("≈" in row and "部分匹配：" in row for row in rows)
    assert any("南京西路" in row and "东→西" in row for row in rows)  # said what differs
    assert intake.candidates.item(0).foreground().color().name() == "#8b949e"  # greyed
    qtbot.keyClick(intake.place, Qt.Key.Key_Down)      # chosen explicitly: now Enter takes it
    qtbot.keyClick(intake.place, Qt.Key.Key_Return)
    assert _incident(app, iid).place_name == intake.place_box.found[0].name


def test_full_matches_first_partial_after(qtbot, app):
    intake = _intake(qtbot, app)
    iid = intake.new_call()
    _type(qtbot, intake.place, "福州路西藏中路口")
    qtbot.waitUntil(lambda: len(intake.place_box.found) > 1, timeout=10000)
    flags = [c.partial for c in intake.place_box.found]
    assert flags[0] is False and True in flags and flags == sorted(flags)
    assert intake.candidates.currentRow() == 0
    qtbot.keyClick(intake.place, Qt.Key.Key_Return)
    assert _incident(app, iid).place_name == "福州路与西藏中路交叉口"


def test_map_click_names_the_point_and_offers_to_keep_the_words(qtbot, app):
    named_on = []   # which thread named the point
    reverse = app.reverse
    describe = reverse.describe

    def watched_describe(*args, **kw):
        named_on.append(threading.current_thread() is threading.main_thread())
        return describe(*args, **kw)
    reverse.describe = watched_describe
    intake = _intake(qtbot, app)
    iid = intake.new_call()
    _type(qtbot, intake.place, "南京东路外滩")
    qtbot.waitUntil(lambda: bool(intake.place_box.found), timeout=10000)
    answer_confirm(qtbot)  # moving a located incident is confirmed (none asked otherwise)
    intake.locate_manual(121.4850, 31.2400)            # the call-taker clicks the spot on the map
    assert intake.place_label.text() == "地图选点：正在识别位置…"  # named in the background
    qtbot.waitUntil(intake.place_box.proposal.isVisible, timeout=20000)
    inc = _incident(app, iid)
    assert inc.lon is not None and "地图选点" != inc.place_name and "," not in inc.place_name
    assert inc.place_text == "南京东路外滩" and inc.grid_id
    assert named_on == [False], "the point was named on the GUI thread"
    shown = intake.place_label.text()
    assert inc.place_name in shown and f"网格 {inc.grid_id}" in shown and "上海市 / 黄浦区" in shown
    assert "米" in inc.place_name  # distance and direction from the junction or road
    assert "南京东路外滩" in intake.place_box.proposal.text.text()
    qtbot.waitUntil(intake.place_box.proposal.hasFocus, timeout=2000)
    qtbot.keyClick(intake.place_box.proposal, Qt.Key.Key_Return)  # one key
    qtbot.waitUntil(lambda: "已补录" in intake.notice.text(), timeout=10000)
    assert not intake.place_box.proposal.isVisible() and intake.category.hasFocus()
    with app.session() as s:
        proposed = [e for e in eventlog.read(s) if e.kind == ev.PLACE_PROPOSED]
    assert [e.payload["words"] for e in proposed] == ["南京东路外滩"]
    # the next caller who says it is found, as a full match
    best = app.geocoder.search("南京东路外滩", limit=3)[0]
    assert best.name == "南京东路外滩" and not best.partial


def test_esc_ignores_the_offer_and_known_places_get_none(qtbot, app):
    intake = _intake(qtbot, app)
    intake.new_call()
    _type(qtbot, intake.place, "南京东路外滩")
    qtbot.waitUntil(lambda: bool(intake.place_box.found), timeout=10000)
    answer_confirm(qtbot)  # moving a located incident is confirmed (none asked otherwise)
    intake.locate_manual(121.4850, 31.2400)
    qtbot.waitUntil(intake.place_box.proposal.isVisible, timeout=20000)
    qtbot.keyClick(intake.place_box.proposal, Qt.Key.Key_Escape)
    assert not intake.place_box.proposal.isVisible()
    qtbot.waitUntil(intake.category.hasFocus, timeout=1000)  # on to the next step
    intake.new_call()
    _type(qtbot, intake.place, "人民广场")
    qtbot.waitUntil(lambda: bool(intake.place_box.found), timeout=10000)
    answer_confirm(qtbot)  # moving a located incident is confirmed (none asked otherwise)
    intake.locate_manual(121.4737, 31.2304)
    qtbot.waitUntil(lambda: intake.place_label.text().startswith("已定位"), timeout=20000)
    assert not intake.place_box.proposal.isVisible()
    with app.session() as s:
        assert not [e for e in eventlog.read(s) if e.kind == ev.PLACE_PROPOSED]
