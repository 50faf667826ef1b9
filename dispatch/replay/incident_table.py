"""Every incident's states in one sorted key array, so the open incidents at an instant
are one vectorised binary search (the incidents' counterpart of unit_table)."""
from __future__ import annotations

from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from dispatch.services.queries import IncidentView

_times, _views = attrgetter("times"), attrgetter("views")
_first, _last = itemgetter(0), itemgetter(-1)


def _flat_times(runs: list, n: int) -> np.ndarray:
    """The runs of times (array('d') each, as replay.state keeps them, or any sequences of
    floats) one after the other: the doubles' bytes joined, not a float object read each."""
    try:
        return np.frombuffer(b"".join(runs), dtype=np.float64) if runs else np.empty(0)
    except TypeError:  # not buffers of doubles
        return np.fromiter(chain.from_iterable(runs), dtype=np.float64, count=n)


class IncidentTable:
    """The states of every incident (ranked oldest first) in one sorted key array
    `rank * scale + (t - t0)`, so the states of all open incidents at an instant are one
    vectorised binary search instead of a bisect per incident."""

    def __init__(self, tracks: list, lazy: Any = None) -> None:
        """tracks: the incidents' tracks (replay.state), ranked oldest first; each has
        `times` (ascending) and `views` (IncidentViews, or row numbers of `lazy`, a
        replay.segments.LazyRows, which makes them when shown)."""
        self.lazy = lazy
        times_of = list(map(_times, tracks))  # (C-level maps: no Python frame per incident)
        t0 = min(map(_first, times_of), default=0.0)
        t1 = max(map(_last, times_of), default=0.0)
        self.t0, self.t1, self.span = t0, t1, t1 - t0
        self.scale = self.span + 10.0
        lengths = list(map(len, times_of))
        bases = np.arange(len(tracks), dtype=np.float64) * self.scale - t0
        times = _flat_times(times_of, sum(lengths))
        self.keys = np.repeat(bases, lengths) + times
        self.views: list = list(chain.from_iterable(map(_views, tracks)))

    def at(self, ranks: np.ndarray, te: float) -> list[IncidentView]:
        """The views of the incidents at `ranks` (received at or before te) at te."""
        if not len(ranks):
            return []
        d = min(max(te - self.t0, -1.0), self.span + 1.0)
        idx = (np.searchsorted(self.keys, ranks * self.scale + d, side="right") - 1).tolist()
        views = self.views
        out = [views[j] for j in idx]
        if self.lazy is not None:
            rows = [k for k, v in enumerate(out) if type(v) is int]
            if rows:
                for k, v in zip(rows, self.lazy.views([out[k] for k in rows])):
                    out[k] = v
        return out
