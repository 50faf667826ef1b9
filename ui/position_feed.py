"""Live unit positions on the console: the Qt face of dispatch.feeds.position_follower.

Fixes write no events, so the log follower never sees them. `PositionFeed` has a
process of its own poll the units whose position changed (every 250 ms by default:
dispatch.feeds.position_feed_worker) and `LivePositions` applies
them to the window: only the rows of the units that moved on the board (dataChanged),
only their markers on the map (dispatchMap.upsertUnits), the selected unit's track
(last 10 minutes from `positions`), staleness as time passes, and the note a 到场
suggestion leaves when it is confirmed.

The GUI thread is never held long by the storm: fixes are applied in slices of
APPLY_CHUNK units per turn of the event loop, the window's unit list is updated in
place, and `QuietHeap` runs the cyclic collector on the GUI thread only, over a heap
whose long-lived data (the loaded units, Qt's wrappers, the basemap, later the road
graph and gazetteer) is kept out of its passes. A collection triggered by allocation
runs in whichever thread allocated and holds the GIL for the whole pass: when the feed
still read in a thread, the OS preempted it mid-pass on a busy machine and a 1-4 ms
collection held the GUI thread for 50-110 ms (gc.callbacks and the threads' schedstat
during `bench avl`); worker threads (warm-up, routes) would do the same.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.feeds.position_feed_worker import decode_moved, encode_seed
from dispatch.feeds.position_follower import Moved, PositionFollower, arrival_fix
from dispatch.services import queries
from ui.map_feed import unit_markers
from ui.screen_updates import replace_units

if TYPE_CHECKING:
    from dispatch.store.db import Store
    from ui.main_window import MainWindow

POLL_MS = 250
RESTART_MS = 2000  # a feed process that ended is started again after this
APPLY_CHUNK = 200  # units applied per turn of the event loop: input is never held up long
TRACK_MINUTES = 10
LONG_GC_MS = 20.0  # a full collection longer than this: its survivors are frozen
COLLECT_MS = 50  # the GUI thread runs the collector's due passes this often
# while a console is open, allocation alone starts a pass only past this many young
# objects (a safety net, for when the GUI thread's event loop does not turn)
SAFETY_THRESHOLD0 = 100_000


class QuietHeap:
    """Keeps the cyclic GC off the storm's threads and its passes short while a console
    is open.

    The collector runs on the GUI thread: `acquire()` raises the allocation threshold
    that starts a pass in whatever thread allocates to SAFETY_THRESHOLD0, and every
    COLLECT_MS the window calls `collect_due()`, which runs the pass the standard
    thresholds call for (young, middle or full generation) there and then. A pass on the
    GUI thread delays it only by the pass's own CPU time; a pass in the position feed's
    thread held the GIL while the OS ran other processes.

    `settle()` (after a full load) moves every object alive into the collector's
    permanent generation (gc.freeze): the next full passes scan only what was made
    since. A full pass that still takes longer than LONG_GC_MS (the heap grew: warm-up
    loaded the road graph, a replay its index) freezes its survivors too, right as it
    ends, when all of them are alive. Refcounting still frees frozen objects; only cycles
    among them wait until the last console closes (`release`: gc.unfreeze, the
    thresholds as they were)."""

    users = 0
    freezes = 0
    passes = 0  # passes run by collect_due()
    _started = 0.0
    _thresholds: tuple[int, int, int] | None = None

    @classmethod
    def acquire(cls) -> None:
        cls.users += 1
        if cls.users == 1:
            gc.callbacks.append(cls._on_gc)
            cls._thresholds = gc.get_threshold()
            t0, t1, t2 = cls._thresholds
            if t0:  # 0: automatic collection was off; it stays off
                gc.set_threshold(max(t0, SAFETY_THRESHOLD0), t1, t2)

    @classmethod
    def release(cls) -> None:
        if cls.users == 0:
            return
        cls.users -= 1
        if cls.users == 0:
            gc.callbacks.remove(cls._on_gc)
            if cls._thresholds is not None:
                gc.set_threshold(*cls._thresholds)
                cls._thresholds = None
            gc.unfreeze()  # cycles among the console's objects are collected again

    @classmethod
    def collect_due(cls) -> int | None:
        """Run the pass CPython's own thresholds call for now, on the calling (GUI)
        thread: the generation collected, or None when none is due."""
        if cls._thresholds is None:
            return None
        t0, t1, t2 = cls._thresholds
        c0, c1, c2 = gc.get_count()
        if not t0 or c0 <= t0:
            return None
        generation = 2 if c2 > t2 else 1 if c1 > t1 else 0  # as gc_collect_generations chooses
        gc.collect(generation)
        cls.passes += 1
        return generation

    @classmethod
    def settle(cls) -> None:
        if cls.users:
            gc.freeze()
            cls.freezes += 1

    @classmethod
    def _on_gc(cls, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            cls._started = time.perf_counter()
        elif (time.perf_counter() - cls._started) * 1000 > LONG_GC_MS:
            gc.freeze()  # the pass just ended: every object still tracked is alive
            cls.freezes += 1


class FeedCounts:
    """What the feed's process reports of its reads (`reads`: polls so far)."""

    reads = 0


