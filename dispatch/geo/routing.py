"""Travel-time search from an incident to many units.

One backward Dijkstra per travel mode present, from the incident's node on the reversed
graph (distances are travel times *to* the incident), under a time limit that doubles
until enough counting targets (available units) are reached. The search is resumable
(dispatch.geo.routing_kernel): a doubled limit continues where the last one stopped.

Exact: a target whose node is not settled has an ETA of at least the heap top, so the
search of a mode may stop as soon as the heap top reaches the `need`-th best ETA found
so far (over all modes), or must go on while it is below the limit. The modes run car,
e-bike, foot and share the list of best ETAs, so a slower mode stops early; a mode's
search also stops once every target that could still rank is settled (a target whose
straight-line lower bound, at the mode's top speed, is not below the need-th best ETA
cannot). ETAs include both snap legs (unit to its node, incident node to the incident).

With at most GUIDE_MAX targets in a mode the search is an A* toward them (the bound:
straight line to the nearest target at the mode's top speed, see routing_kernel), so
it leaves alone the part of the ball around the incident that leads to no unit; with
more targets the ball is small anyway and the bound would cost more than it saves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dispatch.domain.units import Travel
from dispatch.geo.routing_kernel import STOP_LIMIT, Workspace

MODE_ORDER = (Travel.CAR, Travel.EBIKE, Travel.FOOT)
FIRST_LIMIT_S = 120.0
MAX_LIMIT_S = 1e8
LIMIT_GROWTH = 2.0  # the time limit doubles (the search resumes, nothing is redone)
LB_SLACK = 0.98  # projection error margin for the straight-line lower bound
GUIDE_SLACK = 0.95  # A* bound: must never exceed an edge's time (consistency), so wider
GUIDE_MAX = 64  # at most this many targets in a mode: A* toward them


@dataclass(slots=True)
class Targets:
    """Units of one travel mode: their nodes, their extra seconds (snap leg at the
    approach speed), whether each counts toward `need` (available units), and their
    snap distances in metres."""

    nodes: np.ndarray
    extra_s: np.ndarray
    counts: np.ndarray
    snap_m: np.ndarray


@dataclass(slots=True)
class ModeReach:
    """Result for one mode: ETA per target (inf when not settled before the search
    stopped), the incident's node and its snap leg for this mode."""

    eta_s: np.ndarray
    at_node: int
    at_snap_m: float
    at_snap_s: float


@dataclass(slots=True)
class SearchResult:
    reach: dict[Travel, ModeReach]
    limit_s: float
    rounds: int


def workspace(graph, mode: Travel) -> Workspace:
    """The reusable search workspace of a mode (created on first use)."""
    mg = graph.modes[mode]
    if mg.ws is None:
        mg.ws = Workspace(mg.rev, graph.x, graph.y)
    return mg.ws


def search_units(graph, at: tuple[float, float], targets: dict[Travel, Targets],
                 need: int, at_snaps: dict[Travel, tuple[int, float]] | None = None) -> SearchResult:
    """ETAs (seconds) from each target to the point `at`; exact for every target whose
    ETA is below the `need`-th best counting ETA. Caller holds `graph.lock` while it
    still reads paths from the workspaces."""
    need = max(1, int(need))
    best = np.full(need, np.inf)
    nbest = 0
    runs: dict[Travel, tuple[Workspace, np.ndarray, np.ndarray, ModeReach]] = {}
    for mode in MODE_ORDER:
        t = targets.get(mode)
        if t is None or not len(t.nodes):
            continue
        if at_snaps and mode in at_snaps:
            node, snap_m = np.array([at_snaps[mode][0]]), at_snaps[mode][1]
        else:
            node, dist = graph.snap_many(mode, at[0], at[1])
            snap_m = float(dist[0])
        snap_s = snap_m / graph.modes[mode].approach_mps
        order = np.argsort(t.nodes, kind="stable")
        ws = workspace(graph, mode)
        tn = t.nodes[order]
        # lower bound of each ETA: straight line between the nodes at the mode's top speed
        gap = np.hypot(graph.x[tn] - graph.x[node[0]], graph.y[tn] - graph.y[node[0]])
        extra = t.extra_s[order] + snap_s
        tlb = gap * LB_SLACK / graph.modes[mode].max_mps + extra
        guide = GUIDE_SLACK / graph.modes[mode].max_mps if len(tn) <= GUIDE_MAX else None
        teta = ws.start(int(node[0]), tn.astype(np.int32), extra, t.counts[order], tlb, guide)
        runs[mode] = (ws, order, teta, ModeReach(np.empty(0), int(node[0]), snap_m, snap_s))
    limit = FIRST_LIMIT_S
    rounds = 0
    pending = list(runs)
    while pending:
        rounds += 1
        still = []
        for mode in pending:
            why, nbest = runs[mode][0].run(best, nbest, need, limit)
            if why == STOP_LIMIT:
                still.append(mode)
        if not still or limit >= MAX_LIMIT_S:
            break
        pending = [m for m in MODE_ORDER if m in runs]  # a new limit: all may resume
        limit = min(limit * LIMIT_GROWTH, MAX_LIMIT_S)
    reach = {}
    for mode, (_ws, order, teta, r) in runs.items():
        eta = np.empty(len(order))
        eta[order] = teta
        r.eta_s = eta
        reach[mode] = r
    return SearchResult(reach, limit, rounds)


def route_search(graph, mode: Travel, source: int, start: int) -> tuple[float, list[int]]:
    """Fastest time and node path from `start` to `source` (backward search)."""
    with graph.lock:
        ws = workspace(graph, mode)
        teta = ws.start(int(source), np.array([start], np.int32), np.zeros(1),
                        np.ones(1, bool), None,
                        GUIDE_SLACK / graph.modes[mode].max_mps)
        best = np.full(1, np.inf)
        limit, nbest = FIRST_LIMIT_S, 0
        while True:
            why, nbest = ws.run(best, nbest, 1, limit)
            if why != STOP_LIMIT or limit >= MAX_LIMIT_S:
                break
            limit *= 2
        if not np.isfinite(teta[0]):
            return float("inf"), []
        return float(teta[0]), ws.path(int(start), int(source))
