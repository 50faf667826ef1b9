"""Every incident's states in one sorted key array, so the open incidents at an instant
are one vectorised binary search (the incidents' counterpart of unit_table)."""
from __future__ import annotations

from itertools import chain

import numpy as np

from dispatch.services.queries import IncidentView


class IncidentTable:
    """The states of every incident (ranked oldest first) in one sorted key array
    `rank * scale + (t - t0)`, so the states of all open incidents at an instant are one
    vectorised binary search instead of a bisect per incident."""

    def __init__(self, tracks: list) -> None:
        """tracks: the incidents' tracks (replay.state), ranked oldest first; each has
        `times` (ascending) and `views` (IncidentViews)."""
        t0 = min((t.times[0] for t in tracks), default=0.0)
        t1 = max((t.times[-1] for t in tracks), default=0.0)
        self.t0, self.t1, self.span = t0, t1, t1 - t0
        self.scale = self.span + 10.0
        lengths = [len(t.times) for t in tracks]
        bases = np.arange(len(tracks), dtype=np.float64) * self.scale - t0
        times = np.fromiter(chain.from_iterable(t.times for t in tracks), dtype=np.float64, count=sum(lengths))
        self.keys = np.repeat(bases, lengths) + times
        self.views: list = list(chain.from_iterable(t.views for t in tracks))

    def at(self, ranks: np.ndarray, te: float) -> list[IncidentView]:
        """The views of the incidents at `ranks` (received at or before te) at te."""
        if not len(ranks):
            return []
        d = min(max(te - self.t0, -1.0), self.span + 1.0)
        idx = (np.searchsorted(self.keys, ranks * self.scale + d, side="right") - 1).tolist()
        views = self.views
        return [views[j] for j in idx]
