"""A resumable Dijkstra over a CSR graph, compiled with numba when it is installed.

Why not scipy.sparse.csgraph.dijkstra for the search: each call allocates and fills
O(N) work arrays (about 70 MB for 1,000,000 nodes: 2-18 ms before the first node is
settled) and a doubled limit restarts from scratch. Here the work arrays live in a
`Workspace` per graph, are reset only where the last search touched them, and a search
stopped at a time limit resumes where it stopped when the limit is raised. The kernels
are compiled on first use and cached on disk (the user cache directory); compile them
ahead with dispatch.geo.warmup.compile_kernels.

Heap: an indexed 4-ary heap (decrease-key). `it[v, 0]`: -1 never seen, -2 settled, >= 0
index in the heap. The key is g + h (A*): g the time from the node to the source, h a
consistent lower bound of the time still to go to the nearest target (straight line
to the nearest target at a speed no road edge exceeds, plus the smallest snap leg;
h = 0 without targets for it). With a consistent h a settled node's g is exact, and an
unsettled target's ETA is at least the heap top, so the stopping rules hold as they do
for plain Dijkstra, while nodes away from every target are left alone. A target that
is settled (or can no longer rank) stops guiding: the bound grows, which any consistent
bound may do between two settled nodes; the keys already in the heap are then lower
bounds, re-evaluated when they reach the top (`it[v, 2]`: the bound version of `fl[v, 1]`).
"""
from __future__ import annotations

import os
import threading

import numpy as np


