"""`python main.py bench startup`: the console's start, measured from process start in a
fresh process, step by step — window usable (shown, and its queue and board showing
every open incident and every unit of the database), map drawn (the page's ready
signal), gazetteer loaded, road graph loaded, routing kernels compiled, first
recommendation done (asked for the moment the window is usable, as a call-taker
pressing F5 at once would) — and, in the same run, the peer: a bare QApplication with a
QMainWindow holding a QWebEngineView that loads a local HTML page, its usable and ready
times, and the ratios. The console's modules are compiled to bytecode first, as `main.py
setup` does. The cold run comes first, after the console's own caches are
cleared (compiled kernels, road graph, geocoder index, map page; the operating system's
file cache is not dropped); the warm runs follow and are reported apart. Beside each
wall time from process start, the GUI thread's CPU time to a usable window
(`window_usable_cpu_s`, the peer's `usable_cpu_s`) and the load average before and after:
on a shared machine the wall times grow with the load, the CPU times much less. Last,
`main.py --help` (wall and CPU, median of 5) beside a bare interpreter's start."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

_PRELUDE = r"""
import os, sys, time, json
t0 = float(sys.argv[1])
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
def since():
    return round(time.time() - t0, 3)
def wait_for(qt, cond, timeout_s=120):
    # a QEventLoop object: QApplication.processEvents() of PySide6 6.12 leaks a reference
    # to None per call and aborts the process after some 10^4 calls
    from PySide6.QtCore import QEventLoop
    loop = QEventLoop()
    end = time.time() + timeout_s
    while not cond() and time.time() < end:
        loop.processEvents(); time.sleep(0.005)
    return cond()
"""

_CONSOLE = _PRELUDE + r"""
from ui.app import make_qt_app, open_console, preload_core, start_kernel_compile
compiler = start_kernel_compile()  # as run_gui does, first thing
preload = preload_core()
from dispatch.commands.support import settings_from_args
from dispatch.cli import build_parser
from ui.entry import UI_COMMANDS
argv = sys.argv[2:] + ["gui"]
args = build_parser(UI_COMMANDS, argv).parse_args(argv)  # as main.py: only the modules `gui` needs
qt = make_qt_app()
w = open_console(settings_from_args(args), compiler, preload, guard=False)  # as run_gui does, no login
if isinstance(w, int):
    print(json.dumps({"error": f"the console did not open (exit code {w})"})); sys.exit(3)
app = w.app
out = {}
if w.map.is_ready:  # drawn already: at the latest now
    out["map_drawn_s"] = since()
w.map.ready.connect(lambda: out.setdefault("map_drawn_s", since()))
steps = {"kernels": "kernels_compiled_s", "gazetteer": "gazetteer_loaded_s", "roads": "road_graph_loaded_s"}
failed = []
_step, _fail = w._on_warm_step, w._on_warm_failed  # the warm-up starts once the map is drawn
def step(key, seconds):
    out[steps[key]] = since(); _step(key, seconds)
def fail(key, exc):
    failed.append(f"{key}: {exc}"); _fail(key, exc)
w._on_warm_step, w._on_warm_failed = step, fail
from dispatch.services import queries
with app.session() as s:
    n_open, n_units = len(queries.open_incidents(s)), len(queries.unit_snapshots(s))
filled = lambda: (w.isVisible() and w.windowHandle() is not None and w.windowHandle().isExposed()
                  and w.queue.model.rowCount() == n_open and w.board.model.rowCount() == n_units)
if not wait_for(qt, filled):
    print(json.dumps({"error": "window never showed the database's incidents and units"})); sys.exit(3)
out["window_usable_s"] = since()
out["window_usable_cpu_s"] = round(time.thread_time(), 3)  # the GUI thread's CPU to here: a loaded machine's wall lies
out["window_usable_process_cpu_s"] = round(time.process_time(), 3)  # and every thread's (the preload, the warm-up)
# the first recommendation, asked for at once, on a worker as the intake does; it is
# computed as the service computes it (nothing is written to the log)
from dispatch.domain.incidents import category
from dispatch.geo.recommend import recommend
from ui.workers import run_in_background
s_ = app.settings
units = app.unit_snapshots()
lon, lat = (units[0].home_lon + 0.002, units[0].home_lat + 0.001)  # 200 m from a post, on the demo roads
rec = {}
def first():
    t = time.perf_counter()
    r = recommend(app.roads, app.unit_snapshots(), (lon, lat), category("dispute"), app.clock.now(),
                  limit=5, stale_after_s=s_.stale_position_s, tz=s_.tz)
    return time.perf_counter() - t, len(r.ranked)
asked = since()
run_in_background(first, lambda v: rec.update(done=since(), call_s=v[0], ranked=v[1]),
                  lambda e: rec.update(error=str(e)))
started = ("map_drawn_s", *steps.values())  # every step of the start, not just some
ok = wait_for(qt, lambda: ("done" in rec or "error" in rec) and all(k in out for k in started) or failed, 300)
if failed or "error" in rec or not ok:
    print(json.dumps({"error": "; ".join(failed) or rec.get("error") or "start did not finish"})); sys.exit(3)
second = first()[0]
out.update(first_recommendation_s=rec["done"], first_recommendation_after_usable_s=round(rec["done"] - asked, 3),
           first_recommendation_call_s=round(rec["call_s"], 3), second_recommendation_s=round(second, 3),
           ranked=rec["ranked"], incidents=n_open, units=n_units, process_cpu_s=round(time.process_time(), 3))
