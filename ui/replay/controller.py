"""ReplayController: the replay cursor (a time in the past), moved by play/pause at a
speed of 1×–60×, by scrubbing, or by seeking; emits the state at the cursor."""
from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from dispatch.replay.state import ReplayIndex, ReplayState

SPEEDS = (1, 2, 5, 10, 30, 60)


class ReplayController(QObject):
    """Signals: `state_changed(ReplayState)` whenever the cursor moves,
    `playing_changed(bool)`. Read-only: it only reads the index."""

    state_changed = Signal(object)
    playing_changed = Signal(bool)

    def __init__(self, index: ReplayIndex, tick_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.start: datetime = index.start
        self.end: datetime = index.end
        self.at: datetime = index.start
        self.speed = 1
        self.state: ReplayState | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_tick)
        self._elapsed = QElapsedTimer()

    # ---- period and cursor -------------------------------------------------------------
    def set_index(self, index: ReplayIndex) -> None:
        """Replay another loaded period (paused, at its start)."""
        self.pause()
        self.index = index
        self.set_period(index.start, index.end)

    def set_period(self, start: datetime, end: datetime) -> None:
        if end <= start:
            end = start + timedelta(minutes=1)
        self.start, self.end = start, end
        self.seek(start)

    @property
    def length_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def position_s(self) -> float:
        return (self.at - self.start).total_seconds()

    def seek(self, at: datetime) -> ReplayState:
        """Move the cursor (clamped to the period) and publish the state there."""
        self.at = min(max(at, self.start), self.end)
        self.state = self.index.state_at(self.at)
        self.state_changed.emit(self.state)
        return self.state

    def seek_seconds(self, seconds: float) -> ReplayState:
        return self.seek(self.start + timedelta(seconds=seconds))

    def step(self, seconds: float) -> ReplayState:
        return self.seek(self.at + timedelta(seconds=seconds))

    # ---- play / pause ------------------------------------------------------------------
    def set_speed(self, speed: int) -> None:
        self.speed = max(1, min(60, int(speed)))

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        if self.at >= self.end:
            self.seek(self.start)
        self._elapsed.start()
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        self._timer.stop()
        self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def _on_tick(self) -> None:
        wall_ms = self._elapsed.restart()
        self.step(wall_ms / 1000.0 * self.speed)
        if self.at >= self.end:
            self.pause()
