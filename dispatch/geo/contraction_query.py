"""Travel times to one incident from a few units on the contraction hierarchy.

The backward upward search from the incident's node (every node it reaches, with its
time to the incident) is met with each unit's forward upward search space: ETA = min
over v of up_f(unit, v) + up_b(v, incident). A unit's forward space depends on its
node only, so it is kept (`UpSpaces`, per node, the oldest dropped first) while the
unit stays put. Exact for every unit, not only the ranked ones. The route of a unit is
its two upward paths joined at the meeting node, shortcuts unpacked into road nodes.
"""
from __future__ import annotations

import numpy as np

from dispatch.geo.contraction import Hierarchy
from dispatch.geo.contraction_kernels import _hpop, _hpush
from numba import njit  # noqa: E402  (numba's cache directory is set by routing_kernel)

SPACES_KEPT = 4096  # forward search spaces kept (one per unit node)


@njit(cache=True, nogil=True)
def _up_search(ptr, nbr, w, source, dist, pred, pedge, touched, hk, hv):
    """Every node reachable upward from `source`, by Dijkstra: dist, predecessor and
    the edge used; returns how many (their ids in `touched`, in order of discovery),
    or -1 when the heap `hk`/`hv` is too small (dist is then to be reset by touched)."""
    nt = 0
    dist[source] = 0.0
    pred[source] = -1
    pedge[source] = -1
    touched[nt] = source
    nt += 1
    hk[0], hv[0] = 0.0, source
    size = 1
    while size > 0:
        d, a = hk[0], hv[0]
        size = _hpop(hk, hv, size)
        if d > dist[a]:
            continue
        for e in range(ptr[a], ptr[a + 1]):
            b = nbr[e]
            nd = d + w[e]
            if nd < dist[b]:
                if dist[b] == np.inf:
                    touched[nt] = b
                    nt += 1
                dist[b] = nd
                pred[b] = a
                pedge[b] = e
                if size >= hk.shape[0]:
                    return -1  # heap full: the caller gives more room and repeats
                size = _hpush(hk, hv, size, nd, b)
    return nt


@njit(cache=True, nogil=True)
def _space(nt, touched, dist, pred, pedge, pos):
    """The forward space just searched as arrays (node, time, index of the predecessor
    entry, edge used); resets dist for the next search."""
    nodes = touched[:nt].copy()
    times = np.empty(nt)
    back = np.empty(nt, np.int32)
    edge = np.empty(nt, np.int32)
    for i in range(nt):
        pos[nodes[i]] = i
    for i in range(nt):
        v = nodes[i]
        times[i] = dist[v]
        back[i] = pos[pred[v]] if pred[v] >= 0 else -1
        edge[i] = pedge[v]
        dist[v] = np.inf
    return nodes, times, back, edge


@njit(cache=True, nogil=True)
def _meet(starts, nodes, times, bdist):
    """Per space k (entries starts[k]..starts[k+1]): the smallest times[i] + bdist[node]
    and the entry where it is reached (-1: none)."""
    k_n = starts.shape[0] - 1
    best = np.full(k_n, np.inf)
    at = np.full(k_n, -1, np.int64)
    for k in range(k_n):
        for i in range(starts[k], starts[k + 1]):
            t = times[i] + bdist[nodes[i]]
            if t < best[k]:
                best[k] = t
                at[k] = i - starts[k]
    return best, at


@njit(cache=True, nogil=True)
def _find(ptr, nbr, row, other):
    for e in range(ptr[row], ptr[row + 1]):
        if nbr[e] == other:
            return e
    return -1


@njit(cache=True, nogil=True)
def _unpack(a, b, mid, fptr, fnbr, fmid, bptr, bnbr, bmid, out, n):
    """Append the road nodes after `a` up to `b` of the edge a -> b (middle `mid`)."""
    sa = np.empty(4096, np.int64)
    sb = np.empty(4096, np.int64)
    sm = np.empty(4096, np.int64)
    top = 0
    sa[0], sb[0], sm[0] = a, b, mid
    top = 1
    while top > 0:
        top -= 1
        x, y, c = sa[top], sb[top], sm[top]
        if c < 0:
            out[n] = y
            n += 1
            continue
        # x -> c is stored at c going up backward, c -> y at c going up forward;
        # push c -> y first so that x -> c is unpacked first
        e2 = _find(fptr, fnbr, c, y)
        e1 = _find(bptr, bnbr, c, x)
        if top + 2 > sa.shape[0]:
            return -1
        sa[top], sb[top], sm[top] = c, y, fmid[e2]
        top += 1
        sa[top], sb[top], sm[top] = x, c, bmid[e1]
        top += 1
    return n


