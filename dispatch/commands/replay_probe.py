"""The measuring half of `bench replay`, run in a fresh process (`python -m
dispatch.commands.replay_probe`) so that its first load is really cold: nothing of replay
imported, built or cached in memory before it (the database file may sit in the OS page
cache, as it does on a console that just wrote it).

In one run, on the same database: the period loaded from the checkpoints (cold: the
first load of this process; warm: the same load again), the state at random instants of
the period (the first pass over them cold, the second warm) and in playback steps of
10 s, and the peer: the whole log folded from the start, compared with the period's
states at some of the instants. Prints one JSON object.
"""
from __future__ import annotations

import gc
import json
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


def rss_mb() -> float:
    """Resident memory of this process now (Linux), in MB."""
    import os
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux: VmHWM). Not getrusage's ru_maxrss:
    Linux carries that over an exec from the process that forked it (here the bench,
    which just held the whole log's fold), so it reported the parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 3)


def _timed(fn):  # noqa: ANN001, ANN202
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def probe(data_dir: Path, cache: Path, since: datetime, samples: int, seed: int) -> dict:
    t0 = time.perf_counter()
    from dispatch.bootstrap import bootstrap
    from dispatch.replay.state import ReplayIndex
    from dispatch.settings import Settings
    import_s = time.perf_counter() - t0

    app = bootstrap(Settings(data_dir=data_dir, load_demo=False), read_only=True)

    def load(**kw):  # noqa: ANN003, ANN202
        with app.session() as s:
            return ReplayIndex.load(s, **kw)

    rss0 = rss_mb()
    index, cold_s, cold_cpu = _timed(lambda: load(since=since, cache=cache))
    rss1, peak1 = rss_mb(), peak_rss_mb()
    end = index.end
    rng = random.Random(seed)
    span = (end - since).total_seconds()
    instants = [since + timedelta(seconds=rng.uniform(0, span)) for _ in range(samples)]
    passes = []
    for _ in range(2):  # first pass cold (nothing shown yet), second warm
        wall, cpu = [], []
        for at in instants:
            w0, c0 = time.perf_counter(), time.thread_time()
            index.state_at(at)
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        passes.append((wall, cpu))
    scrub = []  # playback: consecutive instants 10 s apart, as the replay window steps
    at = since + timedelta(seconds=rng.uniform(0, max(0.0, span - 10.0 * samples)))
    for _ in range(samples):
        c0 = time.thread_time()
        index.state_at(at)
        scrub.append((time.thread_time() - c0) * 1000)
        at += timedelta(seconds=10)
    checked = instants[:: max(1, len(instants) // 20)]
    mine = [index.state_at(at).as_json() for at in checked]
    figures = {"period_events": index.event_count, "resumed": index.resumed_from is not None,
               "loaded": loaded(index)}
    del index
    gc.collect()

    index, warm_s, warm_cpu = _timed(lambda: load(since=since, cache=cache))
    del index
    gc.collect()

    peer, full_s, full_cpu = _timed(load)  # the whole log from the start, no checkpoint
    same = all(peer.state_at(at).as_json() == m for at, m in zip(checked, mine))
    del peer
    app.engine.dispose()
    (cold_wall, cold_ms), (warm_wall, warm_ms) = passes
    return figures | {
        "import_s": round(import_s, 3),
        "load_s": round(cold_s, 3), "load_cpu_s": round(cold_cpu, 3),
        "warm_load_s": round(warm_s, 3), "warm_load_cpu_s": round(warm_cpu, 3),
        "full_load_s": round(full_s, 3), "full_load_cpu_s": round(full_cpu, 3),
        "ratio": round(full_s / cold_s, 2) if cold_s else None,
        "p50_ms": pct(cold_wall, 0.5), "p95_ms": pct(cold_wall, 0.95),
        "cpu_p50_ms": pct(cold_ms, 0.5), "cpu_p95_ms": pct(cold_ms, 0.95),
        "warm_cpu_p50_ms": pct(warm_ms, 0.5), "warm_cpu_p95_ms": pct(warm_ms, 0.95),
        "scrub_cpu_p50_ms": pct(scrub, 0.5), "scrub_cpu_p95_ms": pct(scrub, 0.95),
        "index_mb": round(rss1 - rss0, 1), "rss_mb": round(rss1, 1), "peak_rss_mb": round(peak1, 1),
        "same_states": same, "compared": len(checked)}


def loaded(index) -> dict:  # noqa: ANN001
    """What the measured load holds, in words and figures: the span a replay window can
    browse, whether it was folded from the log's start or resumed from a checkpoint
    (and where), how many events it folded and how many incidents and units it holds."""
    start, end, resumed = index.start, index.end, index.resumed_from
    hours = round((end - start).total_seconds() / 3600, 2) if start and end else 0.0
    since = (datetime.fromtimestamp(resumed.at, timezone.utc).isoformat().replace("+00:00", "Z")
             if resumed is not None else None)
    how = f"resumed from the checkpoint at {since}" if since else "folded from the log's first event"
    if index.segment_events:
        how = f"{index.segment_events} events read from fold segments, the rest {how.replace('resumed', 'folded')}"
    return {"what": f"{hours} h browsable ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC), {how}",
            "hours": hours, "checkpoint": since, "events_folded": index.folded_count,
            "events_from_segments": index.segment_events,
            "incidents": index.incident_count, "units": len(index.unit_ids())}


def main(argv: list[str]) -> int:
    data_dir, cache, since, samples, seed = argv
    out = probe(Path(data_dir), Path(cache), datetime.fromisoformat(since), int(samples), int(seed))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
