"""The numba kernels that build a contraction hierarchy (dispatch.geo.contraction):
growable arc lists per node, the witness search, the lazy priority queue."""
from __future__ import annotations

import numpy as np

from dispatch.geo import routing_kernel  # noqa: F401  (sets the numba cache directory first)
from numba import njit  # noqa: E402


# ---- growable pools -------------------------------------------------------------------
@njit(cache=True)
def _grown(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _add_arc(st, ln, cp, pn, pw, pm, top, done, u, v, w, mid):
    """Arc u -> v in u's list (a shorter one replaces a longer). A full list moves to
    the end of the pool with twice the room, dropping contracted neighbours."""
    s = st[u]
    for k in range(s, s + ln[u]):
        if pn[k] == v:
            if w < pw[k]:
                pw[k] = w
                pm[k] = mid
            return pn, pw, pm, top
    if ln[u] == cp[u]:
        cap = 2 * cp[u] + 2
        pn = _grown(pn, top + cap)
        pw = _grown(pw, top + cap)
        pm = _grown(pm, top + cap)
        j = top
        for k in range(s, s + ln[u]):
            if not done[pn[k]]:
                pn[j], pw[j], pm[j] = pn[k], pw[k], pm[k]
                j += 1
        st[u], ln[u], cp[u] = top, j - top, cap
        top += cap
    k = st[u] + ln[u]
    pn[k], pw[k], pm[k] = v, w, mid
    ln[u] += 1
    return pn, pw, pm, top


# ---- witness search (lazy binary heap) ------------------------------------------------
@njit(cache=True, inline="always")
def _hpush(hk, hv, size, key, v):
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i], hv[i] = hk[p], hv[p]
        i = p
    hk[i], hv[i] = key, v
    return size + 1


@njit(cache=True, inline="always")
def _hpop(hk, hv, size):
    size -= 1
    key, v = hk[size], hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hk[i], hv[i] = hk[c], hv[c]
        i = c
    if size > 0:
        hk[i], hv[i] = key, v
    return size


@njit(cache=True)
def _witness(ost, oln, opn, opw, done, dist, touched, hk, hv, mark, left, u, x, maxd, limit):
    """Dijkstra from u on the remaining graph without x, up to `maxd` seconds, `limit`
    settled nodes, or until the `left` marked nodes are settled; leaves dist[] set for
    the nodes it reached; returns how many."""
    nt = 0
    dist[u] = 0.0
    touched[nt] = u
    nt += 1
    hk[0], hv[0] = 0.0, u
    size = 1
    settled = 0
    while size > 0:
        d, a = hk[0], hv[0]
        size = _hpop(hk, hv, size)
        if d > dist[a]:
            continue
        if d > maxd or settled >= limit:
            break
        settled += 1
        if mark[a]:
            left -= 1
            if left <= 0:
                break
        for k in range(ost[a], ost[a] + oln[a]):
            b = opn[k]
            if b == x or done[b]:
                continue
            nd = d + opw[k]
            if nd < dist[b] and nd <= maxd:
                if dist[b] == np.inf:
                    touched[nt] = b
                    nt += 1
                dist[b] = nd
                if size >= hk.shape[0]:
                    return nt  # heap full: give up (a shortcut too many at worst)
                size = _hpush(hk, hv, size, nd, b)
    return nt


