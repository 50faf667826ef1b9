"""Every incident's states in one sorted key array, so the open incidents at an instant
are one vectorised binary search (the incidents' counterpart of unit_table)."""
from __future__ import annotations

import numpy as np

from dispatch.replay.fold import incident_view
from dispatch.services.queries import IncidentView


class IncidentTable:
    """The states of every incident (ranked oldest first) in one sorted key array
    `rank * scale + (t - t0)`, so the states of all open incidents at an instant are one
    vectorised binary search instead of a bisect per incident."""

    def __init__(self, tracks: list) -> None:
        """tracks: the incidents' tracks (replay.state), ranked oldest first; each has
        `times` (ascending) and `views` (fold state dicts, or IncidentViews)."""
        self.tracks = tracks
        t0 = min((t.times[0] for t in tracks), default=0.0)
        t1 = max((t.times[-1] for t in tracks), default=0.0)
        self.t0, self.span = t0, t1 - t0
        self.scale = self.span + 10.0
        keys: list[float] = []
        offsets: list[int] = []
        self.views: list = []
        for r, track in enumerate(tracks):
            offsets.append(len(self.views))
            base = r * self.scale - t0
            keys.extend(base + t for t in track.times)
            self.views.extend(track.views)
        self.keys = np.array(keys, dtype=np.float64)
        self.offsets = np.array(offsets, dtype=np.int64)

    def at(self, ranks: np.ndarray, te: float) -> list[IncidentView]:
        """The views of the incidents at `ranks` (received at or before te) at te."""
        if not len(ranks):
            return []
        d = min(max(te - self.t0, -1.0), self.span + 1.0)
        idx = (np.searchsorted(self.keys, ranks * self.scale + d, side="right") - 1).tolist()
        views, out = self.views, []
        for j, r in zip(idx, ranks.tolist()):
            v = views[j]
            if type(v) is dict:  # first time asked for: make (and keep) the IncidentView
                track_views = self.tracks[r].views
                k = j - int(self.offsets[r])
                if type(track_views[k]) is dict:
                    track_views[k] = incident_view(v)
                v = views[j] = track_views[k]
            out.append(v)
        return out
