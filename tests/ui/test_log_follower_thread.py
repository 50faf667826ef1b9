"""The log follower reads in a thread of its own: another seat's events arrive in id
order, none missing or twice, while the GUI thread is busy; a poll() on the GUI thread
racing the thread keeps the order; a read error reaches the GUI thread as `failed` and
the reader tries again; stop() ends the thread."""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject
from sqlalchemy import text

from dispatch.bootstrap import bootstrap
from dispatch.feeds.follower import Follower
from dispatch.services.context import Actor
from dispatch.settings import Settings
from ui.log_follower import LogFollower


class RecordingFollower(Follower):
    """The real follower; each read notes the thread it ran on and the ids it returned."""

    def __init__(self, store) -> None:  # noqa: ANN001
        super().__init__(store)
        self.reads: list[tuple[int, list[int]]] = []

    def read_new(self, limit: int | None = None):  # noqa: ANN201
        new = super().read_new(limit)
        self.reads.append((threading.get_ident(), [e.id for e in new]))
        return new


def _collect(follower: LogFollower) -> list[int]:
    got: list[int] = []
    follower.changed.connect(lambda events: got.extend(e.id for e in events))
    return got


def _logged_after(app, cursor: int) -> list[int]:  # noqa: ANN001
    return [e.id for e in Follower(app.store, cursor=cursor).read_new()]


def _threads_named(name: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name == name)


def _arrive_while_gui_is_busy(qtbot, app, other, interval_ms: int) -> None:  # noqa: ANN001
    gui = threading.get_ident()
    recording = RecordingFollower(app.store)
    follower = LogFollower(app, interval_ms=interval_ms, follower=recording)
    start = follower.cursor
    got = _collect(follower)
    if recording.listener is not None:
        assert recording.listener.connected.wait(5)
    seat_b = other.services_for(Actor("席位02", "接警员乙"))
    # the GUI thread writes as the other seat and sleeps, never turning its event loop
    for k in range(40):
        seat_b.open_call(f"1370000{k:04d}", "")
        time.sleep(0.01)
    written = _logged_after(app, start)
    deadline = time.monotonic() + 10
    while sum(len(ids) for t, ids in recording.reads if t != gui) < len(written) and time.monotonic() < deadline:
        time.sleep(0.02)  # still busy: the reader reads without the GUI thread
    assert got == []  # nothing delivered while the GUI thread did not turn
    assert [i for t, ids in recording.reads if t != gui for i in ids] == written
    assert all(t != gui for t, _ in recording.reads)
    qtbot.waitUntil(lambda: len(got) >= len(written), timeout=3000)
    assert got == written and len(written) == len(set(written)) >= 40
    follower.stop()
    assert not follower.reader_thread.is_alive()


def test_another_seat_arrives_in_order_while_the_gui_is_busy_sqlite(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)
    _arrive_while_gui_is_busy(qtbot, app, other, interval_ms=20)
    other.engine.dispose()


@pytest.mark.postgres
def test_another_seat_arrives_in_order_while_the_gui_is_busy_postgresql(qtbot, pg_url, tmp_path, clock):
    """Woken by NOTIFY only: the timed read (60 s) never comes."""
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path, load_demo=False)
        app, other = bootstrap(settings, clock=clock), bootstrap(settings, clock=clock)
        _arrive_while_gui_is_busy(qtbot, app, other, interval_ms=60_000)
        app.engine.dispose()
        other.engine.dispose()


def test_poll_racing_the_reader_keeps_strict_id_order(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)
    gui = threading.get_ident()
    recording = RecordingFollower(app.store)
    follower = LogFollower(app, interval_ms=2, follower=recording)
    start = follower.cursor
    got = _collect(follower)
    nested = [0]

    def poll_inside_a_handler(_events) -> None:  # noqa: ANN001
        if len(got) % 3 == 0:  # a handler that polls: its delivery waits for this one
            nested[0] += 1
            follower.poll()

    follower.changed.connect(poll_inside_a_handler)
    done = threading.Event()

    def write() -> None:
        seat_b = other.services_for(Actor("席位02", "接警员乙"))
        for k in range(150):
            seat_b.open_call(f"1380000{k:04d}", "")
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        follower.poll()
        qtbot.wait(1)
    writer.join(30)
    follower.poll()
    written = _logged_after(app, start)
    assert got == written and len(written) >= 150
    assert follower.cursor == written[-1]
    by_gui = [i for t, ids in recording.reads if t == gui for i in ids]
    by_thread = [i for t, ids in recording.reads if t != gui for i in ids]
    assert by_gui and by_thread, "the race did not happen: one side read everything"
    assert sorted(by_gui + by_thread) == written and nested[0] > 0
    follower.stop()
    other.engine.dispose()


