"""The replay window opened from the console (F12) does not trap the call-taker: Esc closes
it, F2 starts a new call in the console behind it, and it fits the screen."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.window_support import open_window


def test_esc_closes_the_replay_and_f2_goes_to_the_console(qtbot, app):
    w = open_window(qtbot, app)
    w.intake.new_call("13800000001", "")  # a log to replay
    w.open_replay()  # folded in the background: the window comes when it is done
    qtbot.waitUntil(lambda: any(type(d).__name__ == "ReplayWindow" for d in w._dialogs), timeout=10000)
    replay = next(d for d in w._dialogs if type(d).__name__ == "ReplayWindow")
    replay.show()
    qtbot.waitExposed(replay)
    free = replay.screen().availableGeometry()
    assert free.contains(replay.frameGeometry().topLeft()) and replay.height() <= free.height()
    replay.activateWindow()
    qtbot.waitUntil(replay.isActiveWindow, timeout=3000)
    before = w.intake.incident_id
    qtbot.keyClick(replay, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: w.intake.incident_id not in (None, before), timeout=5000)
    replay.activateWindow()
    qtbot.keyClick(replay, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not replay.isVisible(), timeout=3000)


def test_space_and_arrows_work_as_soon_as_the_replay_opens(qtbot, tmp_path):
    """The window opens with the keys of replay working, not in the 从 date field (which
    took Space and ←/→ as date edits until the trainer clicked elsewhere)."""
    from tests.ui.replay_fixture import simulated_replay
    from ui.replay.window import ReplayWindow

    _live, ro, index = simulated_replay(tmp_path)
    win = ReplayWindow(ro, index, with_map=False)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    dates = (win.from_edit.dateTime(), win.to_edit.dateTime())
    start = win.controller.at
    for _ in range(3):
        qtbot.keyClick(win.focusWidget(), Qt.Key.Key_Right)
    win.flush_scrub()
    assert (win.controller.at - start).total_seconds() == 180
    qtbot.keyClick(win.focusWidget(), Qt.Key.Key_Left)
    win.flush_scrub()
    assert (win.controller.at - start).total_seconds() == 120
    qtbot.keyClick(win.focusWidget(), Qt.Key.Key_Space)
    assert win.controller.playing
    qtbot.keyClick(win.focusWidget(), Qt.Key.Key_Space)
    assert not win.controller.playing
    assert (win.from_edit.dateTime(), win.to_edit.dateTime()) == dates