print(json.dumps(out))
"""

_PEER = _PRELUDE + r"""
import PySide6.QtWebEngineWidgets
from PySide6.QtWidgets import QApplication
from pathlib import Path
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWebEngineWidgets import QWebEngineView
page = Path(sys.argv[2])
qt = QApplication(sys.argv[:1])
out = {}
w = QMainWindow(); view = QWebEngineView(); w.setCentralWidget(view)
view.loadFinished.connect(lambda ok: out.setdefault("ready_s", since()))
view.setUrl(QUrl.fromLocalFile(str(page)))
w.resize(1920, 1080); w.show()
wait_for(qt, lambda: w.windowHandle() is not None and w.windowHandle().isExposed())
out["usable_s"] = since()
out["usable_cpu_s"] = round(time.thread_time(), 3)
out["usable_process_cpu_s"] = round(time.process_time(), 3)
if not wait_for(qt, lambda: "ready_s" in out, 60):
    print(json.dumps({"error": "the bare web view never loaded"})); sys.exit(3)
out["process_cpu_s"] = round(time.process_time(), 3)
print(json.dumps(out))
"""

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>peer</title></head>
<body style="margin:0;background:#0d1117;color:#e6edf3"><div id="m" style="width:100%;height:100vh">地图</div>
</body></html>"""


def _run(script: str, args: list[str], env: dict[str, str]) -> dict:
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", script, repr(t0), *args], capture_output=True, text=True,
                       env=env, timeout=600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if r.returncode != 0 or not result or "error" in result:
        why = result.get("error") or (r.stderr.strip().splitlines() or ["start failed"])[-1]
        raise RuntimeError(f"bench startup: {why}")
    return result


_HELP = "import sys; from ui.entry import main; sys.exit(main(['--help']))"  # what main.py --help runs


def _time_command(code: str, env: dict[str, str], runs: int) -> dict:
    """Wall and CPU (user + system) seconds of `python -c code`, medians of `runs`."""
    import resource

    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError(f"bench startup: {code!r} failed: {r.stderr.decode(errors='replace')[-300:]}")
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"s": round(median(walls), 3), "cpu_s": round(median(cpus), 3)}


def _summary(runs: list[dict]) -> dict:
    keys = [k for k in runs[0] if k.endswith("_s")]
    return {k: round(median(r[k] for r in runs), 3) for k in keys}


def bench_startup(global_args: list[str], runs: int = 3, cache_dir: Path | None = None) -> dict:
    """One cold run (the console's caches cleared first), then `runs` warm runs, each
    beside a run of the bare web-view window; medians, and console/peer ratios."""
    from dispatch.precompile import compile_sources

    compile_sources()  # as `main.py setup` does: with PYTHONDONTWRITEBYTECODE no start would write it
    load_before = round(os.getloadavg()[0], 2)  # wall times are only as good as the machine is quiet
    env = os.environ.copy()
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
        page = Path(tmp) / "peer.html"
        page.write_text(_PAGE, encoding="utf-8")
        env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba")  # cold: no compiled kernels
        aside = Path(tmp) / "cache-aside"
        if cache_dir is not None and cache_dir.exists():
            shutil.move(str(cache_dir), aside)  # the console's derived indexes, kept aside
        try:
            cold = _run(_CONSOLE, global_args, env)
        finally:
            if cache_dir is not None and aside.exists():
                shutil.rmtree(cache_dir, ignore_errors=True)
                shutil.move(str(aside), cache_dir)
        cold_peer = _run(_PEER, [str(page)], env)
        _run(_CONSOLE, global_args, env)  # rebuild the user's caches and kernels, not timed
        warm, peers = [], []
        for _ in range(runs):
            warm.append(_run(_CONSOLE, global_args, env))
            peers.append(_run(_PEER, [str(page)], env))
        helps = _time_command(_HELP, env, 5)  # `main.py --help`, beside a bare interpreter
        bare = _time_command("pass", env, 5)
    w, p = _summary(warm), _summary(peers)
    return {
        "bench": "startup", "runs_warm": runs, "load_avg_1m": [load_before, round(os.getloadavg()[0], 2)],
        "units": warm[0]["units"], "open_incidents": warm[0]["incidents"],
        "cold": {k: cold[k] for k in cold if k.endswith("_s")},
        "cold_peer": cold_peer,
        "warm_median": w, "warm_peer_median": p,
        "ratio_usable_warm": round(w["window_usable_s"] / p["usable_s"], 2),
        "ratio_ready_warm": round(w["map_drawn_s"] / p["ready_s"], 2),
        "ratio_usable_cpu_warm": round(w["window_usable_cpu_s"] / p["usable_cpu_s"], 2),
        "ratio_usable_cold": round(cold["window_usable_s"] / cold_peer["usable_s"], 2),
        "ratio_ready_cold": round(cold["map_drawn_s"] / cold_peer["ready_s"], 2),
        "first_recommendation_after_usable_s_warm": w["first_recommendation_after_usable_s"],
        "first_recommendation_after_usable_s_cold": cold["first_recommendation_after_usable_s"],
        "help_s": helps["s"], "help_cpu_s": helps["cpu_s"], "help_peer_bare_python_s": bare["s"],
        "help_peer_bare_python_cpu_s": bare["cpu_s"],
    }
