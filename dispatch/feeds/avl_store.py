"""The batch writer of unit positions (AVL fixes).

One thread takes fixes from a queue and writes them in batches (every `max_delay_s`
or `max_batch` fixes, whichever comes first): one INSERT of all the rows into the
append-only `positions` table and one UPDATE per moved unit of its last position
(units.lon/lat/position_at/position_source). Both are SQLAlchemy Core statements that
never touch `units.version`, so a fix can never make a dispatcher's action fail as
"changed by another seat"; the UPDATE only moves a unit forward in time, so a late
or replayed fix cannot pull it back.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from sqlalchemy.exc import DBAPIError

from dispatch.store.db import Store
from dispatch.store.positions import Fix, write_batch

log = logging.getLogger("dispatch.avl")

CommitHook = Callable[[Sequence[Fix], float], None]


class PositionWriter:
    """The writer thread. `submit()` never blocks and never wakes the thread (the
    receiver's event loop calls it thousands of times a second: a plain deque append);
    the thread looks every `poll_s` and writes once the oldest waiting fix is
    `max_delay_s` old or `max_batch` fixes wait. `close()` writes what is queued and
    stops. A failed batch is logged and counted in `failed`; the writer goes on."""

    def __init__(self, store: Store, max_delay_s: float = 0.05, max_batch: int = 2000,
                 on_commit: CommitHook | None = None, poll_s: float = 0.005) -> None:
        self.store = store
        self.max_delay_s = max_delay_s
        self.max_batch = max_batch
        self.on_commit = on_commit
        self.poll_s = poll_s
        self.stored = 0
        self.failed = 0
        self.batches = 0
        self.busy_s = 0.0  # time spent writing batches
        self._pending: deque[tuple[float, Fix]] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="avl-writer", daemon=True)
        self._thread.start()

    def submit(self, fix: Fix) -> None:
        self._pending.append((time.monotonic(), fix))

    def close(self, timeout: float = 30.0) -> None:
        """Flush everything submitted so far, then stop the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        pending = self._pending
        while True:
            stopping = self._stop.is_set()
            if not pending:
                if stopping:
                    return
                time.sleep(self.poll_s)
                continue
            # a backlog that built up during the previous write goes out at once
            wait = pending[0][0] + self.max_delay_s - time.monotonic()
            if wait > 0 and len(pending) < self.max_batch and not stopping:
                time.sleep(min(wait, self.poll_s))
                continue
            batch = [pending.popleft()[1] for _ in range(min(len(pending), self.max_batch))]
            self._write(batch)

    def _write(self, batch: list[Fix]) -> None:
        for attempt in (1, 2):
            try:
                t = time.perf_counter()
                write_batch(self.store, batch)
                self.busy_s += time.perf_counter() - t
                break
            except Exception as exc:  # noqa: BLE001 - the writer thread must outlive any batch
                if attempt == 2 or not isinstance(exc, DBAPIError):  # a locked database: retry once
                    self.failed += len(batch)
                    log.error("位置批量写入失败（%d 条）: %s", len(batch), str(exc).splitlines()[0][:200])
                    return
                time.sleep(0.2)
        self.stored += len(batch)
        self.batches += 1
        if self.on_commit is not None:
            try:
                self.on_commit(batch, time.monotonic())
            except Exception:  # noqa: BLE001
                log.exception("on_commit hook failed")
