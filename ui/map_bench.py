"""`python main.py bench map`: the map pane's pan/zoom frame time over a whole city's roads
(the generated 1,000,000-node city of `bench recommend`) and over the demo.

An offscreen console MapPane (the real page, the real QWebChannel, unit markers: 100 in
the city, 40 in the demo) runs a scripted, seeded sequence of pans (30–70 % of the pane),
zooms (±1) and jumps (a random place and zoom). A frame is measured in the page, from the
view change (`performance.now()` before panBy/setZoom/setView) to the map settled and
painted for that view: every road tile of the view drawn (the road layer's `load`, or at
once when the view needed no new tile), then the next animation frame and the task after
it (the frame has been handed to the compositor). Passes of the same script from the same
start view, in one page:
  cold         the page has no road tile yet: each new one comes from Python over the
               QWebChannel, is decoded and drawn;
  warm         the tiles are in the page's memory (data, and the pixels of up to 160
               tiles drawn before: a tile seen again is shown without drawing);
  warm_redraw  the same with the pixels not kept: every tile of a new view drawn again
               from its data;
  peer         the same map without its road layer (Leaflet, the markers, nothing else).
Per pass: p50/p95/max of the frames, by kind, the tiles fetched and drawn, Python's CPU
and the page's (Qt WebEngine processes) CPU per frame, which the machine's load does not
inflate as it does the wall-clock frames. Also: the tile build (time, count, bytes on
disk; built once per road data, then read from the cache) and the pane's start to its
roads drawn (`ready`).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

_DRIVER = r"""
window.__mapBench = function (actions, withRoads, gapMs) {
  var map = dispatchMap._map(), roads = dispatchMap._roads();
  if (withRoads && !map.hasLayer(roads)) { map.addLayer(roads); }
  if (!withRoads && map.hasLayer(roads)) { map.removeLayer(roads); }
  var out = { frames: [], kinds: [], tiles: [], drawn: [], drawMs: [], done: false }, i = 0;
  window.__mapBenchOut = out;
  function next() {
    if (i >= actions.length) { out.done = true; return; }
    var a = actions[i++], st = roads.stats(), t0 = performance.now();
    if (a.kind === "pan") { map.panBy(a.by, { animate: false }); }
    else if (a.kind === "zoom") { map.setZoom(a.zoom, { animate: false }); }
    else { map.setView([a.lat, a.lon], a.zoom, { animate: false }); }
    function settled() {
      window.requestAnimationFrame(function () {
        setTimeout(function () {
          out.frames.push(performance.now() - t0);
          out.kinds.push(a.kind);
          var now = roads.stats();
          out.tiles.push(now.requested - st.requested);
          out.drawn.push(now.tilesDrawn - st.tilesDrawn);
          out.drawMs.push(now.drawMs - st.drawMs);
          setTimeout(next, gapMs);
        }, 0);
      });
    }
    if (withRoads && roads.isLoading()) { roads.once("load", settled); } else { settled(); }
  }
  next();
  return true;
};
true;
"""


def _actions(n: int, bounds: list[float], zmin: int, zmax: int, start_zoom: int, size: tuple[int, int],
             seed: int) -> list[dict[str, Any]]:
    """The scripted view changes: 60 % pans, 30 % zooms by one, 10 % jumps, all keeping
    the view inside the roads (a view past their edge would be pulled back by an animated
    pan, whose end depends on timing: the passes would not see the same views)."""
    import numpy as np

    from dispatch.geo.road_tiles import mercator
    rng = random.Random(seed)
    (x0, x1), (y1, y0) = (v.tolist() for v in mercator(np.array(bounds[0::2]), np.array(bounds[1::2])))

    def room(zoom: int) -> tuple[float, float, float, float]:
        hx, hy = size[0] / 2 / (256 * 2 ** zoom), size[1] / 2 / (256 * 2 ** zoom)
        return x0 + hx, x1 - hx, y0 + hy, y1 - hy

    def inside(cx: float, cy: float, zoom: int) -> bool:
        ax, bx, ay, by = room(zoom)
        return ax <= cx <= bx and ay <= cy <= by

    zoom, cx, cy, out = start_zoom, (x0 + x1) / 2, (y0 + y1) / 2, []
    for _ in range(100 * n):
        if len(out) == n:
            break
        r = rng.random()
        if r < 0.6:
            by = [round(rng.choice((-1, 1)) * rng.uniform(0.3, 0.7) * size[0]),
                  round(rng.choice((-1, 1)) * rng.uniform(0.3, 0.7) * size[1])]
            for flip in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
                nx = cx + flip[0] * by[0] / (256 * 2 ** zoom)
                ny = cy + flip[1] * by[1] / (256 * 2 ** zoom)
                if inside(nx, ny, zoom):
                    cx, cy = nx, ny
                    out.append({"kind": "pan", "by": [flip[0] * by[0], flip[1] * by[1]]})
                    break
        elif r < 0.9:
            step = rng.choice((-1, 1))
            for z in (zoom + step, zoom - step):
                if zmin <= z <= zmax and inside(cx, cy, z):
                    zoom = z
                    out.append({"kind": "zoom", "zoom": zoom})
                    break
        else:
            jz = rng.randint(zmin, zmax)
            ax, bx, ay, by_ = room(jz)
            if ax > bx or ay > by_:
                continue
            zoom, cx, cy = jz, rng.uniform(ax, bx), rng.uniform(ay, by_)
            lat = float(np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * cy)))))
            out.append({"kind": "jump", "zoom": zoom, "lon": cx * 360.0 - 180.0, "lat": lat})
    return out


def _renderer_cpu_s() -> float:
    """CPU seconds used so far by this process's Qt WebEngine helpers (renderer, GPU
    thread in software): the page's work, whatever else the machine is doing."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(d.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _cpu) in parent.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    for pid in mine - {os.getpid()}:
        total += parent[pid][1]
    return total


