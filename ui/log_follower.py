"""The Qt face of dispatch.feeds.follower: every seat (this one included) learns of
changes by reading the log past its cursor. One path for updates, not two."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.feeds.follower import PG_FALLBACK_S, SQLITE_POLL_S, Follower



class LogFollower(QObject):
    """Emits `changed(events)` when new events appear; `poll()` reads at once."""

    changed = Signal(list)
    failed = Signal(str)
    _woken = Signal()  # emitted from the listening thread, delivered queued in this one

    def __init__(self, app: App, interval_ms: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._follower = Follower(app.store)
        self._woken.connect(self.poll)
        if interval_ms is None:
            interval_ms = int(1000 * (PG_FALLBACK_S if self._follower.can_listen else SQLITE_POLL_S))
        self._follower.listen(self._woken.emit)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.poll)
        self._timer.start(interval_ms)

    @property
    def cursor(self) -> int:
        return self._follower.cursor

    def poll(self) -> None:
        try:
            new = self._follower.read_new()
        except DispatchError as exc:
            self.failed.emit(str(exc))
            return
        if new:
            self.changed.emit(new)

    def stop(self) -> None:
        self._timer.stop()
        self._follower.close()
