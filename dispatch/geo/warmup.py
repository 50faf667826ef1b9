"""Compile the routing kernels ahead of the first recommendation.

numba compiles a kernel on its first call (seconds on a loaded machine) and caches the
machine code on disk (see dispatch.geo.routing_kernel). `compile_kernels()` makes those
first calls on a tiny road graph, through the same code paths and argument types as a
real search (recommendation by the search with and without the A* bound, a route, a path
walk, and the contraction hierarchy's query on a hierarchy with nothing contracted: the
hierarchy's build kernels are not compiled here, the console never builds one), so
the console's first F5 finds the kernels ready: loaded from the disk cache when it is
there, compiled (and cached) otherwise. The UI runs it in a background thread at start.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np

from dispatch.domain.units import Travel, UnitKind, UnitSnapshot, UnitStatus

_T0 = datetime(2026, 1, 1, 4, 0, tzinfo=timezone.utc)


def _tiny_graph():
    """A 6x6 two-way grid of ~100 m blocks with one one-way row and one car-only row."""
    from dispatch.geo.roads import RoadGraph
    n, d = 6, 0.001
    r, c = np.divmod(np.arange(n * n), n)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return RoadGraph.from_edges(121.0 + c * d, 31.0 + r * d, u, v, np.full(len(u), 30.0),
                                np.zeros(len(u), bool), np.zeros(len(u), bool), source="warmup")


def compile_kernels(graph=None) -> float:
    """Compile (or load from the disk cache) every routing kernel; with a road graph,
    also allocate its search work arrays (tens of MB for a city: the first F5 then
    allocates nothing). Returns the seconds it took. Safe to call from any thread,
    any number of times."""
    from dispatch.geo.recommend import recommend
    from dispatch.geo.routing import GUIDE_MAX, route_search, up_spaces, workspace
    t = time.perf_counter()
    if graph is not None:
        with graph.lock:
            for mode in graph.modes:
                workspace(graph, mode)
                up_spaces(graph, mode)
    graph = _tiny_graph()
    kinds = [UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL]
    for count in (3, GUIDE_MAX + 3):  # A*-guided search and plain Dijkstra
        units = []
        for i in range(count):
            node = (7 * i + 5) % graph.node_count
            lon, lat = float(graph.lon[node]), float(graph.lat[node])
            status = UnitStatus.AVAILABLE if i % 4 else UnitStatus.EN_ROUTE
            units.append(UnitSnapshot(i + 1, f"W{i}", kinds[i % 3], status, lon, lat, _T0,
                                      lon, lat, incident_id=None if i % 4 else 1))
        at = (float(graph.lon[0]) + 1e-4, float(graph.lat[0]) + 1e-4)
        recommend(graph, units, at, None, _T0, limit=2)
    route_search(graph, Travel.CAR, 0, graph.node_count - 1)
    _hierarchy_query(graph)
    return time.perf_counter() - t


def _hierarchy_query(graph) -> None:  # noqa: ANN001
    """The hierarchy's query kernels (dispatch.geo.contraction_query), with the argument
    types of a built hierarchy."""
    from dispatch.geo.contraction import trivial
    from dispatch.geo.contraction_query import UpSpaces
    up = UpSpaces(trivial(graph.modes[Travel.CAR].rev))
    up.backward(0)
    nodes = np.arange(1, graph.node_count, 5)
    _times, entry = up.times(nodes)
    up.path(int(nodes[0]), int(entry[0]), 0)
