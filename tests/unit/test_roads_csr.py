"""The reversed CSR graph of the road segments (one int64 key per edge, sorted once)
equals the plain reading edge by edge: row = head, the smallest weight of parallel edges
(floored at the smallest edge time), no self-loops, columns sorted in each row; with a
selection of segments, two-way segments and NaN weights."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dispatch.geo.roads import _MIN_EDGE_S, _reversed_csr


def _plain(u, v, w, both, n, sel=None) -> dict[tuple[int, int], float]:
    best: dict[tuple[int, int], float] = {}
    for i in range(len(u)):
        if sel is not None and not sel[i]:
            continue
        pairs = [(int(v[i]), int(u[i]))] + ([(int(u[i]), int(v[i]))] if both[i] else [])
        for head, tail in pairs:
            if head == tail:
                continue
            x = max(float(w[i]), _MIN_EDGE_S) if not math.isnan(w[i]) else math.nan
            old = best.get((head, tail))
            if old is None or math.isnan(old) or (not math.isnan(x) and x < old):
                best[(head, tail)] = x
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("with_sel", [False, True])
def test_reversed_csr_equals_the_plain_reading(seed, with_sel):
    rng = np.random.default_rng(seed)
    n, m = 40, 400  # dense enough for many parallel edges and some self-loops
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    w = rng.choice([0.0, 1e-4, 0.5, 2.0, 7.25, 30.0], m)
    w[rng.random(m) < 0.03] = np.nan
    both = rng.random(m) < 0.5
    sel = rng.random(m) < 0.7 if with_sel else None
    csr = _reversed_csr(u, v, w, both, n, sel)
    assert csr.indptr.dtype == np.int32 and csr.indices.dtype == np.int32 and csr.data.dtype == np.float64
    want = _plain(u, v, w, both, n, sel)
    got = {}
    for head in range(n):
        cols = csr.indices[csr.indptr[head]:csr.indptr[head + 1]]
        assert np.all(np.diff(cols) > 0)  # sorted, one entry a pair
        for k in range(csr.indptr[head], csr.indptr[head + 1]):
            got[(head, int(csr.indices[k]))] = float(csr.data[k])
    assert got.keys() == want.keys()
    for key, x in want.items():
        assert (math.isnan(x) and math.isnan(got[key])) or got[key] == x, key


def test_reversed_csr_of_nothing():
    csr = _reversed_csr(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool), 3)
    assert csr.shape == (3, 3) and csr.nnz == 0 and list(csr.indptr) == [0, 0, 0, 0]