class _StartReads:
    """The reads in a thread of the console, only until the feed's process gives its
    first (the process takes 0.3-2 s to start; a window shows fixes from its start)."""

    def __init__(self, store: Store, interval_s: float, emit: Callable[[list], None]) -> None:
        self.follower = PositionFollower(store)
        self._interval_s, self._emit = interval_s, emit
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="position-feed-start", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                moved = self.follower.read_moved()
            except Exception:  # noqa: BLE001 - the process reports failures
                continue
            if moved and not self._stop.is_set():
                try:
                    self._emit(moved)
                except RuntimeError:  # the feed went away under the thread
                    return

    def stop(self) -> None:
        self._stop.set()


class PositionFeed(QObject):
    """Emits `moved(list[Moved])` for the units whose last position changed. The reads
    run in a process of their own (dispatch.feeds.position_feed_worker): no thread of
    the console holds the GIL for them. Its lines are read here, on this object's
    thread, whenever its pipe has data (never waiting for it); a process that ends
    is started again after RESTART_MS, seeded with the last positions given. Until the
    process's first read, a thread reads (`_StartReads`)."""

    moved = Signal(list)
    failed = Signal(str)

    def __init__(self, store: Store, interval_ms: int = POLL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.follower = FeedCounts()
        self.interval_ms = interval_ms
        self._url = store.engine.url.render_as_string(hide_password=False)
        self._seed: dict[int, list] = {}  # unit id -> [id, lon, lat, ISO time]: for a restarted process
        self._buffer = b""
        self._failing = False
        self._stopped = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._notifier: QSocketNotifier | None = None
        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.setInterval(RESTART_MS)
        self._restart.timeout.connect(self._start)
        self._start_reads: _StartReads | None = _StartReads(store, interval_ms / 1000, self.moved.emit)
        QTimer.singleShot(0, self._start)  # once the window is built: not on its constructor's path

    def _start(self) -> None:
        if self._stopped:
            return
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dispatch.feeds.position_feed_worker", "--interval-ms", str(self.interval_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        assert self._proc.stdin is not None and self._proc.stdout is not None  # opened with PIPE
        out = self._proc.stdout.fileno()
        os.set_blocking(out, False)
        self._notifier = QSocketNotifier(out, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self._write((self._url + "\n").encode())
        if self._seed:
            self._send_seed(list(self._seed.values()))

    def seed(self, positions: Iterable[tuple[int, float, float, datetime | None]]) -> None:
        """What the window shows after a load: only changes from it are reported."""
        positions = list(positions)
        if self._start_reads is not None:
            self._start_reads.follower.seed(positions)
        rows = encode_seed(positions)
        for row in rows:
            self._seed[row[0]] = row
        self._send_seed(rows)

    def _send_seed(self, rows: list[list]) -> None:
        self._write((json.dumps({"seed": rows}, separators=(",", ":")) + "\n").encode())

    def _write(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(data)
        except (BrokenPipeError, ValueError, OSError):
            pass  # the process ended: its stdout's end restarts it, seeded again

    def _read(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        try:
            chunk = os.read(proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._ended()
            return
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        if lines:
            self._end_start_reads()  # the process reads now
        moved: list[Moved] = []
        for line in lines:
            message = json.loads(line)
            self.follower.reads = message.get("reads", self.follower.reads)
            if "failed" in message:
                if not self._failing:
                    self.failed.emit(f"读取警力位置失败：{message['failed']}")
                self._failing = True
                continue
            self._failing = False
            moved.extend(decode_moved(message.get("moved", [])))
        if moved:
            self.moved.emit(moved)

    def _ended(self) -> None:
        """The process ended (its pipe closed): said once, started again soon."""
        self._close_process()
        if self._stopped:
            return
        if not self._failing:
            self.failed.emit("读取警力位置失败：位置数据进程已退出，正在重新启动")
        self._failing = True
        self._restart.start()

    def _close_process(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        proc, self._proc, self._buffer = self._proc, None, b""
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            proc.wait(1)  # stdin closed: it ends at once (its poll wakes on the closed pipe)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _end_start_reads(self) -> None:
        if self._start_reads is not None:
            self._start_reads.stop()
            self._start_reads = None

    def stop(self) -> None:
        self._stopped = True
        self._restart.stop()
        self._end_start_reads()
        self._close_process()


class LivePositions(QObject):
    """Keeps the window's board and map in step with the fixes. `applied(unit_ids,
    monotonic_time)` is emitted once the board model and the map have been given them."""

    applied = Signal(list, float)

    def __init__(self, window: MainWindow, interval_ms: int = POLL_MS) -> None:
        super().__init__(window)
        self.w = window
        self.stale_after_s = window.app.settings.stale_position_s
        self.feed = PositionFeed(window.app.store, interval_ms, self)
        self.feed.moved.connect(self._on_moved)
        self._pending: dict[int, Moved] = {}  # unit id -> newest fix not yet applied
        self._unmapped: set[int] = set()  # units moved on the board, not yet on the map
        self._drain = QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._apply_some)
        self.feed.failed.connect(window._on_message)
        QuietHeap.acquire()
        self._heap = True
        self._collector = QTimer(self)  # the cyclic GC's passes, on this (the GUI) thread
        self._collector.timeout.connect(QuietHeap.collect_due)
        self._collector.start(COLLECT_MS)
        self._stale: set[int] = set()
        window.board.selected.connect(self.show_track)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._restale)
        self._timer.start(1000)

    def seed(self, units: list) -> None:  # noqa: ANN001 (UnitSnapshot)
        """The window loaded every unit: the feed now reports changes from these."""
        self.feed.seed((u.id, u.lon, u.lat, u.position_at) for u in units)

    def settle(self) -> None:
        """After a full load: what it read is long-lived (see QuietHeap)."""
        QuietHeap.settle()

    def markers(self, units: list) -> list[dict]:  # noqa: ANN001 (UnitSnapshot)
        w = self.w
        return unit_markers(units, w.board.model.alerts, w.app.clock.now(), w.app.settings.tz, self.stale_after_s)

    def _on_moved(self, moved: list[Moved]) -> None:
        for m in moved:
            self._pending[m.unit_id] = m
        self._apply_some()

    def _apply_some(self) -> None:
        """Apply up to APPLY_CHUNK of the waiting fixes; the rest on the next turn. The map
        gets the units that moved in one call once the last slice is applied (each call
        to the page holds the GUI thread for a while, whatever its size)."""
        w = self.w
        batch = [self._pending.pop(k) for k in list(self._pending)[:APPLY_CHUNK]]
        if self._pending:
            self._drain.start()
        updated = w.board.update_positions(batch)
        if updated:
            replace_units(w, updated)  # in place: no list of every unit rebuilt per slice
            self._unmapped.update(u.id for u in updated)
            self.applied.emit([u.id for u in updated], time.monotonic())
        if not self._pending and self._unmapped:
            model = w.board.model  # the units as they are now (a status may have changed since)
            moved = [u for uid in sorted(self._unmapped) if (u := model.unit(uid)) is not None]
            self._unmapped.clear()
            w.map.upsert_units(self.markers(moved))

    def _restale(self) -> None:
        """Units that turned stale (or fresh) as time passed get their marker redrawn."""
        model = self.w.board.model
        now_stale = {u.id for u in self.w._units if model.stale(u)}
        changed = now_stale ^ self._stale
        self._stale = now_stale
        if changed:
            self.w.map.upsert_units(self.markers([u for u in self.w._units if u.id in changed]))

    def show_track(self, unit_id: int) -> None:
        """The unit's positions of the last 10 minutes, drawn on the map (it then grows)."""
        w = self.w
        since = w.app.clock.now() - timedelta(minutes=TRACK_MINUTES)
        try:
            with w.app.session() as s:
                coords = queries.unit_track(s, unit_id, since)
        except DispatchError as exc:
            w._on_message(str(exc))
            return
        u = w.board.model.unit(unit_id)
        if not coords:
            w.map.clear_track()
            return
        w.map.show_track(unit_id, [list(p) for p in coords],
                         f"{u.callsign if u else unit_id} 近{TRACK_MINUTES}分钟轨迹")

    def arrival_fix(self, unit_id: int, status: str) -> dict | None:
        """The fix that triggered a 到场 suggestion, for the unit.status event (None if none)."""
        if status != UnitStatus.ON_SCENE.value:
            return None
        model = self.w.board.model
        hint, u = model.suggestion(unit_id), model.unit(unit_id)
        if hint is None or u is None:
            return None
        return arrival_fix(u.lon, u.lat, u.position_at, hint[1], u.position_source)

    def stop(self) -> None:
        self.feed.stop()
        self._timer.stop()
        self._drain.stop()
        self._collector.stop()
        if self._heap:
            self._heap = False
            QuietHeap.release()