def test_a_read_error_is_reported_on_the_gui_thread_and_the_reader_retries(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)
    follower = LogFollower(app, interval_ms=20)
    start = follower.cursor
    got = _collect(follower)
    failures: list[tuple[str, int]] = []
    follower.failed.connect(lambda msg: failures.append((msg, threading.get_ident())))
    with app.engine.begin() as c:  # the log cannot be read for a moment
        c.execute(text("ALTER TABLE events RENAME TO events_away"))
    qtbot.waitUntil(lambda: len(failures) >= 2, timeout=3000)  # reported, and tried again
    assert all(msg and tid == threading.get_ident() for msg, tid in failures)
    with app.engine.begin() as c:
        c.execute(text("ALTER TABLE events_away RENAME TO events"))
    other.services_for(Actor("席位02", "接警员乙")).open_call("13700000000", "")
    qtbot.waitUntil(lambda: len(got) >= 1, timeout=3000)
    assert follower.reader_thread.is_alive()
    assert got == _logged_after(app, start) and got
    follower.stop()
    other.engine.dispose()


def test_stop_joins_the_thread_and_a_deleted_follower_leaves_none(qtbot, app):
    before = _threads_named("log-follower")
    followers = [LogFollower(app, interval_ms=20) for _ in range(8)]
    assert _threads_named("log-follower") == before + 8
    t0 = time.monotonic()
    for f in followers:
        f.stop()
        assert not f.reader_thread.is_alive()
    assert time.monotonic() - t0 < 2.0
    assert _threads_named("log-follower") == before

    parent = QObject()
    orphan = LogFollower(app, interval_ms=20, parent=parent)
    thread = orphan.reader_thread
    assert thread.is_alive()
    parent.deleteLater()  # never stopped: its destruction ends the thread
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=3000)


def test_a_batch_read_just_before_stop_is_not_handed_over_after_it(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)
    gui = threading.get_ident()
    recording = RecordingFollower(app.store)
    follower = LogFollower(app, interval_ms=20, follower=recording)
    got = _collect(follower)
    other.services_for(Actor("席位02", "接警员乙")).open_call("13700000000", "")
    deadline = time.monotonic() + 5
    while not any(ids for t, ids in recording.reads if t != gui) and time.monotonic() < deadline:
        time.sleep(0.01)  # the reader has read it and posted; the GUI thread has not turned
    assert any(ids for t, ids in recording.reads if t != gui)
    follower.stop()  # the window closes
    qtbot.wait(100)
    assert got == []
    other.engine.dispose()


class SlowAfterFirstFollower(RecordingFollower):
    """The real follower; once the reader thread has read an event, its later reads take
    2 s more (a server far away or a machine out of breath)."""

    def __init__(self, store, gui: int) -> None:  # noqa: ANN001
        super().__init__(store)
        self.gui, self.slow = gui, threading.Event()

    def read_new(self, limit: int | None = None):  # noqa: ANN201
        if self.slow.is_set() and threading.get_ident() != self.gui:
            time.sleep(2.0)
        new = super().read_new(limit)
        if new and threading.get_ident() != self.gui:
            self.slow.set()
        return new


def test_handing_over_never_waits_for_a_read_in_flight(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)
    gui = threading.get_ident()
    slow = SlowAfterFirstFollower(app.store, gui)
    follower = LogFollower(app, interval_ms=20, follower=slow)
    got = _collect(follower)
    seat_b = other.services_for(Actor("席位02", "接警员乙"))
    seat_b.open_call("13700000000", "")
    assert slow.slow.wait(5)  # the reader has read the first, and posted it
    seat_b.open_call("13700000001", "")
    time.sleep(0.2)  # the reader is now inside its (slow) read of the second, holding the cursor
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: bool(got), timeout=3000)
    assert time.monotonic() - t0 < 1.0  # not after the 2 s read
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)  # then the second, after it
    follower.stop()
    other.engine.dispose()
