"""Travel-time search from an incident to many units.

One backward Dijkstra per travel mode present, from the incident's node on the reversed
graph (distances are travel times *to* the incident), under a time limit that grows by
half until enough counting targets (available units) are reached; it starts at the
need-th smallest lower bound of the counting targets' ETAs (no round can end below it).
The search is resumable (dispatch.geo.routing_kernel): a raised limit continues where
the last one stopped.

Exact: a target whose node is not settled has an ETA of at least the heap top, so the
search of a mode may stop as soon as the heap top reaches the `need`-th best ETA found
so far (over all modes), or must go on while it is below the limit. The modes run car,
e-bike, foot and share the list of best ETAs, so a slower mode stops early; a mode's
search also stops once every target that could still rank is settled (a target whose
straight-line lower bound, at the mode's top speed, is not below the need-th best ETA
cannot). ETAs include both snap legs (unit to its node, incident node to the incident).

With at most GUIDE_MAX targets in a mode the search is an A* toward them (the bound:
per target the larger of the straight line at the mode's top speed and, on the car
graph, the landmark (ALT) bound; the smallest over the targets, see routing_kernel), so
it leaves alone the part of the ball around the incident that leads to no unit; with
more targets the ball is small anyway and the bound would cost more than it saves. The
same two bounds give each target's lower bound of its ETA (a target that cannot rank
stops the search waiting for it; the targets guide nearest first, by that bound). Once
need ETAs are known, nothing at or above the need-th is pushed. Landmarks: LANDMARKS
nodes on the rim of the car graph, their times to and from every node computed when
the graph is built (2 x LANDMARKS scipy Dijkstra runs) and stored with it; the search
workspace keeps them in one row per node with its coordinates. (More landmarks, 8 or 16
chosen farthest-first, tighten the bound on the generated grid city by 1-2 % only: on a
grid the near-shortest paths between two points fill their rectangle.)

With at most CH_MAX targets in a mode that has a contraction hierarchy (the car graph:
dispatch.geo.contraction, when built and loaded) on a graph of at least CH_MIN_NODES, that mode is not
searched: every target's exact ETA is read off the hierarchy (dispatch.geo.
contraction_query: one backward upward search from the incident met with each unit's
forward upward space, kept per node while the unit stays put). With few units far apart the aimed search settles the lens toward each unit that
could rank (tens of thousands of nodes on the 1,000,000-node city); the hierarchy's
searches stay at about the size of its core whatever the distance.

A unit's road node is looked up once per position (SnapCache, held by the graph), not
on every recommendation.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dispatch.domain.units import Travel
from dispatch.geo.contraction import CH_MIN_NODES
from dispatch.geo.contraction_query import UpSpaces
from dispatch.geo.routing_kernel import ALT_SLACK, STOP_LIMIT, Workspace, lower_bounds

MODE_ORDER = (Travel.CAR, Travel.EBIKE, Travel.FOOT)
FIRST_LIMIT_S = 120.0
MAX_LIMIT_S = 1e8
LIMIT_GROWTH = 1.5  # the time limit grows (the search resumes, nothing is redone)
LB_SLACK = 0.98  # projection error margin for the straight-line lower bound
GUIDE_SLACK = 0.95  # A* bound: must never exceed an edge's time (consistency), so wider
GUIDE_MAX = 64  # at most this many targets in a mode: A* toward them
CH_MAX = 64  # at most this many targets in a mode with a hierarchy: their times on it
LANDMARKS = 4  # ALT landmarks of the car graph (the straight-line bound is weakest there)


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
    stopped), the incident's node and its snap leg for this mode, and the road nodes
    from target i's node to the incident's node (`route(i)`, read under graph.lock)."""

    eta_s: np.ndarray
    at_node: int
    at_snap_m: float
    at_snap_s: float
    route: Callable[[int], list[int]] = lambda i: []


@dataclass(slots=True)
class SearchResult:
    reach: dict[Travel, ModeReach]
    limit_s: float
    rounds: int
    hierarchy: tuple[Travel, ...] = ()  # the modes whose ETAs were read off the hierarchy


