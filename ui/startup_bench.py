"""`python main.py bench startup`: seconds from process start to a usable main
window (shown, queue and board filled), and to the map page being ready."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_CHILD = r"""
import os, sys, time, json
t0 = float(sys.argv[1])
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
from PySide6.QtWidgets import QApplication
from dispatch.commands.support import settings_from_args
from dispatch.cli import build_parser
from dispatch.bootstrap import bootstrap
from ui.theme import apply_theme
args = build_parser().parse_args(sys.argv[2:] + ["gui"])
qt = QApplication(sys.argv[:1]); apply_theme(qt)
app = bootstrap(settings_from_args(args))
from ui.main_window import MainWindow
w = MainWindow(app); w.resize(1920, 1080); w.show()
qt.processEvents()
usable = time.time() - t0
ok = w.queue.model.rowCount() >= 0 and w.board.model.rowCount() > 0
ready = []
w.map.ready.connect(lambda: ready.append(time.time() - t0))
deadline = time.time() + 30
while not ready and time.time() < deadline:
    qt.processEvents(); time.sleep(0.01)
print(json.dumps({"usable_s": round(usable, 3), "map_ready_s": round(ready[0], 3) if ready else None,
                  "units": w.board.model.rowCount(), "ok": ok}))
"""


def bench_startup(global_args: list[str], runs: int = 3) -> dict:
    results = []
    for _ in range(runs):
        t0 = time.time()
        r = subprocess.run([sys.executable, "-c", _CHILD, repr(t0), *global_args],
                           capture_output=True, text=True, env=os.environ.copy(), timeout=120)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if r.returncode != 0 or not lines:
            raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "startup failed")
        results.append(json.loads(lines[-1]))
    usable = sorted(x["usable_s"] for x in results)
    ready = sorted(x["map_ready_s"] for x in results if x["map_ready_s"] is not None)
    return {"bench": "startup", "runs": runs, "units": results[0]["units"],
            "usable_s_median": usable[len(usable) // 2], "usable_s_max": usable[-1],
            "map_ready_s_median": ready[len(ready) // 2] if ready else None}
