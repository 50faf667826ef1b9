"""An offscreen console that reports when fixes become visible (for `bench avl`).

    python -m ui.visible_probe --db URL

opens the real main window on the database (offscreen), prints one line `ready` once
it shows the units, then records, for every unit its position feed updates on the
board model, (unit id, the fix's time, time.monotonic()) — CLOCK_MONOTONIC is one
clock for every process on the machine, so the bench compares it with its send times.
It also measures how late a 10 ms timer fires on the GUI thread (the longest the GUI
was blocked), from `ready` on and, apart, during the storm (from the first fix the board
took): the console's start (its window, map page and first full load) comes before
`ready` and is not counted; `gui_block_worst_at_s` says when the worst block came
(seconds after `ready`). On SIGTERM it prints one JSON line with all of it and exits.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

TICK_MS = 10


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.visible_probe")
    p.add_argument("--db", required=True)
    p.add_argument("--ready-timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    import PySide6.QtWebEngineWidgets  # noqa: F401 - before the QApplication
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from ui.gui_gaps import GapMeter
    from ui.main_window import MainWindow

    qt = QApplication([sys.argv[0]])
    meter = GapMeter(TICK_MS / 1000)
    scratch = tempfile.TemporaryDirectory(prefix="visible-probe-")
    app = bootstrap(Settings(db_url=args.db, data_dir=Path(scratch.name), load_demo=False))
    w = MainWindow(app)
    w.resize(1920, 1080)
    w.show()
    seen: list[tuple[int, float, float]] = []
    gaps: list[float] = []
    gap_at: list[float] = []  # when each tick came (monotonic)
    first_fix = [0.0]  # when the board first took a fix (monotonic; 0: none yet)
    busy: list[float] = []  # GUI-thread CPU time within each timer interval
    stop = {"now": False}

    def on_applied(ids: list, t: float) -> None:
        model = w.board.model
        if not first_fix[0]:
            first_fix[0] = t
        for uid in ids:
            u = model.unit(uid)
            if u is not None and u.position_at is not None:
                seen.append((uid, u.position_at.timestamp(), t))

    w.live.applied.connect(on_applied)
    last, last_cpu = [time.monotonic()], [time.thread_time()]

    def tick() -> None:
        meter.tick()
        now = time.monotonic()
        cpu = time.thread_time()
        gaps.append(now - last[0] - TICK_MS / 1000)
        gap_at.append(now)
        busy.append(cpu - last_cpu[0])
        last[0], last_cpu[0] = now, cpu
        if stop["now"]:
            qt.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(TICK_MS)
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    deadline = time.monotonic() + args.ready_timeout
    cpu0, wall0 = [0.0], [0.0]

    def announce() -> None:
        if w.map.is_ready or time.monotonic() > deadline:
            gaps.clear()
            gap_at.clear()
            busy.clear()
            meter.start()
            cpu0[0], wall0[0] = time.thread_time(), time.monotonic()
            print("ready", flush=True)
        else:
            QTimer.singleShot(100, announce)

    QTimer.singleShot(0, announce)
    qt.exec()
    gui_cpu, wall = time.thread_time() - cpu0[0], time.monotonic() - wall0[0]
    gaps_ms = sorted(max(0.0, g) * 1000 for g in gaps)
    # a tick that came after the first fix closes a gap of the storm
    storm = [max(0.0, g) * 1000 for g, t in zip(gaps, gap_at) if first_fix[0] and t > first_fix[0]]
    worst = max(range(len(gaps)), key=gaps.__getitem__) if gaps else None
    print(json.dumps({"visible": seen, "units": len(w._units), "map_ready": w.map.is_ready,
                      "gui_block_max_ms": round(gaps_ms[-1], 1) if gaps_ms else None,
                      "gui_block_p99_ms": round(gaps_ms[int(0.99 * (len(gaps_ms) - 1))], 1) if gaps_ms else None,
                      "gui_block_storm_max_ms": round(max(storm), 1) if storm else None,
                      "gui_block_worst_at_s": round(gap_at[worst] - wall0[0], 2) if worst is not None else None,
                      "first_fix_at_s": round(first_fix[0] - wall0[0], 2) if first_fix[0] else None,
                      # the most CPU the GUI thread itself spent between two 10 ms ticks: a long
                      # block with little CPU is the machine's other load, not the console's work
                      "gui_busy_max_ms": round(max(busy) * 1000, 1) if busy else None,
                      "gui_cpu_share": round(gui_cpu / max(wall, 1e-9), 3),
                      "feed_reads": w.live.feed.follower.reads, "gaps": meter.report(),
                      "gaps_storm": meter.report(since=first_fix[0]) if first_fix[0] else None}), flush=True)
    w.close()
    app.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
