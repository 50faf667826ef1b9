"""A typical call from F2 to 派警 on the real main window, keyboard only: number,
place, category, dispatch of the first recommendation in at most 8 keys besides the
typed text (the README's keyboard table describes exactly this sequence)."""
from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dispatch.domain import events as ev
from dispatch.services import queries
from dispatch.store import eventlog
from tests.ui.window_support import open_window as _window


class Keyboard:
    """Keys go where the focus is, as on a real desk; non-text keys are counted."""

    def __init__(self, qtbot) -> None:
        self.qtbot, self.keys = qtbot, []

    def press(self, key: Qt.Key) -> None:
        target = QApplication.focusWidget()
        assert target is not None, "no widget has the keyboard"
        self.keys.append(key)
        QTest.keyClick(target, key)

    def type_ascii(self, text: str) -> None:
        QTest.keyClicks(QApplication.focusWidget(), text)

    def type_chinese(self, text: str) -> None:
        """What an input method commits (QTest only knows ASCII)."""
        for chunk in text.split(" "):
            e = QInputMethodEvent()
            e.setCommitString(chunk)
            QApplication.sendEvent(QApplication.focusWidget(), e)
            self.qtbot.wait(20)


def test_a_typical_call_takes_at_most_8_keys(qtbot, app):
    searched_on = []   # which thread ran each geocoder search
    geocoder = app.geocoder
    search = geocoder.search

    def watched_search(*args, **kw):
        searched_on.append(threading.current_thread() is threading.main_thread())
        return search(*args, **kw)
    geocoder.search = watched_search
    w = _window(qtbot, app)
    kb = Keyboard(qtbot)
    w.queue.view.setFocus()

    kb.press(Qt.Key.Key_F2)                         # 1: new call, cursor in 来电号码
    iid = w.intake.incident_id
    assert iid is not None and QApplication.focusWidget() is w.intake.number
    kb.type_ascii("13916001234")
    kb.press(Qt.Key.Key_Return)                     # 2: number saved, cursor to 地点
    assert QApplication.focusWidget() is w.intake.place
    kb.type_chinese("福州路 西藏中路 口")
    kb.press(Qt.Key.Key_Return)                     # 3: at once, before the search came back
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.intake.category, timeout=10000)
    kb.type_ascii("jf")                             # 矛盾纠纷 by its pinyin initials
    assert w.intake.category.currentData() == "dispute"
    kb.press(Qt.Key.Key_Return)                     # 4: 定性 saved, recommendation runs
    qtbot.waitUntil(lambda: bool(w.intake.checked_units()), timeout=15000)
    assert QApplication.focusWidget() is w.intake.rec_tree
    first = w.intake.rec_tree.recommendation.ranked[0]
    assert w.intake.checked_units() == [first.unit_id]  # the first is ticked for you
    kb.press(Qt.Key.Key_Return)                     # 5: 派警
    qtbot.wait(300)  # (the window reads its own dispatch back from the log)
    assert not w.intake.error.isVisible(), w.intake.error.text()  # no "taken by another seat" for our own

    with app.session() as s:
        events = eventlog.read(s, incident_id=iid)
        inc = queries.incident(s, iid)
    kinds = [e.kind for e in events]
    assert len(kb.keys) <= 8, kb.keys
    assert [e.unit_id for e in events if e.kind == ev.UNIT_DISPATCHED] == [first.unit_id]
    assert kinds.count(ev.INCIDENT_CATEGORISED) == 1
    assert inc.caller_number == "13916001234" and inc.category == "dispute"
    assert "福州路" in inc.place_name and "西藏中路" in inc.place_name
    assert searched_on and not any(searched_on), "the geocoder ran on the GUI thread"
    print(f"non-text keys F2→派警: {len(kb.keys)}")