@njit(cache=True)
def _contract(x, write, ost, oln, ocp, opn, opw, opm, otop, ist, iln, icp, ipn, ipw, ipm, itop,
              done, dist, touched, hk, hv, mark, limit):
    """Shortcuts needed to contract x: counted, and added when `write`. Returns
    (added, removed, pools...)."""
    added = 0
    removed = 0
    for k in range(ost[x], ost[x] + oln[x]):
        if not done[opn[k]]:
            removed += 1
    for ki in range(ist[x], ist[x] + iln[x]):
        u = ipn[ki]
        if done[u]:
            continue
        removed += 1
        wu = ipw[ki]
        maxw = 0.0
        for k in range(ost[x], ost[x] + oln[x]):
            v = opn[k]
            if v != u and not done[v] and opw[k] > maxw:
                maxw = opw[k]
        if maxw == 0.0:
            continue
        left = 0
        for k in range(ost[x], ost[x] + oln[x]):
            v = opn[k]
            if v != u and not done[v] and not mark[v]:
                mark[v] = True
                left += 1
        nt = _witness(ost, oln, opn, opw, done, dist, touched, hk, hv, mark, left, u, x, wu + maxw, limit)
        for k in range(ost[x], ost[x] + oln[x]):
            mark[opn[k]] = False
        for k in range(ost[x], ost[x] + oln[x]):
            v = opn[k]
            if v == u or done[v]:
                continue
            w = wu + opw[k]
            if dist[v] <= w:
                continue  # a witness: no shortcut
            added += 1
            if write:
                opn, opw, opm, otop = _add_arc(ost, oln, ocp, opn, opw, opm, otop, done, u, v, w, x)
                ipn, ipw, ipm, itop = _add_arc(ist, iln, icp, ipn, ipw, ipm, itop, done, v, u, w, x)
        for t in range(nt):
            dist[touched[t]] = np.inf
    return added, removed, opn, opw, opm, otop, ipn, ipw, ipm, itop


