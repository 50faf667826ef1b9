"""`bench avl`'s console side: fix sent -> the console's unit model updated, measured in
a real offscreen console process (ui.visible_probe) on the bench's database.

The bench keeps the time.monotonic() at which it sent each fix; the console reports
the time.monotonic() at which its board model took each unit's new fix (one clock,
CLOCK_MONOTONIC, for every process of the machine). A fix that a newer fix of the same
unit replaced before the console's next poll is never shown: counted as superseded.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import datetime

from dispatch.domain.errors import DispatchError


# the bench's cars drive around People's Square, inside the demo's road extract (OSM, ODbL)
DEMO_ROADS = "resources:demo/shanghai-huangpu.osm"


class ConsoleProbe:
    def __init__(self, app) -> None:  # noqa: ANN001 (dispatch.bootstrap.App)
        if not app.meta("roads_osm"):  # the console's map needs a road network
            app.set_meta("roads_osm", DEMO_ROADS)
        self.proc = subprocess.Popen([sys.executable, "-m", "ui.visible_probe", "--db", app.settings.database_url],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    async def ready(self, timeout_s: float = 120.0) -> None:
        """Wait until the console shows the units (its window and map are up)."""
        loop = asyncio.get_running_loop()
        try:
            out = self.proc.stdout
            assert out is not None  # opened with stdout=PIPE
            line = await asyncio.wait_for(loop.run_in_executor(None, out.readline), timeout_s)
        except asyncio.TimeoutError:
            line = ""
        if line.strip() != "ready":
            self.proc.kill()
            raise DispatchError("离屏调度台没有启动，无法测量上屏延迟")

    def finish(self, sent: dict[tuple[int, datetime], float], quantile) -> dict:  # noqa: ANN001
        """Stop the console and match what it showed with what was sent."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise DispatchError("离屏调度台没有按时退出") from None
        report = json.loads(out.strip().splitlines()[-1])
        by_key = {(uid, at.timestamp()): t for (uid, at), t in sent.items()}
        latencies = [t - by_key[(uid, at)] for uid, at, t in report["visible"] if (uid, at) in by_key]
        return {"visible_p50_ms": quantile(latencies, 0.5), "visible_p95_ms": quantile(latencies),
                "visible_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
                "visible_fixes": len(latencies), "visible_superseded": len(sent) - len(latencies),
                "console_units": report["units"], "console_map_ready": report["map_ready"],
                "gui_block_max_ms": report["gui_block_max_ms"], "gui_block_p99_ms": report["gui_block_p99_ms"],
                "gui_block_storm_max_ms": report.get("gui_block_storm_max_ms"),
                "gui_block_worst_at_s": report.get("gui_block_worst_at_s"),
                "console_first_fix_at_s": report.get("first_fix_at_s"),
                "gui_busy_max_ms": report["gui_busy_max_ms"], "gui_thread_cpu_share": report["gui_cpu_share"],
                **_held(report.get("gaps_storm") or report.get("gaps"))}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _held(gaps: dict | None) -> dict:
    """The storm's GUI gaps as ui.gui_gaps splits them: `held` is a gap less the time the
    GUI thread waited for a core (the console's own work and its waits on its own
    threads, locks and I/O); the worst gaps with their parts and the GC passes."""
    if not gaps:
        return {}
    return {"gui_held_max_ms": gaps["held_max_ms"], "gui_held_p99_ms": gaps["held_p99_ms"],
            "gui_gaps_over_50ms": gaps["gaps_over_50ms"], "gui_held_over_50ms": gaps["held_over_50ms"],
            "gui_gc": {k: gaps[k] for k in ("gc_passes", "gc_by_thread", "gc_max_wall_ms", "gc_max_cpu_ms")},
            "gui_longest_gap": gaps.get("longest"), "gui_worst_gaps": gaps["worst"]}
