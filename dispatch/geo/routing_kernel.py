"""A resumable Dijkstra over a CSR graph, compiled with numba when it is installed.

Why not scipy.sparse.csgraph.dijkstra for the search: each call allocates and fills
O(N) work arrays (about 70 MB for 1,000,000 nodes: 2-18 ms before the first node is
settled) and a doubled limit restarts from scratch. Here the work arrays live in a
`Workspace` per graph, are reset only where the last search touched them, and a search
stopped at a time limit resumes where it stopped when the limit doubles. The kernels
are compiled on first use and cached on disk (the user cache directory); compile them
ahead with dispatch.geo.warmup.compile_kernels.

Heap: an indexed 4-ary heap (decrease-key). `pos[v]`: -1 never seen, -2 settled, >= 0
index in the heap. The key is g + h (A*): g the time from the node to the source, h a
consistent lower bound of the time still to go to the nearest target (straight line
to the nearest target at a speed no road edge exceeds, plus the smallest snap leg;
h = 0 without targets for it). With a consistent h a settled node's g is exact, and an
unsettled target's ETA is at least the heap top, so the stopping rules hold as they do
for plain Dijkstra, while nodes away from every target are left alone. A target that
is settled (or can no longer rank) stops guiding: the bound grows, which any consistent
bound may do between two settled nodes; the keys already in the heap are then lower
bounds, re-evaluated when they reach the top (`hver`: the bound version of `hval`).
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
def _sift_up(hn, hk, pos, i, node, key):
    """Place (node, key) at heap slot i or above (4-ary heap)."""
    while i > 0:
        parent = (i - 1) >> 2
        if hk[parent] <= key:
            break
        hn[i] = hn[parent]
        hk[i] = hk[parent]
        pos[hn[i]] = i
        i = parent
    hn[i] = node
    hk[i] = key
    pos[node] = i


@njit(cache=True, nogil=True, inline="always")
def _sift_down(hn, hk, pos, size, node, key):
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
        pos[hn[i]] = i
        i = m
    hn[i] = node
    hk[i] = key
    pos[node] = i


@njit(cache=True, nogil=True, inline="always")
def _h(x, y, gx, gy, gn, hc, hmin, v, to_lm, from_lm, gto, gfrom, alt):
    """Lower bound of the time from the nearest guiding target to node v (0: none):
    per target the larger of the straight line at top speed and the landmark (ALT)
    bound max_j max(t(target->Lj) - t(v->Lj), t(Lj->v) - t(Lj->target))."""
    if gn == 0:
        return 0.0
    m = np.inf
    vx, vy = x[v], y[v]
    nl = to_lm.shape[1]
    for k in range(gn):
        dx = gx[k] - vx
        dy = gy[k] - vy
        e = hc * np.sqrt(dx * dx + dy * dy)
        if e >= m:
            continue  # this target's bound is at least e: it cannot lower the minimum
        if nl > 0 and alt > 0.0:
            stop = m / alt
            a = 0.0
            for j in range(nl):
                a = max(a, gto[k, j] - to_lm[v, j], from_lm[v, j] - gfrom[k, j])
                if a >= stop:
                    break
            e = max(e, a * alt)
        m = min(m, e)
    return m + hmin


@njit(cache=True, nogil=True)
def _compact(hx, hy, gx, gy, hto, hfrom, gto, gfrom):
    """Copy the targets still guiding (coordinate < FAR) to the front of gx, gy (and
    their landmark times to the front of gto, gfrom)."""
    gn = 0
    for j in range(hx.shape[0]):
        if hx[j] < FAR:
            gx[gn] = hx[j]
            gy[gn] = hy[j]
            for c in range(hto.shape[1]):
                gto[gn, c] = hto[j, c]
                gfrom[gn, c] = hfrom[j, c]
            gn += 1
    return gn


@njit(cache=True, nogil=True)
def _reset(dist, pred, pos, touched, state, source):
    for t in range(state[1]):
        v = touched[t]
        dist[v] = np.inf
        pred[v] = -9999
        pos[v] = -1
    state[0] = 0
    state[1] = 0
    dist[source] = 0.0
    touched[0] = source
    state[1] = 1


@njit(cache=True, nogil=True)
def _push_source(hn, hk, pos, state, source):
    hn[0] = source
    hk[0] = 0.0
    pos[source] = 0
    state[0] = 1


@njit(cache=True, nogil=True)
def _run(indptr, indices, data, dist, pred, pos, hn, hk, state, touched,
         tfirst, tnode, textra, tcount, tlive, teta, best, need, limit,
         x, y, hx, hy, gx, gy, hc, hmin, hval, hver, to_lm, from_lm, hto, hfrom, gto, gfrom, alt):
    """Settle nodes in order of time until the heap top exceeds `limit` (STOP_LIMIT),
    reaches the need-th best counting ETA in `best` or every live target (one that
    could still rank) is settled (STOP_KTH), or the heap is empty (STOP_EMPTY)."""
    ntarget = tnode.shape[0]
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
        if hc > 0.0 and hver[u] != ver:
            # its bound dates from before a target stopped guiding: it may have grown
            # (the keys in the heap stay lower bounds, so the top is still the minimum)
            hver[u] = ver
            h = _h(x, y, gx, gy, gn, hc, hmin, u, to_lm, from_lm, gto, gfrom, alt)
            if h > hval[u]:
                hval[u] = h
                _sift_down(hn, hk, pos, size, u, dist[u] + h)
                continue
        size -= 1
        pos[u] = -2
        if size > 0:
            _sift_down(hn, hk, pos, size, hn[size], hk[size])
        g = dist[u]
        rekey = False
        j = tfirst[u]
        if j >= 0:
            while j < ntarget and tnode[j] == u:
                eta = g + textra[j]
                teta[j] = eta
                if tlive[j]:
                    tlive[j] = False
                    live -= 1
                if hc > 0.0 and hx[j] < FAR:
                    hx[j] = FAR  # settled: it guides no more
                    hy[j] = FAR
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
                j += 1
            if rekey:
                gn = _compact(hx, hy, gx, gy, hto, hfrom, gto, gfrom)
                ver += 1
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            p = pos[v]
            if p == -2:
                continue
            nd = g + data[e]
            if nd < dist[v]:
                if p == -1:
                    touched[ntouched] = v
                    ntouched += 1
                    p = size
                    size += 1
                    hval[v] = _h(x, y, gx, gy, gn, hc, hmin, v, to_lm, from_lm, gto, gfrom, alt)
                    hver[v] = ver
                dist[v] = nd
                pred[v] = u
                _sift_up(hn, hk, pos, p, v, nd + hval[v])
    state[0], state[1], state[2], state[3] = size, ntouched, nbest, live
    state[4], state[5] = ver, gn
    return why


@njit(cache=True, nogil=True)
def _walk(pred, start, target, out):
    n = 0
    v = start
    out[n] = v
    n += 1
    while v != target:
        v = pred[v]
        if v < 0 or n >= out.shape[0]:
            return -1
        out[n] = v
        n += 1
    return n


class Workspace:
    """Work arrays of searches on one CSR graph (reused between searches; one search
    at a time: hold `lock`)."""

    def __init__(self, rev, x: np.ndarray | None = None, y: np.ndarray | None = None,
                 to_lm: np.ndarray | None = None, from_lm: np.ndarray | None = None) -> None:
        n = rev.shape[0]
        self.indptr = rev.indptr.astype(np.int32 if rev.nnz < 2**31 - 1 else np.int64)
        self.indices = rev.indices.astype(np.int32)
        self.data = rev.data.astype(np.float64)
        self.n = n
        self.dist = np.full(n, np.inf)
        self.pred = np.full(n, -9999, np.int32)
        self.pos = np.full(n, -1, np.int32)
        self.hn = np.zeros(n, np.int32)
        self.hk = np.zeros(n, np.float64)
        self.touched = np.zeros(n, np.int32)
        self.tfirst = np.full(n, -1, np.int32)
        # heap size, touched count, best count, live, bound version, guiding targets
        self.state = np.zeros(6, np.int64)
        self.lock = threading.RLock()
        self._tnode = np.zeros(0, np.int32)
        # node coordinates in metres (for the A* bound; None: plain Dijkstra)
        self.x = np.zeros(n) if x is None else np.ascontiguousarray(x, np.float64)
        self.y = np.zeros(n) if y is None else np.ascontiguousarray(y, np.float64)
        self.hval = np.zeros(n)
        self.hver = np.zeros(n, np.int64)  # bound version of hval (lazy re-evaluation)
        self._hx = self._hy = self._gx = self._gy = np.zeros(0)
        self._hc = self._hmin = 0.0
        # landmark times (n, K) for the ALT bound (K = 0: straight line only)
        self.to_lm = np.zeros((n, 0)) if to_lm is None else np.ascontiguousarray(to_lm, np.float64)
        self.from_lm = np.zeros((n, 0)) if from_lm is None else np.ascontiguousarray(from_lm, np.float64)
        self._hto = self._hfrom = self._gto = self._gfrom = np.zeros((0, self.to_lm.shape[1]))

    def start(self, source: int, tnode: np.ndarray, textra: np.ndarray,
              tcount: np.ndarray, tlb: np.ndarray | None = None,
              guide: float | None = None) -> np.ndarray:
        """Begin a search from `source` toward targets sorted by node; `tlb` is a lower
        bound of each target's ETA (a target whose bound is not below the need-th best
        ETA cannot rank: the search need not wait for it). `guide` (seconds per metre)
        turns on the A* bound toward the targets still live: it must not exceed any
        edge's seconds per metre of straight line, or results are wrong.
        Returns the per-target ETA array (inf until the target's node is settled)."""
        if guide is not None and len(tnode):
            self._hx, self._hy = self.x[tnode], self.y[tnode]
            self._gx, self._gy = self._hx.copy(), self._hy.copy()
            self._hc, self._hmin = float(guide), max(0.0, float(np.min(textra)))
            self._hto, self._hfrom = self.to_lm[tnode], self.from_lm[tnode]
            self._gto, self._gfrom = self._hto.copy(), self._hfrom.copy()
        else:
            self._hx = self._hy = self._gx = self._gy = np.zeros(0)
            self._hc = self._hmin = 0.0
            self._hto = self._hfrom = self._gto = self._gfrom = np.zeros((0, self.to_lm.shape[1]))
        self._tlb = np.zeros(len(tnode)) if tlb is None else tlb
        self._tlive = np.zeros(len(tnode), bool)
        self.tfirst[self._tnode] = -1
        _reset(self.dist, self.pred, self.pos, self.touched, self.state, source)
        _push_source(self.hn, self.hk, self.pos, self.state, source)
        self.state[4] += 1
        self.state[5] = len(self._gx)
        self._tnode = tnode
        self._textra = textra
        self._tcount = tcount
        if len(tnode):
            first = np.ones(len(tnode), bool)
            first[1:] = tnode[1:] != tnode[:-1]
            self.tfirst[tnode[first]] = np.flatnonzero(first)
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
            self._hy[~self._tlive] = FAR
            self.state[5] = _compact(self._hx, self._hy, self._gx, self._gy,
                                     self._hto, self._hfrom, self._gto, self._gfrom)
            self.state[4] += 1
        why = _run(self.indptr, self.indices, self.data, self.dist, self.pred, self.pos,
                   self.hn, self.hk, self.state, self.touched, self.tfirst, self._tnode,
                   self._textra, self._tcount, self._tlive, self.teta, best, need,
                   float(limit), self.x, self.y, self._hx, self._hy, self._gx, self._gy,
                   self._hc, self._hmin, self.hval, self.hver, self.to_lm, self.from_lm,
                   self._hto, self._hfrom, self._gto, self._gfrom, ALT_SLACK)
        return int(why), int(self.state[2])

    def path(self, start: int, target: int) -> list[int]:
        """Nodes from `start` to the search source (`target`) along predecessors."""
        out = np.empty(min(self.n, max(16, int(self.state[1]) + 1)), np.int32)
        n = _walk(self.pred, start, target, out)
        if n < 0:
            return []
        return out[:n].tolist()