def _ms(values: list[float], q: float) -> float:
    import numpy as np
    return round(float(np.percentile(values, q)), 1) if values else 0.0


class _Driver:
    """Runs the page's event loop until a condition holds (no sleeping: the bridge's
    answers are handled the moment they arrive)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEventLoop, QTimer
        self.loop = QEventLoop()
        self.timer = QTimer()
        self.timer.start(10)  # wakes the loop to check the condition

    def wait(self, cond, timeout_s: float = 120.0) -> bool:  # noqa: ANN001
        from PySide6.QtCore import QEventLoop
        end = time.monotonic() + timeout_s
        while not cond() and time.monotonic() < end:
            self.loop.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        return bool(cond())

    def js(self, pane, script: str) -> Any:  # noqa: ANN001
        box: list = []
        pane.evaluate(f"JSON.stringify({script})", box.append)
        if not self.wait(lambda: bool(box), 30):
            raise RuntimeError(f"the map page did not answer: {script[:60]}")
        return json.loads(box[0]) if box[0] else None


def _units(bounds: list[float], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    statuses = ("available", "dispatched", "en_route", "on_scene")
    out = []
    for i in range(n):
        st = rng.choice(statuses)
        out.append({"id": i + 1, "callsign": f"测{i + 1:03d}", "kind": "patrol_car", "status": st,
                    "lon": rng.uniform(bounds[0], bounds[2]), "lat": rng.uniform(bounds[1], bounds[3]),
                    "label": f"测{i + 1:03d}", "alert": False, "stale": False})
    return out


def bench_case(name: str, basemap: dict, n_actions: int, zooms: tuple[int, int, int],
               size: tuple[int, int], gap_ms: int, seed: int, n_units: int) -> dict[str, Any]:
    """One map (the demo or the city): ready time, then cold / warm / peer passes."""
    from ui.map.map_pane import MapPane

    driver = _Driver()
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        t = time.perf_counter()
        pane = MapPane(basemap, Path(tmp))
        pane.resize(*size)
        pane.show()
        if not driver.wait(lambda: pane.is_ready, 120):
            raise RuntimeError("the map page never became ready")
        ready_s = time.perf_counter() - t
        bounds = pane.road_tiles.bounds
        pane.set_units(_units(bounds, n_units, seed))
        zmin, zmax, start = zooms
        actions = _actions(n_actions, bounds, zmin, zmax, start, size, seed)
        centre = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]
        driver.js(pane, "true")
        pane.evaluate(_DRIVER)
        out: dict[str, Any] = {"bench": "map", "map": name, "actions": n_actions, "pane": list(size),
                               "ready_s": round(ready_s, 3), "tiles": pane.road_tiles.tile_count}
        passes = (("cold", True, True), ("warm", True, True), ("warm_redraw", True, False), ("peer", False, False))
        for label, with_roads, bitmaps in passes:
            driver.js(pane, f"dispatchMap._roads().keepBitmaps({str(bitmaps).lower()})")
            pane.focus(centre[0], centre[1], start)
            driver.js(pane, "true")
            driver.wait(lambda: not driver.js(pane, "dispatchMap._roads().isLoading()"), 60)
            cpu, rcpu = time.process_time(), _renderer_cpu_s()
            driver.js(pane, f"window.__mapBench({json.dumps(actions)}, {str(with_roads).lower()}, {gap_ms})")
            if not driver.wait(lambda: driver.js(pane, "window.__mapBenchOut.done"), 600):
                raise RuntimeError(f"the {label} pass did not finish")
            res = driver.js(pane, "window.__mapBenchOut")
            frames = res["frames"]
            out[label] = {"p50_ms": _ms(frames, 50), "p95_ms": _ms(frames, 95), "max_ms": round(max(frames), 1),
                          "frames": len(frames), "frames_fetching_tiles": sum(1 for n in res["tiles"] if n),
                          "tiles_fetched": sum(res["tiles"]), "tiles_drawn": sum(res["drawn"]),
                          "draw_ms_p95": _ms(res["drawMs"], 95),
                          "python_cpu_s": round(time.process_time() - cpu, 2),
                          "page_cpu_ms_per_frame": round((_renderer_cpu_s() - rcpu) * 1000 / len(frames), 1)}
            for kind in ("pan", "zoom", "jump"):
                ks = [f for f, k in zip(frames, res["kinds"]) if k == kind]
                out[label][f"{kind}_p95_ms"] = _ms(ks, 95)
        out["ratio_warm_redraw_p95_to_peer"] = round(out["warm_redraw"]["p95_ms"] / max(out["peer"]["p95_ms"], 0.1), 2)
        out["ratio_warm_p95_to_peer"] = round(out["warm"]["p95_ms"] / max(out["peer"]["p95_ms"], 0.1), 2)
        out["ratio_cold_p95_to_peer"] = round(out["cold"]["p95_ms"] / max(out["peer"]["p95_ms"], 0.1), 2)
        errors = [m for m in pane.console_messages if m[0] == "error"]
        if errors:
            out["page_errors"] = errors[:5]
        pane.close()
        pane.deleteLater()
        from PySide6.QtCore import QCoreApplication, QEvent
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # page before profile
    return out


def city_tiles(nodes: int, cache_dir: Path, rebuild: bool) -> tuple[Any, dict[str, Any]]:
    """The generated city's road graph (the cache of `bench recommend`) and its tiles."""
    from dispatch.geo.contraction import graph_digest
    from dispatch.geo.road_tiles import tile_cache_path, tiles_for_graph
    from dispatch.geo.roads import FORMAT_VERSION, RoadGraph
    from dispatch.geo.synthetic_roads import generate_city

    path = cache_dir / f"synthetic-{nodes}-v{FORMAT_VERSION}.roads.npz"
    if path.is_file():
        graph = RoadGraph.load(path)
    else:  # ~25 s for 1,000,000 nodes (no contraction hierarchy: the map does not need one)
        cache_dir.mkdir(parents=True, exist_ok=True)
        graph = generate_city(nodes)
        graph.save(path)
    figures: dict[str, Any] = {"nodes": graph.node_count}
    tile_dir = cache_dir / "road-tiles"
    cached = tile_cache_path(tile_dir, graph_digest(graph))
    if rebuild and cached.is_file():
        cached.unlink()
    built = not cached.is_file()
    t, cpu = time.perf_counter(), time.process_time()
    tiles = tiles_for_graph(graph, tile_dir)
    figures |= {"tiles_built" if built else "tiles_loaded": True,
                "tile_build_s" if built else "tile_load_s": round(time.perf_counter() - t, 2),
                "tile_cpu_s": round(time.process_time() - cpu, 2),
                "tile_count": tiles.tile_count, "tile_bytes": cached.stat().st_size}
    return graph, {"tiles": tiles, **figures}


