"""Follows the event log: every seat (this one included) learns of changes by
reading events with id > cursor. One path for updates, not two."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.store import eventlog


class LogFollower(QObject):
    """Emits `changed(events)` when new events appear; `poll()` reads at once."""

    changed = Signal(list)
    failed = Signal(str)

    def __init__(self, app: App, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        with app.session() as s:
            self.cursor = eventlog.last_id(s)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.poll)
        self._timer.start(interval_ms)

    def poll(self) -> None:
        try:
            with self._app.session() as s:
                new = eventlog.read(s, since_id=self.cursor)
        except DispatchError as exc:
            self.failed.emit(str(exc))
            return
        if new:
            self.cursor = new[-1].id
            self.changed.emit(new)

    def stop(self) -> None:
        self._timer.stop()
