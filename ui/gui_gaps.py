"""How long the GUI thread was held, and by what (for `bench avl`'s offscreen console).

A 10 ms timer on the GUI thread calls `GapMeter.tick()`. The wall-clock gap between two
ticks beyond the timer's interval is what the call-taker would feel. On a machine that
runs other work the gap also holds the time the GUI thread was ready to run but had no
core: Linux counts it per thread (`/proc/thread-self/schedstat`: time on a CPU, time
waiting on the run queue). The meter splits each gap into

* `cpu`: the GUI thread's own work (Python and Qt: slots, layout, painting);
* `runq`: waiting for a core while runnable (the machine's other processes, the bench's
  terminals, the web view's renderer);
* `other`: asleep although an event was due: the GIL held by another thread of the
  console, a lock, a disk or socket wait (the timer's own sleep is taken out);

and `held` = gap - runq, the part the console itself caused. Every cyclic-GC pass is
timed (wall and CPU, and in which thread) through gc.callbacks, since a pass holds
the GIL for its whole length in whatever thread starts it.
"""
from __future__ import annotations

import gc
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

RECORD_MS = 30.0  # gaps above this are kept with their breakdown


def _schedstat_path() -> Path | None:
    """The calling thread's schedstat file, if the kernel has one."""
    path = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
    try:
        path.read_text()
    except OSError:
        return None
    return path


class GapMeter:
    """Create and tick it on the GUI thread; `start()` resets (after the console's own
    start), `report()` gives the figures (JSON-ready)."""

    def __init__(self, interval_s: float, record_ms: float = RECORD_MS) -> None:
        self.interval_s = interval_s
        self.record_ms = record_ms
        self._stat = _schedstat_path()
        self._gcs: deque[tuple[int, float, float, float, str]] = deque(maxlen=100_000)
        self._gc_started: dict[int, tuple[float, float]] = {}
        gc.callbacks.append(self._on_gc)
        self.start()

    def close(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._last = (self.t0, time.thread_time(), *self._sched())
        self.gaps: list[float] = []  # every tick's gap, ms
        self.held: list[float] = []  # every tick's gap less its run-queue wait, ms
        self.at: list[float] = []  # when each tick came (monotonic)
        self.long: list[dict[str, Any]] = []  # gaps above record_ms, with their breakdown
        self._gcs.clear()

    def _sched(self) -> tuple[float, float]:
        """(seconds on a CPU, seconds waiting on the run queue) of this thread."""
        if self._stat is None:
            return 0.0, 0.0
        on_cpu, waiting, _slices = self._stat.read_text().split()
        return int(on_cpu) / 1e9, int(waiting) / 1e9

    def _on_gc(self, phase: str, info: dict) -> None:
        key = threading.get_ident()
        if phase == "start":
            self._gc_started[key] = (time.monotonic(), time.thread_time())
            return
        began = self._gc_started.pop(key, None)
        if began is not None:
            self._gcs.append((info["generation"], began[0], time.monotonic(),
                              time.thread_time() - began[1], threading.current_thread().name))

    def tick(self) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        on_cpu, runq = self._sched()
        t_last, cpu_last, on_cpu_last, runq_last = self._last
        self._last = (now, cpu, on_cpu, runq)
        gap_s = max(0.0, now - t_last - self.interval_s)
        runq_s = runq - runq_last if self._stat is not None else 0.0
        held_s = max(0.0, gap_s - runq_s)
        self.gaps.append(gap_s * 1000)
        self.held.append(held_s * 1000)
        self.at.append(now)
        if gap_s * 1000 > self.record_ms:
            cpu_s = cpu - cpu_last
            passes = [{"generation": g, "wall_ms": round((e - s) * 1000, 1), "cpu_ms": round(c * 1000, 1),
                       "thread": name} for g, s, e, c, name in list(self._gcs)
                      if e >= t_last and s <= now and e - s >= 0.001]
            self.long.append({"at_s": round(now - self.t0, 2), "gap_ms": round(gap_s * 1000, 1),
                              "held_ms": round(held_s * 1000, 1) if self._stat is not None else None,
                              "cpu_ms": round(cpu_s * 1000, 1),
                              "runq_ms": round(runq_s * 1000, 1) if self._stat is not None else None,
                              "other_ms": round(max(0.0, now - t_last - self.interval_s - cpu_s - runq_s) * 1000, 1)
                              if self._stat is not None else None,
                              "gc": passes})

    def report(self, since: float = 0.0, worst: int = 5) -> dict[str, Any]:
        """The figures over the ticks after `since` (monotonic; 0: all since start);
        `worst`: the gaps that held the GUI thread longest, with their parts."""
        keep = [i for i, t in enumerate(self.at) if t > since]
        gaps = sorted(self.gaps[i] for i in keep)
        held = sorted(self.held[i] for i in keep)
        known = self._stat is not None
        passes = [(g, e - s, c, name) for g, s, e, c, name in list(self._gcs) if e > since]
        by_thread: dict[str, int] = {}
        for *_rest, name in passes:
            by_thread[name] = by_thread.get(name, 0) + 1
        recorded = [g for g in self.long if g["at_s"] + self.t0 > since]
        longest = sorted(recorded, key=lambda g: -g["gap_ms"])
        most_held = sorted(recorded, key=lambda g: -(g["held_ms"] if known else g["gap_ms"]))
        return {"ticks": len(gaps),
                "gap_max_ms": _top(gaps), "gap_p99_ms": _quantile(gaps, 0.99),
                "held_max_ms": _top(held) if known else None,
                "held_p99_ms": _quantile(held, 0.99) if known else None,
                "gaps_over_50ms": sum(1 for g in gaps if g > 50), "held_over_50ms": sum(1 for h in held if h > 50)
                if known else None,
                "gc_passes": len(passes), "gc_by_thread": by_thread,
                "gc_max_wall_ms": round(max((w for _, w, _, _ in passes), default=0.0) * 1000, 1),
                "gc_max_cpu_ms": round(max((c for _, _, c, _ in passes), default=0.0) * 1000, 1),
                "longest": longest[:1], "worst": most_held[:worst]}


def _top(values: list[float]) -> float | None:
    return round(values[-1], 1) if values else None


def _quantile(values: list[float], q: float) -> float | None:
    return round(values[int(q * (len(values) - 1))], 1) if values else None