def register(bench: argparse._SubParsersAction) -> None:
    """`bench map` (called from ui.commands.register)."""
    from dispatch.commands.support import positive_int

    p = bench.add_parser("map", help="pan/zoom frame time of the map over a whole city's roads, beside an empty map")
    p.add_argument("--nodes", type=positive_int, default=1_000_000, help="junctions of the generated city")
    p.add_argument("--actions", type=positive_int, default=60, help="pans, zooms and jumps per pass")
    p.add_argument("--gap-ms", type=positive_int, default=60, help="idle time between two view changes")
    p.add_argument("--rebuild-tiles", action="store_true", help="build the city's tiles again (the build time)")
    p.add_argument("--units", type=positive_int, default=100, help="unit markers on the map (demo: at most 40)")
    p.add_argument("--skip-demo", action="store_true")
    p.add_argument("--cache-dir", help="where the city and its tiles are kept (default: the user cache)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    import PySide6.QtWebEngineWidgets  # noqa: F401  (before the QApplication)
    from PySide6.QtWidgets import QApplication

    from dispatch.commands.roads import DEMO_OSM
    from dispatch.commands.support import print_json
    from dispatch.geo.basemap import cached_basemap, tile_basemap

    if args.cache_dir:
        cache = Path(args.cache_dir)
    else:
        import platformdirs
        cache = Path(platformdirs.user_cache_dir("dispatch-console")) / "bench"
    qt = QApplication.instance() or QApplication(["map-bench"])
    size = (1000, 700)
    load = os.getloadavg()
    if not args.skip_demo:
        demo = cached_basemap(DEMO_OSM, cache)  # as the console's start: the road file's cached tiles
        print_json(bench_case("demo", demo, args.actions, (16, 19, 17), size, args.gap_ms, seed=3,
                              n_units=min(args.units, 40))
                   | {"load_avg": [round(v, 2) for v in load]})
    graph, city = city_tiles(args.nodes, cache, args.rebuild_tiles)
    tiles = city.pop("tiles")
    basemap = tile_basemap(tiles)
    out = bench_case(f"city-{graph.node_count}", basemap, args.actions, (11, 18, 14), size, args.gap_ms, seed=5,
                     n_units=args.units)
    print_json(out | city | {"load_avg": [round(v, 2) for v in os.getloadavg()]})
    del qt
    return 0
