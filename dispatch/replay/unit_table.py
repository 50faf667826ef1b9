"""Every unit's statuses and positions in flat numpy arrays, so the state of all units at
an instant is two vectorised binary searches (one for statuses, one for positions) and
one pass building the UnitSnapshots.

Keys are `rank * scale + (t - t0)`: sorted by unit, then by time, so one
`searchsorted` finds, for every unit at once, its last status change and its last
position fix at or before t.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from dispatch.domain.units import UnitSnapshot


class UnitTable:
    """Built from the per-unit tracks of dispatch.replay.state (see ReplayIndex)."""

    def __init__(self, unit_ids: list[int], tracks: dict, t0: float, t1: float, max_gap_s: float) -> None:
        self.ids = list(unit_ids)
        self.tracks = tracks
        self.t0 = t0
        self.span = max(0.0, t1 - t0)
        self.scale = self.span + 10.0
        self.max_gap_s = max_gap_s
        n = len(self.ids)
        self.base = np.arange(n, dtype=float) * self.scale
        skeys, self.states, soff = [], [], []
        pkeys, pt, plon, plat, self.pat, poff, pend = [], [], [], [], [], [], []
        for r, uid in enumerate(self.ids):
            u = tracks[uid]
            soff.append(len(self.states))
            skeys.extend(r * self.scale + (t - t0) for t in u.times)
            self.states.extend(u.states)
            poff.append(len(pt))
            pkeys.extend(r * self.scale + (t - t0) for t in u.pos_t.tolist())
            pt.extend(u.pos_t.tolist())
            plon.extend(u.pos_lon.tolist())
            plat.extend(u.pos_lat.tolist())
            self.pat.extend(u.pos_at)
            pend.append(len(pt))
        self.statics = [self._static(uid, tracks[uid]) for uid in self.ids]
        self.skey = np.array(skeys, dtype=float)
        self.soff = np.array(soff, dtype=np.int64)
        self.pkey = np.array(pkeys, dtype=float)
        self.pt = np.array(pt, dtype=float)
        self.plon = np.array(plon, dtype=float)
        self.plat = np.array(plat, dtype=float)
        self.poff = np.array(poff, dtype=np.int64)
        self.pend = np.array(pend, dtype=np.int64)

    @staticmethod
    def _static(uid: int, u) -> tuple:  # noqa: ANN001
        """What does not change over time, plus the state before the first event/fix."""
        row = u.row
        status, since, incident_id = u.initial
        if since is None and not u.times:  # no event at all: the projection's own value
            since = row["status_since"]
        if len(u.pos_t) == 0 and row["position_at"] is not None:  # never reported
            fallback = (row["lon"], row["lat"], row["position_at"], row["position_source"])
        else:
            fallback = (row["home_lon"], row["home_lat"], None, "post")
        return (uid, row["callsign"], row["kind"], row["home_lon"], row["home_lat"], row["station"],
                row["duty"], row["leader"], row["phone"], row["members"], (status, since, incident_id),
                fallback, row["terminal"])

    def snapshots(self, te: float, interpolate: bool) -> list[UnitSnapshot]:
        """Every unit at epoch second `te` (events and fixes at te included)."""
        if not self.ids:
            return []
        d = min(max(te - self.t0, -1.0), self.span + 1.0)
        q = self.base + d
        si = np.searchsorted(self.skey, q, side="right") - 1
        has_s = (si >= self.soff).tolist()
        si_l = si.tolist()
        if len(self.pkey):
            pi = np.searchsorted(self.pkey, q, side="right") - 1
            has_p = pi >= self.poff
            pic = np.clip(pi, 0, len(self.pkey) - 1)
            lon, lat = self.plon[pic], self.plat[pic]
            if interpolate:
                nxt = np.minimum(pic + 1, len(self.pkey) - 1)
                ta, tb = self.pt[pic], self.pt[nxt]
                ok = has_p & (pi + 1 < self.pend) & (tb > ta) & (tb - ta <= self.max_gap_s)
                f = np.where(ok, (te - ta) / np.where(tb > ta, tb - ta, 1.0), 0.0)
                lon = lon + f * (self.plon[nxt] - lon)
                lat = lat + f * (self.plat[nxt] - lat)
            has_p_l, pi_l, lon_l, lat_l = has_p.tolist(), pic.tolist(), lon.tolist(), lat.tolist()
        else:
            has_p_l = [False] * len(self.ids)
            pi_l = lon_l = lat_l = has_p_l
        out = []
        append, states, pat, snap = out.append, self.states, self.pat, UnitSnapshot
        for k, (uid, cs, kind, hlon, hlat, station, duty, leader, phone, members, initial,
                fallback, terminal) in enumerate(self.statics):
            status, since, incident_id = states[si_l[k]] if has_s[k] else initial
            if has_p_l[k]:
                lon, lat, pos_at, source = lon_l[k], lat_l[k], pat[pi_l[k]], "avl"
            else:
                lon, lat, pos_at, source = fallback
            append(snap(uid, cs, kind, status, lon, lat, pos_at, hlon, hlat, station, duty,
                        incident_id, leader, phone, since, members, terminal=terminal, position_source=source))
        return out

    def position_at(self, unit_id: int, te: float) -> tuple[float, float, datetime | None] | None:
        """The last fix of one unit at or before te (None if none)."""
        r = self.ids.index(unit_id)
        i = int(np.searchsorted(self.pkey, self.base[r] + min(max(te - self.t0, -1.0), self.span + 1.0),
                                side="right")) - 1
        if i < self.poff[r]:
            return None
        return float(self.plon[i]), float(self.plat[i]), self.pat[i]