@njit(cache=True)
def _build(n, fptr, fnbr, fw, limit, core):
    """Contract the nodes of the graph given forward (CSR fptr/fnbr/fw) but the last
    `core` (the core: every edge between two of its nodes counts as going up both
    ways). Returns the rank of each node and the upward edges (src, dst, w, mid)
    forward and backward."""
    m = fnbr.shape[0]
    ost = np.zeros(n, np.int64)
    oln = np.zeros(n, np.int64)
    ocp = np.zeros(n, np.int64)
    ist = np.zeros(n, np.int64)
    iln = np.zeros(n, np.int64)
    icp = np.zeros(n, np.int64)
    indeg = np.zeros(n, np.int64)
    for e in range(m):
        indeg[fnbr[e]] += 1
    otop = 0
    itop = 0
    for u in range(n):
        c = fptr[u + 1] - fptr[u]
        ost[u], ocp[u] = otop, 2 * c + 2
        otop += 2 * c + 2
        ist[u], icp[u] = itop, 2 * indeg[u] + 2
        itop += 2 * indeg[u] + 2
    opn = np.empty(2 * otop, np.int32)
    opw = np.empty(2 * otop, np.float64)
    opm = np.empty(2 * otop, np.int32)
    ipn = np.empty(2 * itop, np.int32)
    ipw = np.empty(2 * itop, np.float64)
    ipm = np.empty(2 * itop, np.int32)
    done = np.zeros(n, np.bool_)
    for u in range(n):
        for e in range(fptr[u], fptr[u + 1]):
            v = fnbr[e]
            k = ost[u] + oln[u]
            opn[k], opw[k], opm[k] = v, fw[e], -1
            oln[u] += 1
            k = ist[v] + iln[v]
            ipn[k], ipw[k], ipm[k] = u, fw[e], -1
            iln[v] += 1
    dist = np.full(n, np.inf)
    mark = np.zeros(n, np.bool_)
    touched = np.zeros(n, np.int32)
    hk = np.zeros(1 << 16)
    hv = np.zeros(1 << 16, np.int32)
    level = np.zeros(n, np.int64)
    deleted = np.zeros(n, np.int64)
    # priority queue of nodes (lazy: stale entries are recomputed at the top)
    qk = np.zeros(n + 16)
    qv = np.zeros(n + 16, np.int32)
    qs = 0
    for x in range(n):
        r = _contract(x, False, ost, oln, ocp, opn, opw, opm, otop, ist, iln, icp, ipn, ipw, ipm,
                      itop, done, dist, touched, hk, hv, mark, limit)
        qs = _hpush(qk, qv, qs, 2.0 * r[0] / max(r[1], 1), x)
    rank = np.zeros(n, np.int32)
    # upward edges out: src, dst, w, mid (forward); node, from, w, mid (backward)
    fs = np.zeros(m, np.int32)
    fd = np.zeros(m, np.int32)
    fwt = np.zeros(m)
    fm = np.zeros(m, np.int32)
    nf = 0
    bs = np.zeros(m, np.int32)
    bd = np.zeros(m, np.int32)
    bwt = np.zeros(m)
    bm = np.zeros(m, np.int32)
    nb = 0
    order = 0
    while qs > 0 and n - order > core:
        x = qv[0]
        qs = _hpop(qk, qv, qs)
        if done[x]:
            continue
        r = _contract(x, False, ost, oln, ocp, opn, opw, opm, otop, ist, iln, icp, ipn, ipw, ipm,
                      itop, done, dist, touched, hk, hv, mark, limit)
        prio = level[x] + deleted[x] * 0.5 + 2.0 * r[0] / max(r[1], 1)
        if qs > 0 and prio > qk[0]:
            if qs >= qk.shape[0]:
                qk = _grown(qk, qs + 1)
                qv = _grown(qv, qs + 1)
            qs = _hpush(qk, qv, qs, prio, x)
            continue
        r = _contract(x, True, ost, oln, ocp, opn, opw, opm, otop, ist, iln, icp, ipn, ipw, ipm,
                      itop, done, dist, touched, hk, hv, mark, limit)
        opn, opw, opm, otop, ipn, ipw, ipm, itop = r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]
        done[x] = True
        rank[x] = order
        order += 1
        for k in range(ost[x], ost[x] + oln[x]):
            v = opn[k]
            if done[v]:
                continue
            if nf >= fs.shape[0]:
                fs, fd, fwt, fm = _grown(fs, nf + 1), _grown(fd, nf + 1), _grown(fwt, nf + 1), _grown(fm, nf + 1)
            fs[nf], fd[nf], fwt[nf], fm[nf] = x, v, opw[k], opm[k]
            nf += 1
            level[v] = max(level[v], level[x] + 1)
            deleted[v] += 1
        for k in range(ist[x], ist[x] + iln[x]):
            u = ipn[k]
            if done[u]:
                continue
            if nb >= bs.shape[0]:
                bs, bd, bwt, bm = _grown(bs, nb + 1), _grown(bd, nb + 1), _grown(bwt, nb + 1), _grown(bm, nb + 1)
            bs[nb], bd[nb], bwt[nb], bm[nb] = x, u, ipw[k], ipm[k]
            nb += 1
            level[u] = max(level[u], level[x] + 1)
            deleted[u] += 1
    rest = np.flatnonzero(~done)
    for x in rest:
        rank[x] = order
        order += 1
        for k in range(ost[x], ost[x] + oln[x]):
            if not done[opn[k]]:
                if nf >= fs.shape[0]:
                    fs, fd, fwt, fm = _grown(fs, nf + 1), _grown(fd, nf + 1), _grown(fwt, nf + 1), _grown(fm, nf + 1)
                fs[nf], fd[nf], fwt[nf], fm[nf] = x, opn[k], opw[k], opm[k]
                nf += 1
        for k in range(ist[x], ist[x] + iln[x]):
            if not done[ipn[k]]:
                if nb >= bs.shape[0]:
                    bs, bd, bwt, bm = _grown(bs, nb + 1), _grown(bd, nb + 1), _grown(bwt, nb + 1), _grown(bm, nb + 1)
                bs[nb], bd[nb], bwt[nb], bm[nb] = x, ipn[k], ipw[k], ipm[k]
                nb += 1
    return rank, fs[:nf], fd[:nf], fwt[:nf], fm[:nf], bs[:nb], bd[:nb], bwt[:nb], bm[:nb]