class SnapCache:
    """The road node each unit is snapped to, per position: a unit is snapped again only
    when its point (or its travel mode) changes, not on every recommendation. Keyed by
    unit id; an entry holds the point, the mode code (index in MODE_ORDER), the node and
    the snap distance. Tied to one graph: a new graph empties it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph: weakref.ReferenceType | None = None
        self._asked: np.ndarray  # the ids asked last, where they are held, what is held there
        self._at: np.ndarray
        self._view: tuple[np.ndarray, ...]
        self._clear()
        self.hits = self.misses = 0

    def _clear(self) -> None:
        self._forget()
        self.ids = np.zeros(0, np.int64)
        self.code = np.zeros(0, np.int64)
        self.lon = np.zeros(0)
        self.lat = np.zeros(0)
        self.node = np.zeros(0, np.int64)
        self.dist = np.zeros(0)

    def __len__(self) -> int:
        return len(self.ids)

    def snap(self, graph, ids: np.ndarray, codes: np.ndarray, lon: np.ndarray,
             lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nodes, distances in metres) of points each with its unit id and mode code,
        as graph.snap_modes gives them; only points not seen before are queried."""
        nodes, dist, _n, _d = self.snap_with(graph, ids, codes, lon, lat, np.zeros(0, np.int64),
                                             np.zeros(0), np.zeros(0))
        return nodes, dist

    def snap_with(self, graph, ids: np.ndarray, codes: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                  more_codes: np.ndarray, more_lon: np.ndarray,
                  more_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As `snap`, and the (nodes, distances) of more points that are not kept (the
        incident's, one per mode), snapped in the same query as the units that missed
        (graph.snap_modes answers each point on its own: the same nodes as apart)."""
        ids = np.asarray(ids, np.int64)
        with self._lock:
            if self._graph is None or self._graph() is not graph:
                self._graph = weakref.ref(graph)
                self._clear()
            if len(self.ids):
                if not (self._view and len(ids) == len(self._asked) and np.array_equal(ids, self._asked)):
                    # other units than last time: where each is held, and its entry read
                    # there (asked again, the usual F5: neither found nor read again)
                    at = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
                    self._asked, self._at = ids.copy(), at
                    self._view = (self.ids[at] == ids, self.code[at], self.lon[at], self.lat[at],
                                  self.node[at], self.dist[at])
                at = self._at
                held, vcode, vlon, vlat, vnode, vdist = self._view
                hit = held & (vcode == codes) & (vlon == lon) & (vlat == lat)
                nodes, dist = vnode.copy(), vdist.copy()
            else:
                hit = np.zeros(len(ids), bool)
                nodes, dist = np.zeros(len(ids), np.int64), np.zeros(len(ids))
            miss = np.flatnonzero(~hit)
            self.hits += len(ids) - len(miss)
            self.misses += len(miss)
            k = len(more_codes)
            if not len(miss) and not k:
                return nodes, dist, np.zeros(0, np.int64), np.zeros(0)
            qn, qd = graph.snap_modes(np.concatenate([codes[miss], more_codes]),
                                      np.concatenate([lon[miss], more_lon]), np.concatenate([lat[miss], more_lat]),
                                      ground=np.arange(len(miss) + k) >= len(miss))  # (the incident's: on the ground)
            mn, md = qn[:len(miss)], qd[:len(miss)]
            if len(miss):
                nodes[miss], dist[miss] = mn, md
                mid = ids[miss]
                slot = at[miss] if len(self.ids) else None
                if slot is not None and (self.ids[slot] == mid).all() and _distinct(mid):
                    # only units already held that moved: their entries rewritten in place
                    self.code[slot], self.lon[slot], self.lat[slot] = codes[miss], lon[miss], lat[miss]
                    self.node[slot], self.dist[slot] = mn, md
                    vcode[miss], vlon[miss], vlat[miss] = codes[miss], lon[miss], lat[miss]
                    vnode[miss], vdist[miss] = mn, md
                else:
                    self._store(mid, codes[miss], lon[miss], lat[miss], mn, md)
            return nodes, dist, qn[len(miss):], qd[len(miss):]

    def _forget(self) -> None:
        """Drop the last ids asked, their entries' places and the entries read there
        (the entries move)."""
        self._asked = np.zeros(0, np.int64)
        self._at = np.zeros(0, np.int64)
        self._view = ()

    def _store(self, ids, codes, lon, lat, nodes, dist) -> None:
        """Replace the entries of `ids` (sorted merge; the last of duplicate ids wins)."""
        self._forget()
        keep = ~np.isin(self.ids, ids)
        all_ids = np.concatenate([self.ids[keep], ids])
        order = np.argsort(all_ids, kind="stable")
        last = np.ones(len(order), bool)
        last[:-1] = all_ids[order][1:] != all_ids[order][:-1]
        order = order[last]
        self.ids = all_ids[order]
        self.code = np.concatenate([self.code[keep], codes])[order]
        self.lon = np.concatenate([self.lon[keep], lon])[order]
        self.lat = np.concatenate([self.lat[keep], lat])[order]
        self.node = np.concatenate([self.node[keep], np.asarray(nodes, np.int64)])[order]
        self.dist = np.concatenate([self.dist[keep], dist])[order]


def _distinct(values: np.ndarray) -> bool:
    """Whether no value appears twice."""
    if len(values) < 2:
        return True
    v = np.sort(values)
    return bool((v[1:] != v[:-1]).all())


def snap_cache(graph) -> SnapCache:
    """The snap cache that goes with a graph (created on first use)."""
    cache = getattr(graph, "snaps", None)
    if cache is None:
        with graph.lock:
            cache = getattr(graph, "snaps", None)
            if cache is None:
                cache = graph.snaps = SnapCache()
    return cache


def workspace(graph, mode: Travel) -> Workspace:
    """The reusable search workspace of a mode (created on first use)."""
    mg = graph.modes[mode]
    if mg.ws is None:
        mg.ws = ws = Workspace(mg.rev, graph.x, graph.y, *_landmarks(graph, mode))
        if ws.to_lm.shape[1]:  # the workspace's copy (one row per node) replaces the graph's
            mg.to_lm, mg.from_lm = ws.to_lm, ws.from_lm
    return mg.ws


def up_spaces(graph, mode: Travel) -> UpSpaces | None:
    """The hierarchy search of a mode (created on first use), None without hierarchy."""
    mg = graph.modes[mode]
    if mg.ch is None:
        return None
    if mg.up is None:
        mg.up = UpSpaces(mg.ch)
    return mg.up


def _on_hierarchy(up: UpSpaces, t: Targets, node: int, snap_m: float, snap_s: float) -> ModeReach:
    """Every target's exact ETA to `node` on the hierarchy."""
    up.backward(node)
    road, entry = up.times(t.nodes)
    nodes = t.nodes
    return ModeReach(road + t.extra_s + snap_s, node, snap_m, snap_s,
                     lambda i: up.path(int(nodes[i]), int(entry[i]), node))


def _landmarks(graph, mode: Travel) -> tuple[np.ndarray, np.ndarray]:
    """(to_lm, from_lm) of a mode, each (n, K); K = 0 when it has none."""
    mg = graph.modes[mode]
    n = graph.node_count
    if mg.to_lm.ndim == 2 and mg.to_lm.shape[0] == n and mg.to_lm.shape[1] > 0:
        return mg.to_lm, mg.from_lm
    return np.zeros((n, 0)), np.zeros((n, 0))


def landmark_times(rev, x: np.ndarray, y: np.ndarray, k: int = LANDMARKS) -> tuple[np.ndarray, np.ndarray]:
    """ALT landmarks of a strongly connected graph given reversed (row = head): the node
    farthest from the centre in each of `k` equal angular sectors, and the travel times
    (n, k) from every node to each landmark and from each landmark to every node,
    by scipy's Dijkstra (2k runs). Empty (n, 0) arrays for tiny graphs."""
    from scipy.sparse.csgraph import dijkstra
    n = rev.shape[0]
    if n < 4 * k:
        return np.zeros((n, 0)), np.zeros((n, 0))
    dx, dy = x - x.mean(), y - y.mean()
    sector = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * k).astype(np.int64) % k
    r2 = dx * dx + dy * dy
    marks = [int(np.flatnonzero(sector == j)[np.argmax(r2[sector == j])]) for j in range(k)
             if (sector == j).any()]
    to_lm = np.ascontiguousarray(dijkstra(rev, indices=marks).T)          # v -> landmark
    from_lm = np.ascontiguousarray(dijkstra(rev.T.tocsr(), indices=marks).T)  # landmark -> v
    if not (np.isfinite(to_lm).all() and np.isfinite(from_lm).all()):
        return np.zeros((n, 0)), np.zeros((n, 0))
    return to_lm, from_lm


def alt_bound(to_lm: np.ndarray, from_lm: np.ndarray, src: np.ndarray, dst: int) -> np.ndarray:
    """Lower bounds (seconds) of the travel times from nodes `src` to node `dst` by the
    triangle inequality over the landmarks (0 without landmarks)."""
    if to_lm.shape[1] == 0:
        return np.zeros(len(src))
    a = to_lm[src] - to_lm[dst]        # t(src -> L) - t(dst -> L)
    b = from_lm[dst] - from_lm[src]    # t(L -> dst) - t(L -> src)
    np.maximum(a, b, out=a)
    best = np.zeros(len(src))
    for j in range(a.shape[1]):        # column by column: a reduce along a short axis is slow
        np.maximum(best, a[:, j], out=best)
    return best * ALT_SLACK


def search_units(graph, at: tuple[float, float], targets: dict[Travel, Targets],
                 need: int, at_snaps: dict[Travel, tuple[int, float]] | None = None) -> SearchResult:
    """ETAs (seconds) from each target to the point `at`; exact for every target whose
    ETA is below the `need`-th best counting ETA. Caller holds `graph.lock` while it
    still reads paths from the workspaces."""
    need = max(1, int(need))
    best = np.full(need, np.inf)
    nbest = 0
    runs: dict[Travel, tuple[Workspace, np.ndarray, ModeReach]] = {}
    exact: dict[Travel, ModeReach] = {}
    lower: list[np.ndarray] = []
    for mode in MODE_ORDER:
        t = targets.get(mode)
        if t is None or not len(t.nodes):
            continue
        if at_snaps and mode in at_snaps:
            node, snap_m = np.array([at_snaps[mode][0]]), at_snaps[mode][1]
        else:
            node, dist = graph.snap_ground(mode, at[0], at[1])
            snap_m = float(dist[0])
        snap_s = snap_m / graph.modes[mode].approach_mps
        few = len(t.nodes) <= CH_MAX and graph.node_count >= CH_MIN_NODES
        up = up_spaces(graph, mode) if few else None
        if up is not None:
            r = exact[mode] = _on_hierarchy(up, t, int(node[0]), snap_m, snap_s)
            counted = r.eta_s[t.counts]
            best = np.sort(np.concatenate([best[:nbest], counted, np.full(need, np.inf)]))[:need]
            nbest = int(np.isfinite(best).sum())
            lower.append(counted)
            continue
        ws = workspace(graph, mode)
        # lower bound of each ETA: the straight line between the nodes at the mode's top
        # speed or the landmark bound, whichever is larger (one pass over the targets' rows)
        tn = np.asarray(t.nodes, np.int64)
        extra = t.extra_s + snap_s
        tlb = lower_bounds(ws.target_rows(tn), ws.lm[int(node[0])], LB_SLACK, graph.modes[mode].max_mps,
                           extra, ALT_SLACK)
        guide = GUIDE_SLACK / graph.modes[mode].max_mps if len(tn) <= GUIDE_MAX else None
        teta = ws.start(int(node[0]), tn, extra, t.counts, tlb, guide)  # in the units' order
        runs[mode] = (ws, teta, ModeReach(np.empty(0), int(node[0]), snap_m, snap_s))
        lower.append(tlb[t.counts])
    # the need-th best ETA is at least the need-th smallest lower bound: no round below it
    bounds = np.sort(np.concatenate(lower)) if lower else np.zeros(0)
    limit = FIRST_LIMIT_S if len(bounds) < need else min(max(FIRST_LIMIT_S, float(bounds[need - 1])), MAX_LIMIT_S)
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
    for mode in MODE_ORDER:
        if mode in exact:
            reach[mode] = exact[mode]
        elif mode in runs:
            ws, teta, r = runs[mode]
            r.eta_s = teta.copy()
            r.route = _route_of(ws, targets[mode].nodes, r.at_node)
            reach[mode] = r
    return SearchResult(reach, limit, rounds, tuple(exact))


def _route_of(ws: Workspace, nodes: np.ndarray, at_node: int) -> Callable[[int], list[int]]:
    return lambda i: ws.path(int(nodes[i]), at_node)


def route_search(graph, mode: Travel, source: int, start: int) -> tuple[float, list[int]]:
    """Fastest time and node path from `start` to `source` (backward search)."""
    with graph.lock:
        ws = workspace(graph, mode)
        teta = ws.start(int(source), np.array([start], np.int64), np.zeros(1),
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
