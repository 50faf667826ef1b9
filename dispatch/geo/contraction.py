"""A contraction hierarchy (CH) of the car graph: exact travel times with small searches.

Nodes are contracted one by one, least important first (lazy priority queue: the
priority is the node's depth in the hierarchy, plus half its neighbours already
contracted, plus twice the shortcuts its contraction adds per edge it removes;
recomputed when it reaches the top). Contracting x: for each
pair u -> x -> v of its remaining neighbours, a shortcut u -> v (weight w(u,x)+w(x,v),
middle node x) is added unless a witness search from u (Dijkstra avoiding x, at most
WITNESS_SETTLE nodes) finds a path not longer. A witness search that gives up only adds
a shortcut too many: times stay exact. The edges x keeps at its contraction all lead to
nodes contracted later ("up"): x's out-edges form the forward upward graph, its
in-edges (stored at x) the backward upward graph. The last nodes (core_size: the
dense top, where contraction costs the most) are not contracted: between two of them
every edge counts as up, so every search crosses the core as a plain Dijkstra.

The travel time s -> t is then min over v of up_f(s, v) + up_b(v, t): the first an
upward search from s on the forward graph, the second an upward search from t on the
backward graph (dispatch.geo.contraction_query). Shortcuts are unpacked into road
nodes through their middle node.

The hierarchy is an accelerator, never on the critical path: building the road graph
or loading its cache never builds it (350 s CPU on the 1,000,000-node city). It is built
explicitly (`ensure_hierarchy`: `main.py setup`, `roads build-hierarchy`, `bench
recommend`), only for graphs of at least CH_MIN_NODES (below, the recommendation never
uses it), into its own file beside the graph's cache, named by the digest of the car
graph and CH_FORMAT. The console only loads it when that file exists (`load_hierarchy`);
meanwhile the recommendation runs the aimed search (exact either way). The build kernels
hold the interpreter lock for minutes: never run them in the console's process.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dispatch.domain.units import Travel

if TYPE_CHECKING:
    import scipy.sparse as sp

CH_FORMAT = 1  # layout of the hierarchy's cache file (and of the build that wrote it)
CH_MIN_NODES = 10_000  # on a smaller graph the aimed search is as fast (demo: 0.74 vs 0.84 ms)

WITNESS_SETTLE = 120  # nodes a witness search may settle before it gives up
# the last nodes are left uncontracted, the core (every search runs through it whole):
# 1 % of the nodes, at least 64, at most 1,000 (contracting the dense top costs the
# most build time and saves little search)
CORE_FRACTION, CORE_MIN, CORE_MAX = 0.01, 64, 1000


@dataclass(slots=True)
class Hierarchy:
    """The upward graphs as CSR arrays: `f_*` forward (row u: edges u -> v up), `b_*`
    backward (row u: edges v -> u with v up); `*_mid` the middle node of a shortcut
    (-1: a road edge); `rank` the contraction order of each node."""

    rank: np.ndarray
    f_ptr: np.ndarray
    f_nbr: np.ndarray
    f_w: np.ndarray
    f_mid: np.ndarray
    b_ptr: np.ndarray
    b_nbr: np.ndarray
    b_w: np.ndarray
    b_mid: np.ndarray

    FIELDS = ("rank", "f_ptr", "f_nbr", "f_w", "f_mid", "b_ptr", "b_nbr", "b_w", "b_mid")

    @property
    def shortcuts(self) -> int:
        return int((self.f_mid >= 0).sum() + (self.b_mid >= 0).sum())

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{name}": getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_arrays(cls, z, prefix: str) -> "Hierarchy | None":
        if f"{prefix}rank" not in z:
            return None
        return cls(*(z[f"{prefix}{name}"] for name in cls.FIELDS))


def trivial(rev: sp.csr_matrix) -> Hierarchy:
    """A hierarchy with nothing contracted (every edge up, no shortcut): exact but as slow
    as Dijkstra; used to compile the query kernels (dispatch.geo.warmup) without the
    build's."""
    fwd = rev.T.tocsr()
    n = fwd.shape[0]
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(fwd.indptr))
    dst = fwd.indices.astype(np.int64)
    none = np.full(len(src), -1, np.int32)
    return Hierarchy(np.arange(n, dtype=np.int32), *_csr(n, src, dst, fwd.data, none),
                     *_csr(n, dst, src, fwd.data, none))


