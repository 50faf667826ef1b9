"""The replay cache kept current while the console runs: `main.py checkpoints` in a
child process at the lowest CPU priority, a few minutes after the start and then every
hour. F11/F12 then resume from a checkpoint at most an hour or two old instead of folding
the log, and a long log's first fold (minutes, on a centre's months of log) happens in
that child, beside the console, not on the console's interpreter lock while a
call-taker types."""
from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QObject, QTimer

from dispatch.settings import Settings

FIRST_S = 180.0   # after the start: the window, the map and the warm-up go first
EVERY_S = 3600.0  # one checkpoint per hour of log: catching up an hour folds an hour
_RUN = "import sys; from dispatch.cli import main; sys.exit(main(sys.argv[1:]))"


class CheckpointKeeper(QObject):
    """Runs `checkpoints --background` for the console's database (its URL and data folder
    handed over in the environment: no password on a command line), one run at a time."""

    def __init__(self, settings: Settings, parent: QObject | None = None,
                 first_s: float = FIRST_S, every_s: float = EVERY_S) -> None:
        super().__init__(parent)
        self._env = {**os.environ, "DISPATCH_DB_URL": settings.database_url,
                     "DISPATCH_DATA_DIR": str(settings.data_dir)}
        self._every_ms = int(every_s * 1000)
        self._proc: subprocess.Popen | None = None
        self.runs = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(int(first_s * 1000))

    def _tick(self) -> None:
        self._timer.setInterval(self._every_ms)
        self.run_now()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def run_now(self) -> bool:
        """Start a run unless one is still going (False then, or if it cannot start)."""
        if self.running():
            return False
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _RUN, "--no-demo", "checkpoints", "--json", "--background"],
                env=self._env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            return False
        self.runs += 1
        return True

    def stop(self) -> None:
        """The console closes: no new run, the one going stopped."""
        self._timer.stop()
        if self.running():
            assert self._proc is not None
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
