"""Live unit positions on the console: the Qt face of dispatch.feeds.position_follower.

Fixes write no events, so the log follower never sees them. `PositionFeed` polls the
units whose position changed (every 250 ms by default) and `LivePositions` applies
them to the window: only the rows of the units that moved on the board (dataChanged),
only their markers on the map (dispatchMap.upsertUnits), the selected unit's track
(last 10 minutes from `positions`), staleness as time passes, and the note a 到场
suggestion leaves when it is confirmed.

The GUI thread is never held long by the storm: fixes are applied in slices of
APPLY_CHUNK units per turn of the event loop, the window's unit list is updated in
place, and `QuietHeap` keeps the console's long-lived data (the loaded units, Qt's
wrappers, the basemap, later the road graph and gazetteer) out of the cyclic collector's
full passes, which otherwise stop every thread for 100-200 ms each time the young
objects of a storm trigger one.
"""
from __future__ import annotations

import gc
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.feeds.position_follower import Moved, PositionFollower, arrival_fix
from dispatch.services import queries
from ui.map_feed import unit_markers
from ui.screen_updates import replace_units

if TYPE_CHECKING:
    from dispatch.store.db import Store
    from ui.main_window import MainWindow

POLL_MS = 250
APPLY_CHUNK = 200  # units applied per turn of the event loop: input is never held up long
TRACK_MINUTES = 10
LONG_GC_MS = 20.0  # a full collection longer than this: its survivors are frozen


class QuietHeap:
    """Keeps the cyclic GC's full passes short while a console is open.

    `settle()` (after a full load) moves every object alive into the collector's
    permanent generation (gc.freeze): the next full passes scan only what was made
    since. A full pass that still takes longer than LONG_GC_MS (the heap grew: warm-up
    loaded the road graph, a replay its index) freezes its survivors too, right as it
    ends, when all of them are alive. Refcounting still frees frozen objects; only cycles
    among them wait until the last console closes (`release`, gc.unfreeze)."""

    users = 0
    freezes = 0
    _started = 0.0

    @classmethod
    def acquire(cls) -> None:
        cls.users += 1
        if cls.users == 1:
            gc.callbacks.append(cls._on_gc)

    @classmethod
    def release(cls) -> None:
        if cls.users == 0:
            return
        cls.users -= 1
        if cls.users == 0:
            gc.callbacks.remove(cls._on_gc)
            gc.unfreeze()  # cycles among the console's objects are collected again

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


class PositionFeed(QObject):
    """Emits `moved(list[Moved])` for the units whose last position changed. The reads
    run on a thread of their own (never on the GUI thread); the signal is delivered
    queued in the thread that owns this object."""

    moved = Signal(list)
    failed = Signal(str)

    def __init__(self, store: Store, interval_ms: int = POLL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.follower = PositionFollower(store)
        self.interval_s = interval_ms / 1000
        self._failing = False
        self._stop = threading.Event()
        stop = self._stop
        self.destroyed.connect(lambda *_: stop.set())
        self._thread = threading.Thread(target=self._run, name="position-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except RuntimeError:  # the window (and this object) went away under the thread
                return

    def poll(self) -> None:
        """Read once (the feed's thread calls this; a test may too)."""
        try:
            moved = self.follower.read_moved()
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not stop the feed
            if not self._failing:
                self.failed.emit(f"读取警力位置失败：{str(exc).splitlines()[0][:120]}")
            self._failing = True
            return
        self._failing = False
        if moved:
            self.moved.emit(moved)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


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
        self._stale: set[int] = set()
        window.board.selected.connect(self.show_track)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._restale)
        self._timer.start(1000)

    def seed(self, units: list) -> None:  # noqa: ANN001 (UnitSnapshot)
        """The window loaded every unit: the feed now reports changes from these."""
        self.feed.follower.seed((u.id, u.lon, u.lat, u.position_at) for u in units)

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
        if self._heap:
            self._heap = False
            QuietHeap.release()
