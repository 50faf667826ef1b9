"""Follow the event log from another seat (or this one): read every event with
id > cursor, once, in log order, and never skip one.

`id > cursor` is safe because appends are serialised (store.db.lock_appends): an event
gets its id while its transaction holds the append lock, and the lock is held until
commit, so no event with a lower id can commit after one with a higher id.

On PostgreSQL a listening connection (LISTEN dispatch_events, in a thread) wakes the
follower as soon as an appending transaction commits (its NOTIFY is delivered at
commit). Wakes are coalesced: at most one per `coalesce_s` (default 50 ms); the
notifications that arrive meanwhile become one wake at the end of that interval, never
lost. An idle log is read at once; a busy one (every seat's commit notifies every seat)
is read in batches, so N seats do not cost N reads per commit each. When that connection
is lost it reconnects and wakes the follower once, so the cursor catches up without a
gap. On SQLite (one file, no server) the follower polls.

The cursor is guarded by `lock`: two threads may read (the console reads in a thread
and also at once after its own actions), and each read takes the events after the
other's. Hold `lock` around a read and what is done with its events to keep the two
in id order.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dispatch.domain.events import Event
from dispatch.store import eventlog
from dispatch.store.db import Store
from dispatch.store.hashchain import NOTIFY_CHANNEL

SQLITE_POLL_S = 0.02  # SQLite has no notifications: poll (an indexed `id > cursor` read, ~1 ms)
PG_FALLBACK_S = 2.0  # PostgreSQL is woken by NOTIFY; a timed read is only a safety net
COALESCE_S = 0.05    # at most one wake per 50 ms: a burst of commits is one read


class Follower:
    """The cursor over the log. `read_new()` returns the events appended since the last call."""

    def __init__(self, store: Store, cursor: int | None = None) -> None:
        self.store = store
        if cursor is None:
            with store.reader() as s:
                cursor = eventlog.last_id(s)
        self.cursor = cursor
        self.lock = threading.RLock()  # guards the cursor: one read at a time
        self._wake = threading.Event()
        self._listener: _Listener | None = None

    @property
    def can_listen(self) -> bool:
        """True on PostgreSQL (LISTEN/NOTIFY); SQLite followers poll."""
        return self.store.engine.dialect.name == "postgresql"

    def read_new(self, limit: int | None = None) -> list[Event]:
        """Events with id > cursor in log order; the cursor moves past them.
        Raises StoreUnavailable (a DispatchError) when the database cannot be read."""
        with self.lock, self.store.read_connection() as conn:
            new = eventlog.read_after(conn, self.cursor, limit)
            if new:
                self.cursor = new[-1].id
        return new

    def has_new(self) -> bool:
        """Whether an event past the cursor exists: one indexed lookup on a pooled DBAPI
        connection, ~10 us of Python against ~0.2 ms for an empty `read_new()` (a poll
        every 20 ms holds the interpreter lock that much less). True when the lookup
        fails: `read_new()` then says why."""
        try:
            conn = self.store.engine.raw_connection()
            try:
                cur = conn.cursor()
                cur.execute(f"SELECT 1 FROM events WHERE id > {int(self.cursor)} LIMIT 1")
                return cur.fetchone() is not None
            finally:
                conn.close()
        except Exception:  # noqa: BLE001 - read_new() reports it as StoreUnavailable
            return True

    def listen(self, on_wake: Callable[[], None] | None = None, retry_s: float = 0.5,
               coalesce_s: float = COALESCE_S) -> None:
        """Start the listening thread (PostgreSQL only; a no-op on SQLite). `on_wake` is
        called from that thread after commits that appended events (at most once per
        `coalesce_s`, see the module docstring) and after every (re)connection; `wait()`
        returns at the same moments."""
        if not self.can_listen or self._listener is not None:
            return

        def wake() -> None:
            self._wake.set()
            if on_wake is not None:
                on_wake()

        url = self.store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener = _Listener(url, wake, retry_s, coalesce_s)
        self._listener.start()

    def wake(self) -> None:
        """Make `wait()` return at once (a stop, or a read wanted now)."""
        self._wake.set()

    def wait(self, timeout: float) -> bool:
        """Block until woken (PostgreSQL) or `timeout` seconds pass; True when woken."""
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken

    @property
    def listener(self) -> _Listener | None:
        return self._listener

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None


class _Listener(threading.Thread):
    """LISTEN on its own autocommit psycopg connection; reconnects when it is lost."""

    def __init__(self, url: str, wake: Callable[[], None], retry_s: float, coalesce_s: float = COALESCE_S) -> None:
        super().__init__(name="log-listener", daemon=True)
        self._url, self._wake_cb, self._retry_s = url, wake, retry_s
        self._coalesce_s = max(0.0, coalesce_s)
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.backend_pid: int | None = None
        self.connections = 0  # successful (re)connections: > 1 after a reconnect
        self.notifications = 0  # NOTIFYs received
        self.wakes = 0  # wakes after NOTIFYs (fewer than notifications when coalesced)

    def run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.connections += 1
                    self.connected.set()
                    self._wake_cb()  # catch up on anything committed while not listening
                    self._relay(conn)
            except psycopg.Error:
                self.connected.clear()
                self._stopping.wait(self._retry_s)
        self.connected.clear()

    def _relay(self, conn) -> None:  # noqa: ANN001 (psycopg.Connection)
        """Turn notifications into wakes: at once when the last wake is `coalesce_s` old,
        else one wake when it is (a pending notification is never dropped). Within that
        interval the thread sleeps instead of reading each notification as it comes (the
        socket keeps them; they are drained before the wake): in a busy room every commit
        notifies every seat, and each read would take the seat's interpreter lock from the
        action it is running."""
        last_wake = time.monotonic()
        while not self._stopping.is_set():
            got = sum(1 for _ in conn.notifies(timeout=0.25, stop_after=1))
            if not got:
                continue
            self.notifications += got
            wait_s = last_wake + self._coalesce_s - time.monotonic()
            if wait_s > 0 and self._stopping.wait(wait_s):
                return
            self.notifications += sum(1 for _ in conn.notifies(timeout=0))  # what came meanwhile
            self.wakes += 1
            self._wake_cb()
            last_wake = time.monotonic()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        self.join(timeout)
