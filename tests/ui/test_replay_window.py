"""The replay window: the console widgets show the folded state at the cursor; play,
speed, scrub, choose an incident; nothing in it can write."""
from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtWidgets import QPushButton
from sqlalchemy import func, select

from dispatch.domain.errors import DispatchError
from dispatch.store.schema import EventRow, PositionRow
from tests.ui.replay_fixture import simulated_replay
from ui.replay.window import ReplayWindow


def _counts(app):
    with app.session() as s:
        return s.scalar(select(func.count(EventRow.id))), s.scalar(select(func.count(PositionRow.id)))


def _queue_ids(win):
    m = win.views.queue.model
    return sorted(m.incident_at(r).id for r in range(m.rowCount()))


@pytest.fixture
def replay(tmp_path, qtbot):
    live, ro, index = simulated_replay(tmp_path)
    win = ReplayWindow(ro, index, with_map=False)
    qtbot.addWidget(win)
    return live, ro, index, win


def test_widgets_show_the_state_at_the_cursor_and_scrub(replay, qtbot):
    _live, _ro, index, win = replay
    for minutes in (20, 45, 70, 100):
        win.slider.setValue(minutes * 60)
        at = index.start + timedelta(minutes=minutes)
        qtbot.waitUntil(lambda: win.controller.at == at, timeout=1000)  # drawn once the loop is idle
        state = index.state_at(at)
        assert _queue_ids(win) == sorted(i.id for i in state.incidents)
        assert win.views.board.model.rowCount() == len(state.units)
    assert any(index.state_at(index.start + timedelta(minutes=m)).incidents for m in (20, 45, 70, 100))


def test_play_at_speed_advances_and_pause_stops(replay, qtbot):
    _live, _ro, _index, win = replay
    win.speed_box.setCurrentIndex(win.speed_box.findData(60))
    start = win.controller.at
    win.controller.play()
    assert win.play_button.text().startswith("暂停")
    qtbot.wait(600)
    win.controller.pause()
    moved = (win.controller.at - start).total_seconds()
    assert 10 <= moved <= 60 * 3  # about 0.6 s of wall time at 60×
    stopped = win.controller.at
    qtbot.wait(250)
    assert win.controller.at == stopped
    assert win.slider.value() == int(win.controller.position_s)


def test_replay_one_incident_and_open_its_timeline(replay, qtbot):
    _live, _ro, index, win = replay
    closed = next(v for v in index.final_incidents() if v.closed_at is not None and v.assignments)
    win.replay_incident(closed.id)
    assert win.controller.start == closed.received_at - timedelta(minutes=1)
    assert win.controller.end == closed.closed_at + timedelta(minutes=1)
    assert win.views.queue.current_id() == closed.id
    dlg = win.open_incident_timeline(closed.id)
    qtbot.addWidget(dlg)
    assert dlg.events.rowCount() == len(index.incident_events(closed.id))
    assert dlg.intervals.rowCount() == 4
    assert dlg.events.item(0, 3).text() == "接警"
    with pytest.raises(DispatchError):
        win.replay_incident(999999)


def test_replay_cannot_write(replay, qtbot, tmp_path):
    live, ro, _index, win = replay
    with pytest.raises(DispatchError):
        ReplayWindow(live, _index, with_map=False)  # a writable app is refused
    assert win.views.board.buttons == {}   # the board has no status actions in replay
    labels = {b.text() for b in win.findChildren(QPushButton)}
    assert labels <= {"回放时段", "回放警情", "班次时间轴", "统计", "播放 (空格)", "暂停 (空格)"}
    before = _counts(ro)
    win.controller.play()
    qtbot.wait(300)
    win.slider.setValue(win.slider.maximum() // 2)
    shift = win.open_shift_timeline()
    qtbot.addWidget(shift)
    win.slider.setValue(win.slider.maximum() // 4)
    qtbot.waitUntil(lambda: shift.timeline.cursor.value() == win.controller.at.timestamp(), timeout=1000)
    qtbot.addWidget(win.open_stats())
    win.controller.pause()
    assert _counts(ro) == before
    with pytest.raises(DispatchError):
        ro.services.open_call("110", "")


def test_closing_the_shift_timeline_leaves_the_replay_working(replay, qtbot):
    from PySide6.QtCore import QCoreApplication, QEvent
    _live, _ro, index, win = replay
    dlg = win.open_shift_timeline()
    dlg.close()
    dlg.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    state = win.controller.seek(index.start + timedelta(minutes=30))
    assert state.at == index.start + timedelta(minutes=30)