class UpSpaces:
    """Search workspace and the kept forward spaces of one hierarchy (use under the
    graph's lock)."""

    def __init__(self, ch: Hierarchy) -> None:
        n = len(ch.rank)
        self.ch = ch
        self.dist = np.full(n, np.inf)
        self.pred = np.full(n, -1, np.int32)
        self.pedge = np.full(n, -1, np.int32)
        self.touched = np.zeros(n, np.int32)
        self.pos = np.zeros(n, np.int32)
        self.hk = np.zeros(1 << 14)
        self.hv = np.zeros(1 << 14, np.int32)
        self.bdist = np.full(n, np.inf)
        self.bpred = np.full(n, -1, np.int32)
        self.bpedge = np.full(n, -1, np.int32)
        self._bt = np.zeros(n, np.int32)
        self._bn = 0
        self.kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def forward(self, node: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The forward upward space of a node (kept)."""
        space = self.kept.get(node)
        if space is None:
            ch = self.ch
            nt = self._search(ch.f_ptr, ch.f_nbr, ch.f_w, node, self.dist, self.pred, self.pedge,
                              self.touched)
            space = _space(nt, self.touched, self.dist, self.pred, self.pedge, self.pos)
            if len(self.kept) >= SPACES_KEPT:
                del self.kept[next(iter(self.kept))]
            self.kept[node] = space
        return space

    def backward(self, node: int) -> None:
        """The backward upward search from the incident's node (replaces the last)."""
        ch = self.ch
        self.bdist[self._bt[:self._bn]] = np.inf
        self._bn = self._search(ch.b_ptr, ch.b_nbr, ch.b_w, node, self.bdist, self.bpred,
                                self.bpedge, self._bt)

    def _search(self, ptr, nbr, w, node, dist, pred, pedge, touched) -> int:
        while True:
            nt = _up_search(ptr, nbr, w, node, dist, pred, pedge, touched, self.hk, self.hv)
            if nt >= 0:
                return nt
            dist[touched[:int(np.isfinite(dist).sum())]] = np.inf  # touched in discovery order
            self.hk = np.zeros(2 * len(self.hk))
            self.hv = np.zeros(len(self.hk), np.int32)

    def times(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travel time from each node to the last backward search's node, and the entry
        of its forward space where the two meet."""
        spaces = [self.forward(int(v)) for v in nodes.tolist()]
        starts = np.zeros(len(spaces) + 1, np.int64)
        np.cumsum([len(s[0]) for s in spaces], out=starts[1:])
        if not spaces:
            return np.zeros(0), np.zeros(0, np.int64)
        return _meet(starts, np.concatenate([s[0] for s in spaces]),
                     np.concatenate([s[1] for s in spaces]), self.bdist)

    def path(self, start: int, entry: int, target: int) -> list[int]:
        """Road nodes from `start` to the backward search's node `target`, meeting at
        entry `entry` of start's forward space."""
        ch = self.ch
        nodes, _t, back, edge = self.forward(start)
        up: list[int] = []
        i = entry
        while i >= 0 and back[i] >= 0:
            up.append(i)
            i = int(back[i])
        out = np.empty(len(ch.rank) + 1, np.int64)
        out[0] = start
        n = 1
        for i in reversed(up):
            e = int(edge[i])
            n = _unpack(int(nodes[back[i]]), int(nodes[i]), int(ch.f_mid[e]), ch.f_ptr, ch.f_nbr,
                        ch.f_mid, ch.b_ptr, ch.b_nbr, ch.b_mid, out, n)
        v = int(nodes[entry])
        while v != target and n > 0:
            u = int(self.bpred[v])
            e = int(self.bpedge[v])
            n = _unpack(v, u, int(ch.b_mid[e]), ch.f_ptr, ch.f_nbr, ch.f_mid, ch.b_ptr, ch.b_nbr,
                        ch.b_mid, out, n)
            v = u
        return out[:n].tolist() if n > 0 else []
