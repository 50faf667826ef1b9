"""Every unit's statuses and positions in flat numpy arrays, so the state of all units at
an instant is a few vectorised binary searches (statuses, positions, then the snapshot
prebuilt for each unit's (status, last fix) pair); new UnitSnapshots are made only for
the units moving between two fixes at that instant.

Keys are `rank * scale + (t - t0)`: sorted by unit, then by time, so one
`searchsorted` finds, for every unit at once, its last status change and its last
position fix at or before t.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from dispatch.domain.units import UnitSnapshot


_FIELDS = ("id", "callsign", "kind", "status", "lon", "lat", "position_at", "home_lon", "home_lat",
           "station", "duty", "incident_id", "leader", "phone", "status_since", "members", "extra",
           "terminal", "position_source")
if UnitSnapshot.__slots__ != _FIELDS:  # the fast constructor below fills exactly these
    raise RuntimeError("UnitSnapshot's fields changed: update replay.unit_table._FIELDS and snapshot()")
(_s_id, _s_cs, _s_kind, _s_status, _s_lon, _s_lat, _s_pos_at, _s_hlon, _s_hlat, _s_station, _s_duty,
 _s_inc, _s_leader, _s_phone, _s_since, _s_members, _s_extra, _s_terminal, _s_source) = (
    getattr(UnitSnapshot, name).__set__ for name in _FIELDS)


def snapshot(uid, callsign, kind, status, lon, lat, pos_at, home_lon, home_lat, station, duty,  # noqa: ANN001
             incident_id, leader, phone, since, members, terminal, source,
             _new=object.__new__, _cls=UnitSnapshot) -> UnitSnapshot:
    """A UnitSnapshot equal to UnitSnapshot(...) with these values (and extra={}), made
    by filling its slots directly: less than half the cost of the frozen dataclass's
    __init__, which matters for hundreds of units per replay instant."""
    x = _new(_cls)
    _s_id(x, uid); _s_cs(x, callsign); _s_kind(x, kind); _s_status(x, status)  # noqa: E702
    _s_lon(x, lon); _s_lat(x, lat); _s_pos_at(x, pos_at); _s_hlon(x, home_lon)  # noqa: E702
    _s_hlat(x, home_lat); _s_station(x, station); _s_duty(x, duty); _s_inc(x, incident_id)  # noqa: E702
    _s_leader(x, leader); _s_phone(x, phone); _s_since(x, since); _s_members(x, members)  # noqa: E702
    _s_extra(x, {}); _s_terminal(x, terminal); _s_source(x, source)  # noqa: E702
    return x


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
        self.base = np.arange(n, dtype=np.float64) * self.scale
        skeys: list[float] = []
        soff: list[int] = []
        self.states: list = []
        pkeys: list[float] = []
        pt: list[float] = []
        plon: list[float] = []
        plat: list[float] = []
        self.pat: list = []
        poff: list[int] = []
        pend: list[int] = []
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
        self.skey = np.array(skeys, dtype=np.float64)
        self.soff = np.array(soff, dtype=np.int64)
        self.pkey = np.array(pkeys, dtype=np.float64)
        self.pt = np.array(pt, dtype=np.float64)
        self.plon = np.array(plon, dtype=np.float64)
        self.plat = np.array(plat, dtype=np.float64)
        self.poff = np.array(poff, dtype=np.int64)
        self.pend = np.array(pend, dtype=np.int64)
        self._prebuild(skeys, pkeys)

    def _prebuild(self, skeys: list[float], pkeys: list[float]) -> None:
        """Make, once, the snapshot of every (status, last fix) pair a unit goes through,
        sorted by `rank * M + pair key`: a jump to any instant then is one more binary
        search, and new snapshots only for the units moving between two fixes then."""
        n, npos = len(self.ids), len(self.pkey)
        self._m = (len(self.skey) + 1) * (npos + 1)
        self._gkey, self._snaps = np.empty(0, dtype=np.int64), []
        if not n:
            return
        keys = np.concatenate([self.base - 1.0 + 1e-9, np.asarray(skeys, dtype=np.float64),
                               np.asarray(pkeys, dtype=np.float64)])
        ranks = np.clip(np.floor((keys + 1.0) / self.scale).astype(np.int64), 0, n - 1)
        si = np.searchsorted(self.skey, keys, side="right") - 1
        si = np.where(si >= self.soff[ranks], si, -1)
        if npos:
            pi = np.searchsorted(self.pkey, keys, side="right") - 1
            pi = np.where(pi >= self.poff[ranks], pi, -1)
        else:
            pi = np.full(len(keys), -1, dtype=np.int64)
        gkey, first = np.unique(ranks * self._m + (si + 1) * (npos + 1) + pi + 1, return_index=True)
        plon, plat = self.plon.tolist(), self.plat.tolist()
        make = self._make
        self._snaps = [make(r, s_i, p_i, plon[p_i] if p_i >= 0 else 0.0, plat[p_i] if p_i >= 0 else 0.0)
                       for r, s_i, p_i in zip(ranks[first].tolist(), si[first].tolist(), pi[first].tolist())]
        self._gkey = gkey

    def _make(self, r: int, s_i: int, p_i: int, lon: float, lat: float) -> UnitSnapshot:
        """Unit of rank r with status index s_i and fix index p_i (-1: none) at lon, lat."""
        (uid, cs, kind, hlon, hlat, station, duty, leader, phone, members, initial,
         fallback, terminal) = self.statics[r]
        status, since, incident_id = self.states[s_i] if s_i >= 0 else initial
        if p_i >= 0:
            pos_at, source = self.pat[p_i], "avl"
        else:
            lon, lat, pos_at, source = fallback
        return snapshot(uid, cs, kind, status, lon, lat, pos_at, hlon, hlat, station, duty,
                        incident_id, leader, phone, since, members, terminal, source)

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
        """Every unit at epoch second `te` (events and fixes at te included). A unit not
        moving between two fixes gets its prebuilt (frozen) snapshot of that status and fix."""
        if not self.ids:
            return []
        d = min(max(te - self.t0, -1.0), self.span + 1.0)
        q = self.base + d
        si = np.searchsorted(self.skey, q, side="right") - 1
        has_s = si >= self.soff
        npos = len(self.pkey)
        if npos:
            pi = np.searchsorted(self.pkey, q, side="right") - 1
            has_p = pi >= self.poff
            pic = np.clip(pi, 0, npos - 1)
            lon, lat = self.plon[pic], self.plat[pic]
            if interpolate:
                nxt = np.minimum(pic + 1, npos - 1)
                ta, tb = self.pt[pic], self.pt[nxt]
                ok = has_p & (pi + 1 < self.pend) & (tb > ta) & (tb - ta <= self.max_gap_s)
                f = np.where(ok, (te - ta) / np.where(tb > ta, tb - ta, 1.0), 0.0)
                lon = lon + f * (self.plon[nxt] - lon)
                lat = lat + f * (self.plat[nxt] - lat)
                moving = f != 0.0
            else:
                moving = np.zeros(len(self.ids), dtype=bool)
        else:
            has_p = np.zeros(len(self.ids), dtype=bool)
            pic = np.zeros(len(self.ids), dtype=np.int64)
            lon = lat = np.zeros(len(self.ids))
            moving = has_p
        s_idx, p_idx = np.where(has_s, si, -1), np.where(has_p, pic, -1)
        g = np.arange(len(self.ids), dtype=np.int64) * self._m + (s_idx + 1) * (npos + 1) + p_idx + 1
        j = np.minimum(np.searchsorted(self._gkey, g), max(len(self._gkey) - 1, 0))
        snaps = self._snaps
        out = [snaps[i] for i in j.tolist()]
        fresh = np.nonzero(moving | (self._gkey[j] != g))[0]  # (every pair is prebuilt)
        if len(fresh):
            s_l, p_l, lon_l, lat_l = s_idx.tolist(), p_idx.tolist(), lon.tolist(), lat.tolist()
            make = self._make
            for k in fresh.tolist():
                out[k] = make(k, s_l[k], p_l[k], lon_l[k], lat_l[k])
        return out

    def position_at(self, unit_id: int, te: float) -> tuple[float, float, datetime | None] | None:
        """The last fix of one unit at or before te (None if none)."""
        r = self.ids.index(unit_id)
        i = int(np.searchsorted(self.pkey, self.base[r] + min(max(te - self.t0, -1.0), self.span + 1.0),
                                side="right")) - 1
        if i < self.poff[r]:
            return None
        return float(self.plon[i]), float(self.plat[i]), self.pat[i]
