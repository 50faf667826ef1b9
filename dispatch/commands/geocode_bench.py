"""`bench geocode`: the geocoder at national scale (the shipped national register +
the demo), measured honestly and beside a peer in the same run.

- The index is built, and then loaded from its cache, each in a fresh process
  (wall and CPU seconds, resident memory after it).
- The query set is searched once cold (a geocoder just loaded from the cache, nothing
  warmed) and then WARM_PASSES times warm; p50/p95 of each apart, and the worst query.
- Peer: rapidfuzz `process.extractOne` (scorer `fuzz.ratio`) over all entry names, a
  brute-force fuzzy matcher, on the same queries; its p50/p95, top-1 and the ratio.
- The worst of the hostile inputs of dispatch.geo.hostile_text (CPU time).

A missing or bad query file is an error: there is no fallback query."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dispatch.domain.errors import DispatchError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = PROJECT_ROOT / "resources" / "demo"
WARM_PASSES = 2
BENCH_DB = "geocode-bench-v2.db"   # a new name when what it holds changes


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values; 0.0 when empty."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def rss_mb() -> float:
    """Resident memory of this process now (MB); the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare_database(work_dir: Path, hierarchy: Path | None) -> Path:
    """The bench database in work_dir: the national register (shipped, or `hierarchy`),
    the demo's roads, junctions and landmarks, and the shipped Ningbo POIs (the query
    set asks for them); written once and reused."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from dispatch.importers.admin_hierarchy import import_admin
    from dispatch.importers.data_files import NATIONAL_HIERARCHY, NINGBO_POIS
    from dispatch.importers.gazetteer_osm import import_osm_places
    from dispatch.geo.osm import read_osm
    from dispatch.importers.places_csv import import_csv_places
    from dispatch.store.schema import Base, PlaceRow

    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / BENCH_DB
    engine = create_engine(f"sqlite:///{db}")
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            if not s.scalar(select(func.count()).select_from(PlaceRow)):
                import_admin(s, hierarchy or NATIONAL_HIERARCHY)
                import_osm_places(s, read_osm(DEMO_DIR / "shanghai-huangpu.osm"),
                                  admin=["上海市", "黄浦区"], source="OpenStreetMap")
                import_csv_places(s, DEMO_DIR / "landmarks.csv")
                import_csv_places(s, NINGBO_POIS)
                s.commit()
    finally:
        engine.dispose()
    return db


def measure_load(db: Path, cache_dir: Path, fresh: bool) -> dict:
    """In a new process: load the geocoder over db (after deleting the cache when
    fresh); its wall and CPU seconds and its resident memory after."""
    out = subprocess.run(
        [sys.executable, "-c", "from dispatch.commands.geocode_bench import _child; _child()",
         str(db), str(cache_dir), "fresh" if fresh else "cache"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise DispatchError(f"测量进程失败: {out.stderr.strip().splitlines()[-1:] or out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child() -> None:
    from sqlalchemy import create_engine

    from dispatch.geo.geocoder import CACHE_NAME, load_geocoder
    db, cache_dir, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    engine = create_engine(f"sqlite:///{db}")
    if mode == "fresh":
        (cache_dir / CACHE_NAME).unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    geo = load_geocoder(engine, cache_dir)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rss_mb": round(rss_mb(), 1),
                      "entries": len(geo), "from_cache": geo.loaded_from_cache}))


def _timed_pass(search, queries: list[dict]) -> tuple[list[float], list[float], list]:
    walls, cpus, results = [], [], []
    for q in queries:
        near = tuple(q["near"]) if q.get("near") else None
        t0, c0 = time.perf_counter(), time.thread_time()
        results.append(search(q, near))
        cpus.append((time.thread_time() - c0) * 1000)
        walls.append((time.perf_counter() - t0) * 1000)
    return walls, cpus, results


def _figures(prefix: str, walls: list[float], cpus: list[float]) -> dict:
    return {f"{prefix}_p50_ms": round(statistics.median(walls), 3) if walls else 0.0,
            f"{prefix}_p95_ms": round(percentile(walls, 0.95), 3),
            f"{prefix}_p95_ms_cpu": round(percentile(cpus, 0.95), 3)}


def bench_geocode(work_dir: Path, queries_path: Path, hierarchy: Path | None = None,
                  hostile: int = 1000, peer: bool = True) -> dict:
    """Every figure of the module docstring as one dict (one JSON line)."""
    from sqlalchemy import create_engine

    from dispatch.commands.geocode import load_queries, matches
    from dispatch.geo.geocoder import load_geocoder

    queries = load_queries(queries_path)  # first: a missing or bad file costs nothing
    db = prepare_database(work_dir, hierarchy)
    cache_dir = work_dir / "cache"
    build = measure_load(db, cache_dir, fresh=True)
    cached = measure_load(db, cache_dir, fresh=False)
    geo = load_geocoder(create_engine(f"sqlite:///{db}"), cache_dir)
    if not geo.loaded_from_cache:
        raise DispatchError("基准：索引未能从缓存载入")

    def ours(q, near):
        return geo.search(q["text"], near=near, limit=5)

    cold_w, cold_c, cold_r = _timed_pass(ours, queries)
    warm_w: list[float] = []
    warm_c: list[float] = []
    for _ in range(WARM_PASSES):
        w, c, _r = _timed_pass(ours, queries)
        warm_w += w
        warm_c += c
    worst = max(range(len(queries)), key=cold_w.__getitem__)
    top1 = sum(bool(r) and matches(r[0], q["expect"]) for r, q in zip(cold_r, queries))
    top1_name = sum(bool(r) and r[0].name == q["expect"]["name"] for r, q in zip(cold_r, queries))
    out = {"bench": "geocode", "entries": len(geo), "queries": len(queries),
           "build_s": build["wall_s"], "build_s_cpu": build["cpu_s"], "rss_mb_after_build": build["rss_mb"],
           "cache_load_s": cached["wall_s"], "cache_load_s_cpu": cached["cpu_s"],
           "rss_mb": cached["rss_mb"], "top1": round(top1 / len(queries), 4),
           "top1_name": round(top1_name / len(queries), 4),
           **_figures("cold", cold_w, cold_c), **_figures("warm", warm_w, warm_c),
           "worst_ms": round(cold_w[worst], 2), "worst_ms_cpu": round(cold_c[worst], 2),
           "worst_text": queries[worst]["text"],
           "warm_worst_ms": round(max(warm_w), 2)}
    if peer:
        out.update(_peer(geo, queries, out["warm_p50_ms"], out["warm_p95_ms"]))
    if hostile:
        try:
            from dispatch.geo.hostile_text import worst_case
        except ImportError:
            out["hostile"] = None
        else:
            h = worst_case(geo, n=hostile)
            out.update({"hostile_inputs": h["hostile_inputs"], "hostile_worst_ms_cpu": h["worst_ms_cpu"],
                        "hostile_worst_input_chars": h["worst_input_chars"], "hostile_crashes": h["crashes"]})
    return out


def _peer(geo, queries: list[dict], our_p50: float, our_p95: float) -> dict:
    """rapidfuzz extractOne over every entry name, on the same queries."""
    from rapidfuzz import fuzz, process
    names = list(geo.index.names)

    def brute(q, _near):
        return process.extractOne(q["text"], names, scorer=fuzz.ratio)

    walls, cpus, results = _timed_pass(brute, queries)
    hits = sum(r is not None and r[0] == q["expect"]["name"] for r, q in zip(results, queries))
    p50, p95 = statistics.median(walls), percentile(walls, 0.95)
    return {"peer": "rapidfuzz.process.extractOne(fuzz.ratio) over all names",
            "peer_p50_ms": round(p50, 2), "peer_p95_ms": round(p95, 2),
            "peer_p95_ms_cpu": round(percentile(cpus, 0.95), 2),
            "peer_top1_name": round(hits / len(queries), 4),
            "peer_ratio_p50": round(p50 / our_p50, 1) if our_p50 else None,
            "peer_ratio_p95": round(p95 / our_p95, 1) if our_p95 else None}
