"""The Qt face of dispatch.feeds.follower: every seat (this one included) learns of
changes by reading the log past its cursor. One path for updates, not two.

The timed and NOTIFY-woken reads run in a thread of their own (`_Reader`): a read on a
busy machine or a remote PostgreSQL takes 30-260 ms of wall time for ~2 ms of CPU, and
the GUI thread must not wait for it. The thread puts what it read into an outbox and
posts one queued signal; the GUI thread empties the outbox and emits `changed` (and
`failed`). `poll()` (after this seat's own actions) reads on the GUI thread, at once,
into the same outbox: a read and its place in the outbox are one step under the
follower's lock, and one loop empties the outbox, so `changed` always comes in id
order, with no event twice and none skipped. The outbox has a lock of its own, held
only to append or take: emptying it never waits for a read in flight.
"""
from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.domain.events import Event
from dispatch.feeds.follower import PG_FALLBACK_S, SQLITE_POLL_S, Follower

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0  # a read in flight when the window closes is waited for this long

Outbox = list[list[Event] | str]  # batches of events in id order; a str: a read failed


class LogFollower(QObject):
    """Emits `changed(events)` when new events appear; `poll()` reads at once."""

    changed = Signal(list)
    failed = Signal(str)
    _posted = Signal()  # from the reader thread, delivered queued on this object's thread

    def __init__(self, app: App, interval_ms: int | None = None, parent: QObject | None = None,
                 follower: Follower | None = None) -> None:
        super().__init__(parent)
        self._follower = follower if follower is not None else Follower(app.store)
        if interval_ms is None:
            interval_ms = int(1000 * (PG_FALLBACK_S if self._follower.can_listen else SQLITE_POLL_S))
        self._outbox: Outbox = []
        self._outbox_lock = threading.Lock()  # taken inside the follower's lock, never around I/O
        self._flushing = False
        self._stopped = False
        self.delivered = self._follower.cursor  # the last event id `changed` carried
        self._posted.connect(self._on_posted)
        self._follower.listen()  # PostgreSQL: a NOTIFY wakes the reader (Follower.wait)
        self._reader = _Reader(self._follower, interval_ms / 1000, weakref.WeakMethod(self._read_into_outbox),
                               weakref.WeakMethod(self._post))
        # deleted without stop(): the thread and the listener still end
        self.destroyed.connect(functools.partial(_end, self._reader, self._follower))
        self._reader.start()

    @property
    def cursor(self) -> int:
        """The last event id delivered by `changed` (the reader may have read further)."""
        return self.delivered

    @property
    def interval_ms(self) -> int:
        """SQLite: the poll; PostgreSQL: the safety net's interval."""
        return round(self._reader.interval_s * 1000)

    @interval_ms.setter
    def interval_ms(self, ms: int) -> None:
        self._reader.interval_s = ms / 1000
        self._follower.wake()

    @property
    def reader_thread(self) -> threading.Thread:
        return self._reader

    def poll(self) -> None:
        """Read now, on this thread, and deliver what the reader had read before it, then
        this read (called after this seat's own actions). Inside a `changed` handler the
        delivery comes right after that handler returns, to keep the order."""
        self._read_into_outbox()
        self._flush()

    def _read_into_outbox(self) -> bool:
        """One read; its events (or its failure) join the outbox. True when the outbox was
        empty before (nobody has been told to empty it yet)."""
        with self._follower.lock:
            try:
                new: list[Event] | str = self._follower.read_new()
            except DispatchError as exc:
                new = str(exc)
            except Exception as exc:  # noqa: BLE001 - the reader must live on; the seat is told
                log.exception("reading the event log failed")
                new = f"读取事件日志失败：{exc}"
            if not new:
                return False
            with self._outbox_lock:
                if isinstance(new, str) and self._outbox and self._outbox[-1] == new:
                    return False  # the same failure, not shown yet
                was_empty = not self._outbox
                self._outbox.append(new)
                return was_empty

    def _post(self) -> None:  # reader thread
        self._posted.emit()

    def _on_posted(self) -> None:
        if not self._stopped:  # a batch read just before stop() is not handed to a closed window
            self._flush()

    def _flush(self) -> None:
        """Emit what the outbox holds, in order (GUI thread). A flush asked for while one
        runs (a handler of `changed` polled) is done by the running one's loop."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while True:
                with self._outbox_lock:
                    items, self._outbox = self._outbox, []
                if not items:
                    return
                self._emit(items)
        finally:
            self._flushing = False

    def _emit(self, items: Outbox) -> None:
        events: list[Event] = []
        for item in items:
            if isinstance(item, str):
                if events:
                    self._changed(events)
                    events = []
                self.failed.emit(item)
            else:
                events.extend(item)
        if events:
            self._changed(events)

    def _changed(self, events: list[Event]) -> None:
        self.delivered = events[-1].id
        self.changed.emit(events)

    def stop(self) -> None:
        """End the reader thread (waits for a read in flight) and the listener."""
        self._stopped = True
        _end(self._reader, self._follower)


def _end(reader: _Reader, follower: Follower) -> None:
    reader.stop()
    follower.close()


class _Reader(threading.Thread):
    """Reads when woken (a NOTIFY, through Follower.wait) or every `interval_s` (SQLite:
    only when `Follower.has_new()` says there is something); after a failure it tries
    again at the next turn. `read()` returns True when the GUI thread must be told
    (`post()`). Both are weak: the thread does not keep its LogFollower (and what its
    handlers hold) alive, and ends when it is gone."""

    def __init__(self, follower: Follower, interval_s: float, read: weakref.WeakMethod[Callable[[], bool]],
                 post: weakref.WeakMethod[Callable[[], None]]) -> None:
        super().__init__(name="log-follower", daemon=True)
        self.interval_s = interval_s
        self._follower, self._read, self._post = follower, read, post
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._follower.wait(self.interval_s)
            if self._stopping.is_set():
                return
            if not (self._follower.can_listen or self._follower.has_new()):
                continue  # SQLite's poll found nothing: no read, no lock taken
            read, post = self._read(), self._post()
            if read is None or post is None:
                return  # the LogFollower is gone
            try:
                if read() and not self._stopping.is_set():
                    post()
            except RuntimeError:  # the LogFollower was deleted under the thread
                return
            finally:
                del read, post

    def stop(self) -> None:
        self._stopping.set()
        self._follower.wake()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(STOP_TIMEOUT_S)
