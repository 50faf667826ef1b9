"""The last entry at or before an instant in each of many runs of times at once: the
unit table's statuses and fixes (one run per unit, ascending times within each run).

One `searchsorted` of every run's key in one long sorted key array jumps across the
whole array for each run: hundreds of cache misses per run, most of a state's cost on
the first pass. Here a table made at load holds, for each time bucket and run, the
last entry before the bucket starts, so an instant's answer lies between two entries of
the table (a bucket's fixes of one unit, a handful) and a few vectorised halving steps
over the runs find it: the memory touched is the table's row and those few entries.
"""
from __future__ import annotations

import numpy as np

TABLE_CELLS = 1 << 18  # buckets × runs at most (2 MB)
MIN_BUCKET_S = 30.0


class RunIndex:
    """Runs of ascending times laid one after another in `t` (run r holds t[off[r]:off[r] + n[r]])."""

    def __init__(self, t: np.ndarray, lengths: list[int] | np.ndarray, t0: float, t1: float) -> None:
        self.t = np.ascontiguousarray(t, dtype=np.float64)
        n = np.asarray(lengths, dtype=np.int64)
        self.runs = len(n)
        self.off = np.zeros(len(n), dtype=np.int64)
        if len(n) > 1:
            np.cumsum(n[:-1], out=self.off[1:])
        self.end = self.off + n  # (exclusive)
        self.t0, span = t0, max(0.0, t1 - t0)
        nb = int(span // MIN_BUCKET_S) + 1
        nb = max(1, min(nb, TABLE_CELLS // max(1, self.runs)))
        self.nb, self.width = nb, (span + 1.0) / nb
        # last[b, r]: the last entry of run r before bucket b starts (off[r] - 1: none);
        # row nb: the run's last entry
        run_of = np.repeat(np.arange(self.runs, dtype=np.int64), n)
        bucket = np.clip(np.floor((self.t - t0) / self.width), 0, nb - 1).astype(np.int64)
        counts = np.bincount(run_of * (nb + 1) + bucket + 1, minlength=self.runs * (nb + 1))
        before = np.cumsum(counts.reshape(self.runs, nb + 1), axis=1)
        self.last = np.ascontiguousarray((before + (self.off - 1)[:, None]).T, dtype=np.int64)
        # halving steps each bucket needs: the widest gap between its two rows
        widths = (self.last[1:] - self.last[:-1]).max(axis=1, initial=0)
        self.steps = [int(w).bit_length() for w in widths.tolist()]

    def at(self, te: float) -> np.ndarray:
        """For each run, the index in `t` of its last entry with time <= te (off[r] - 1 if none)."""
        b = min(max(int((te - self.t0) // self.width), 0), self.nb - 1)
        return self._halve(self.last[b], self.last[b + 1], te, self.steps[b])

    def _halve(self, lo: np.ndarray, hi: np.ndarray, te: float, steps: int) -> np.ndarray:
        """The last index in [lo, hi] of each run with t <= te, lo a valid answer (t[lo] <= te,
        or lo the run's off - 1: none): `steps` halvings settle gaps up to 2**steps - 1."""
        t = self.t
        for _ in range(steps):
            mid = (lo + hi + 1) >> 1
            ok = t[mid] <= te  # (mid == lo where a run is settled: no change there)
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid - 1)
        return lo

    def one(self, r: int, te: float) -> int:
        """`at(te)[r]` for one run."""
        off, end = int(self.off[r]), int(self.end[r])
        return off + int(np.searchsorted(self.t[off:end], te, side="right")) - 1