def _csr(n: int, src: np.ndarray, dst: np.ndarray, w: np.ndarray, mid: np.ndarray):
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr, dst[order].astype(np.int32), w[order].astype(np.float64), mid[order].astype(np.int32)


def core_size(n: int) -> int:
    return min(CORE_MAX, max(CORE_MIN, int(n * CORE_FRACTION)))


def build(rev: sp.csr_matrix, core: int | None = None) -> Hierarchy:
    """The contraction hierarchy of a graph given reversed (row = head of the edge)."""
    from dispatch.geo.contraction_kernels import _build  # numba loads only here
    fwd = rev.T.tocsr()
    fwd.sort_indices()
    n = fwd.shape[0]
    rank, fs, fd, fw, fm, bs, bd, bw, bm = _build(
        n, fwd.indptr.astype(np.int64), fwd.indices.astype(np.int32), fwd.data.astype(np.float64),
        WITNESS_SETTLE, core_size(n) if core is None else core)
    return Hierarchy(rank, *_csr(n, fs, fd, fw, fm), *_csr(n, bs, bd, bw, bm))


# ---- its cache file ----------------------------------------------------------------
def graph_digest(graph) -> str:  # noqa: ANN001 (dispatch.geo.roads.RoadGraph)
    """A hash of what the hierarchy is built from: the nodes and the car graph."""
    rev = graph.modes[Travel.CAR].rev
    h = hashlib.blake2b(digest_size=16)
    for a in (graph.lon, graph.lat, rev.indptr, rev.indices, rev.data):
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def hierarchy_path(graph, cache_dir: str | Path) -> Path:  # noqa: ANN001
    """The hierarchy's cache file of a graph (beside the graph's cache)."""
    return Path(cache_dir) / f"roads-{graph_digest(graph)}-ch{CH_FORMAT}.npz"


def _read(path: Path, n: int) -> Hierarchy | None:
    """The hierarchy in a cache file, None when missing, unreadable or not this graph's."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"][0]) != CH_FORMAT:
                return None
            ch = Hierarchy.from_arrays(z, "")
    except (OSError, KeyError, ValueError):
        return None
    if ch is None or len(ch.rank) != n or len(ch.f_ptr) != n + 1 or len(ch.b_ptr) != n + 1:
        return None
    return ch


def _attach(graph, ch: Hierarchy) -> None:  # noqa: ANN001
    with graph.lock:
        mg = graph.modes[Travel.CAR]
        mg.ch, mg.up = ch, None


def load_hierarchy(graph, cache_dir: str | Path) -> bool:  # noqa: ANN001
    """Attach the car graph's hierarchy if its cache file exists (never builds; for the
    console). True when the graph has one now."""
    if graph.modes[Travel.CAR].ch is not None:
        return True
    if graph.node_count < CH_MIN_NODES:
        return False
    ch = _read(hierarchy_path(graph, cache_dir), graph.node_count)
    if ch is None:
        return False
    _attach(graph, ch)
    return True


def ensure_hierarchy(graph, cache_dir: str | Path, rebuild: bool = False) -> bool:  # noqa: ANN001
    """Attach the car graph's hierarchy: loaded from its cache file, or built (minutes on
    a city: never in the console's process) and written there. False, doing nothing,
    for a graph below CH_MIN_NODES (the recommendation would not use it)."""
    if graph.node_count < CH_MIN_NODES:
        return False
    if not rebuild and load_hierarchy(graph, cache_dir):
        return True
    ch = build(graph.modes[Travel.CAR].rev)
    path = hierarchy_path(graph, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, allow_pickle=False, format=np.array([CH_FORMAT]), **ch.arrays(""))
    os.replace(tmp, path)
    _attach(graph, ch)
    return True