def _numba_cache_dir() -> None:
    """Compiled kernels go to the user cache directory (not beside the sources: an
    installed package may be read-only), unless NUMBA_CACHE_DIR says otherwise. Must
    run before numba is imported."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        import platformdirs
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(
            platformdirs.user_cache_dir("dispatch-console"), "numba")


_numba_cache_dir()
from numba import njit  # noqa: E402  (after the cache directory is set)

STOP_KTH, STOP_LIMIT, STOP_EMPTY = 0, 1, 2
ALT_SLACK = 1 - 1e-6  # float rounding of landmark differences: keeps the bound consistent
FAR = 1e15  # coordinate of a target that no longer guides the search


@njit(cache=True, nogil=True, inline="always")
def _sift_up(hn, hk, it, i, node, key):
    """Place (node, key) at heap slot i or above (4-ary heap)."""
    while i > 0:
        parent = (i - 1) >> 2
        if hk[parent] <= key:
            break
        hn[i] = hn[parent]
        hk[i] = hk[parent]
        it[hn[i], 0] = i
        i = parent
    hn[i] = node
    hk[i] = key
    it[node, 0] = i


@njit(cache=True, nogil=True, inline="always")
def _sift_down(hn, hk, it, size, node, key):
    """Place (node, key) at the root or below (4-ary heap of `size` entries)."""
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        mk = hk[c]
        end = min(c + 4, size)
        for cc in range(c + 1, end):
            if hk[cc] < mk:
                mk = hk[cc]
                m = cc
        if mk >= key:
            break
        hn[i] = hn[m]
        hk[i] = mk
        it[hn[i], 0] = i
        i = m
    hn[i] = node
    hk[i] = key
    it[node, 0] = i


@njit(cache=True, nogil=True, inline="always")
def _h(glm, gn, hc, hmin, v, lm, alt):
    """Lower bound of the time from the nearest guiding target to node v (0: none):
    per target the larger of the straight line at top speed and the landmark (ALT)
    bound max_j max(t(target->Lj) - t(v->Lj), t(Lj->v) - t(Lj->target)). `lm[v]` is
    node v's row: x, y, its K times to the landmarks, its K times from them (one or
    two cache lines per node); `glm` the rows of the guiding targets, nearest first
    (by their bound at the source), so the minimum is found early and the other
    targets are mostly passed over on the squared straight line alone."""
    if gn == 0:
        return 0.0
    m = np.inf
    m2 = np.inf
    vx, vy = lm[v, 0], lm[v, 1]
    nl = (lm.shape[1] - 2) >> 1
    hc2 = hc * hc
    for k in range(gn):
        dx = glm[k, 0] - vx
        dy = glm[k, 1] - vy
        e2 = hc2 * (dx * dx + dy * dy)
        if e2 >= m2:
            continue  # this target's bound is at least its straight line, above the minimum
        e = np.sqrt(e2)
        if nl > 0 and alt > 0.0:
            stop = m / alt
            a = 0.0
            for j in range(2, nl + 2):
                a = max(a, glm[k, j] - lm[v, j], lm[v, nl + j] - glm[k, nl + j])
                if a >= stop:
                    break
            e = max(e, a * alt)
        if e < m:
            m = e
            # squared with a margin: a target skipped on e2 >= m2 has e > m for sure
            m2 = e * e * (1.0 + 1e-9)
    return m + hmin


@njit(cache=True, nogil=True)
def _compact(hx, hlm, glm, order):
    """Copy the rows of the targets still guiding (hx < FAR) to the front of glm, in
    `order` (nearest first); their count."""
    gn = 0
    for i in range(order.shape[0]):
        j = order[i]
        if hx[j] < FAR:
            for c in range(hlm.shape[1]):
                glm[gn, c] = hlm[j, c]
            gn += 1
    return gn


@njit(cache=True, nogil=True)
def lower_bounds(rows, srow, lb_slack, max_mps, extra, alt):
    """Per target, from its node's row rows[i] (x, y, K times to the landmarks, K from
    them, as Workspace.lm), a lower bound of its time to the node of row `srow`, plus
    extra[i]: the larger of the straight line at `max_mps` (times `lb_slack`) and the
    landmark (ALT) bound max_j max(t(v->Lj) - t(src->Lj), t(Lj->src) - t(Lj->v)), at
    least 0, times `alt`. The same operations, in the same order, as the numpy reading
    (routing.alt_bound and the straight line)."""
    n = rows.shape[0]
    k = (rows.shape[1] - 2) >> 1
    out = np.empty(n)
    sx, sy = srow[0], srow[1]
    for i in range(n):
        gap = np.hypot(rows[i, 0] - sx, rows[i, 1] - sy) * lb_slack / max_mps
        if k > 0:
            best = 0.0
            for j in range(2, k + 2):
                a = rows[i, j] - srow[j]
                b = srow[k + j] - rows[i, k + j]
                best = max(best, max(a, b))
            best *= alt
            if best > gap:
                gap = best
        out[i] = gap + extra[i]
    return out


@njit(cache=True, nogil=True)
def _refresh_rows(rows, last, nodes, lm):
    """rows[i] = lm[nodes[i]] where nodes[i] != last[i], and last[i] = nodes[i]."""
    for i in range(nodes.shape[0]):
        v = nodes[i]
        if v != last[i]:
            last[i] = v
            for c in range(lm.shape[1]):
                rows[i, c] = lm[v, c]


@njit(cache=True, nogil=True)
def _reset(fl, it, touched, state, source):
    for t in range(state[1]):
        v = touched[t]
        fl[v, 0] = np.inf
        it[v, 0] = -1
        it[v, 1] = -9999
    state[0] = 0
    state[1] = 0
    fl[source, 0] = 0.0
    touched[0] = source
    state[1] = 1


@njit(cache=True, nogil=True)
def _push_source(hn, hk, it, state, source):
    hn[0] = source
    hk[0] = 0.0
    it[source, 0] = 0
    state[0] = 1


@njit(cache=True, nogil=True)
def _begin(fl, it, touched, state, hn, hk, source, old, tnode, tnext):
    """One call for a new search: unmark the last search's targets (`old`), reset what
    it touched, push the source, and chain the targets by node: it[v, 3] the first
    target at node v, tnext[j] the next one at the same node (-1: none), in index order
    (the targets need not be sorted)."""
    for j in range(old.shape[0]):
        it[old[j], 3] = -1
    _reset(fl, it, touched, state, source)
    _push_source(hn, hk, it, state, source)
    for j in range(tnode.shape[0] - 1, -1, -1):
        v = tnode[j]
        tnext[j] = it[v, 3]
        it[v, 3] = j


@njit(cache=True, nogil=True)
def _run(indptr, indices, data, fl, it, hn, hk, state, touched,
         tnext, textra, tcount, tlive, teta, best, need, limit,
         hx, hc, hmin, lm, hlm, glm, gorder, alt):
    """Settle nodes in order of time until the heap top exceeds `limit` (STOP_LIMIT),
    reaches the need-th best counting ETA in `best` or every live target (one that
    could still rank) is settled (STOP_KTH), or the heap is empty (STOP_EMPTY).
    Per node: fl[v] = (time to the source, bound), it[v] = (heap slot or -1 never seen
    or -2 settled, predecessor, bound version, first target index or -1); the other
    targets at the node follow by tnext."""
    size, ntouched, nbest, live = state[0], state[1], state[2], state[3]
    ver, gn = state[4], state[5]
    why = 2
    while size > 0:
        d = hk[0]
        if (nbest >= need and d >= best[need - 1]) or live <= 0:
            why = 0
            break
        if d > limit:
            why = 1
            break
        u = hn[0]
        if hc > 0.0 and it[u, 2] != ver:
            # its bound dates from before a target stopped guiding: it may have grown
            # (the keys in the heap stay lower bounds, so the top is still the minimum)
            it[u, 2] = ver
            h = _h(glm, gn, hc, hmin, u, lm, alt)
            if h > fl[u, 1]:
                fl[u, 1] = h
                _sift_down(hn, hk, it, size, u, fl[u, 0] + h)
                continue
        size -= 1
        it[u, 0] = -2
        if size > 0:
            _sift_down(hn, hk, it, size, hn[size], hk[size])
        g = fl[u, 0]
        j = it[u, 3]
        if j >= 0:
            rekey = False
            while j >= 0:
                eta = g + textra[j]
                teta[j] = eta
                if tlive[j]:
                    tlive[j] = False
                    live -= 1
                if hc > 0.0 and hx[j] < FAR:
                    hx[j] = FAR  # settled: it guides no more
                    rekey = True
                if tcount[j]:
                    k = nbest if nbest < need else need - 1
                    if nbest < need or eta < best[k]:
                        while k > 0 and best[k - 1] > eta:
                            best[k] = best[k - 1]
                            k -= 1
                        best[k] = eta
                        if nbest < need:
                            nbest += 1
                j = tnext[j]
            if rekey:
                gn = _compact(hx, hlm, glm, gorder)
                ver += 1
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            p = it[v, 0]
            if p == -2:
                continue
            nd = g + data[e]
            if nd < fl[v, 0]:
                if p == -1:
                    h = _h(glm, gn, hc, hmin, v, lm, alt)
                    if nbest >= need and nd + h >= best[need - 1]:
                        continue  # could never be settled before the search stops: no push
                    touched[ntouched] = v
                    ntouched += 1
                    p = size
                    size += 1
                    fl[v, 1] = h
                    it[v, 2] = ver
                elif nbest >= need and nd + fl[v, 1] >= best[need - 1]:
                    continue  # nor could it at the lower key
                fl[v, 0] = nd
                it[v, 1] = u
                _sift_up(hn, hk, it, p, v, nd + fl[v, 1])
    state[0], state[1], state[2], state[3] = size, ntouched, nbest, live
    state[4], state[5] = ver, gn
    return why


@njit(cache=True, nogil=True)
def _walk(it, start, target, out):
    n = 0
    v = start
    out[n] = v
    n += 1
    while v != target:
        v = it[v, 1]
        if v < 0 or n >= out.shape[0]:
            return -1
        out[n] = v
        n += 1
    return n


class Workspace:
    """Work arrays of searches on one CSR graph (reused between searches; one search
    at a time: hold `lock`). What a search reads and writes of one node lies together:
    fl[v] (time, bound), it[v] (heap slot, predecessor, bound version, first target)
    and lm[v] (x, y, landmark times)."""

    def __init__(self, rev, x: np.ndarray | None = None, y: np.ndarray | None = None,
                 to_lm: np.ndarray | None = None, from_lm: np.ndarray | None = None) -> None:
        n = rev.shape[0]
        # node and edge numbers read in the search's inner loop (edge ranges and heads, the
        # heap, touched nodes) are unsigned: an unsigned index needs no check for a
        # negative (wrap-around) index (about 13 % of the search's instructions)
        self.indptr = rev.indptr.astype(np.uint32 if rev.nnz < 2**32 - 1 else np.int64)
        self.indices = rev.indices.astype(np.uint32)
        self.data = rev.data.astype(np.float64)
        self.n = n
        self.fl = np.zeros((n, 2))
        self.fl[:, 0] = np.inf
        self.it = np.empty((n, 4), np.int32)
        self.it[:, 0] = -1       # heap slot; -1 never seen, -2 settled
        self.it[:, 1] = -9999    # predecessor
        self.it[:, 2] = 0        # bound version of fl[v, 1] (lazy re-evaluation)
        self.it[:, 3] = -1       # index of the node's first target
        self.hn = np.zeros(n, np.uint32)
        self.hk = np.zeros(n, np.float64)
        self.touched = np.zeros(n, np.uint32)
        # heap size, touched count, best count, live, bound version, guiding targets
        self.state = np.zeros(6, np.int64)
        self.lock = threading.RLock()
        self._tnode = np.zeros(0, np.int64)
        self._hx = np.zeros(0)
        self._hc = self._hmin = 0.0
        # one row per node: x, y in metres (for the A* bound; zeros: plain Dijkstra),
        # its K landmark times to, its K from (K = 0: straight line only); to_lm and
        # from_lm are views of those columns
        k = 0 if to_lm is None else to_lm.shape[1]
        self.lm = np.zeros((n, 2 + 2 * k))
        if x is not None and y is not None:
            self.lm[:, 0], self.lm[:, 1] = x, y
        if k:
            self.lm[:, 2:2 + k] = to_lm
            self.lm[:, 2 + k:] = from_lm
        self.to_lm, self.from_lm = self.lm[:, 2:2 + k], self.lm[:, 2 + k:]
        self._hlm = self._glm = np.zeros((0, 2 + 2 * k))
        self._gorder = np.zeros(0, np.int64)
        self._rows_of = (np.zeros(0, np.int64), self.lm[:0].copy())  # target_rows' nodes and rows

    def target_rows(self, nodes: np.ndarray) -> np.ndarray:
        """lm[nodes] (read-only, valid until the next call): the rows of the last call's
        nodes are kept, and only those of nodes that changed at their index are read
        again (units report one by one: the usual F5 reads a few rows, not thousands
        scattered over the graph's arrays)."""
        last, rows = self._rows_of
        if len(last) != len(nodes):
            last, rows = np.full(len(nodes), -1, np.int64), np.empty((len(nodes), self.lm.shape[1]))
            self._rows_of = (last, rows)
        _refresh_rows(rows, last, nodes, self.lm)
        return rows

    def start(self, source: int, tnode: np.ndarray, textra: np.ndarray,
              tcount: np.ndarray, tlb: np.ndarray | None = None,
              guide: float | None = None) -> np.ndarray:
        """Begin a search from `source` toward targets (node indices in any order, several
        may share a node); `tlb` is a lower bound of each target's ETA (a target whose
        bound is not below the need-th best ETA cannot rank: the search need not wait
        for it). `guide` (seconds per metre) turns on the A* bound toward the targets
        still live: it must not exceed any edge's seconds per metre of straight line, or
        results are wrong. Returns the per-target ETA array (inf until the target's node
        is settled)."""
        tnode = np.asarray(tnode, np.int64)
        if guide is not None and len(tnode):
            self._hx = self.lm[tnode, 0].copy()
            self._hc, self._hmin = float(guide), max(0.0, float(np.min(textra)))
            self._hlm = self.lm[tnode]
            self._glm = self._hlm.copy()
            # guiding targets nearest first (by their lower bound): see _h
            self._gorder = (np.argsort(tlb, kind="stable") if tlb is not None
                            else np.arange(len(tnode))).astype(np.int64)
            _compact(self._hx, self._hlm, self._glm, self._gorder)
        else:
            self._hx = np.zeros(0)
            self._hc = self._hmin = 0.0
            self._hlm = self._glm = np.zeros((0, self.lm.shape[1]))
            self._gorder = np.zeros(0, np.int64)
        self._tlb = np.zeros(len(tnode)) if tlb is None else tlb
        self._tlive = np.zeros(len(tnode), bool)
        self._tnext = np.empty(len(tnode), np.int64)
        _begin(self.fl, self.it, self.touched, self.state, self.hn, self.hk, source, self._tnode,
               tnode, self._tnext)
        self.state[4] += 1
        self.state[5] = len(self._gorder)
        self._tnode = tnode
        self._textra = textra
        self._tcount = tcount
        self.teta = np.full(len(tnode), np.inf)
        return self.teta

    def run(self, best: np.ndarray, nbest: int, need: int, limit: float) -> tuple[int, int]:
        """Resume the search; `best` holds the `nbest` best counting ETAs so far (shared
        between modes). Returns (stop reason, new nbest)."""
        self.state[2] = nbest
        kth = best[need - 1] if nbest >= need else np.inf
        np.logical_and(self._tlb < kth, ~np.isfinite(self.teta), out=self._tlive)
        live = int(self._tlive.sum())
        if live == 0:
            return STOP_KTH, nbest
        self.state[3] = live
        if self._hc > 0 and live < int(self.state[5]):
            # settled or hopeless targets no longer guide: a tighter (still consistent)
            # bound; keys in the heap are re-evaluated lazily when they reach the top
            self._hx[~self._tlive] = FAR
            self.state[5] = _compact(self._hx, self._hlm, self._glm, self._gorder)
            self.state[4] += 1
        why = _run(self.indptr, self.indices, self.data, self.fl, self.it, self.hn, self.hk,
                   self.state, self.touched, self._tnext, self._textra, self._tcount,
                   self._tlive, self.teta, best, need, float(limit), self._hx, self._hc,
                   self._hmin, self.lm, self._hlm, self._glm, self._gorder, ALT_SLACK)
        return int(why), int(self.state[2])

    def path(self, start: int, target: int) -> list[int]:
        """Nodes from `start` to the search source (`target`) along predecessors."""
        out = np.empty(min(self.n, max(16, int(self.state[1]) + 1)), np.int32)
        n = _walk(self.it, start, target, out)
        if n < 0:
            return []
        return out[:n].tolist()
