"""Every unit's statuses and positions in flat numpy arrays, so the state of all units at
an instant is a few vectorised steps (replay.run_index: the last status change and the
last fix of every unit at once), then the snapshot of each unit's (status, last fix)
pair, made the first time it is shown and kept; new UnitSnapshots are made each time
only for the units moving between two fixes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from itertools import chain, compress, count, repeat
from operator import is_

import numpy as np

from dispatch.domain.units import UnitSnapshot
from dispatch.replay.incident_table import _flat_times
from dispatch.replay.run_index import RunIndex


_FIELDS = ("id", "callsign", "kind", "status", "lon", "lat", "position_at", "home_lon", "home_lat",
           "station", "duty", "incident_id", "leader", "phone", "status_since", "members", "extra",
           "terminal", "position_source")
if UnitSnapshot.__slots__ != _FIELDS:  # the fast constructor below fills exactly these
    raise RuntimeError("UnitSnapshot's fields changed: update replay.unit_table._FIELDS and snapshot()")


class _Slots:
    """The same slots as UnitSnapshot, without its frozen dataclass __init__: filled by
    plain attribute stores (specialised by the interpreter), then given UnitSnapshot's
    class, whose layout is the same. A third of the cost of filling the frozen
    dataclass's slots through their descriptors, which matters for the hundreds of units
    of a replay instant shown the first time."""

    __slots__ = _FIELDS

    def __init__(self, id, callsign, kind, status, lon, lat, position_at, home_lon, home_lat,  # noqa: A002, ANN001, PLR0913
                 station, duty, incident_id, leader, phone, status_since, members, terminal,  # noqa: ANN001
                 position_source) -> None:  # noqa: ANN001
        self.id = id
        self.callsign = callsign
        self.kind = kind
        self.status = status
        self.lon = lon
        self.lat = lat
        self.position_at = position_at
        self.home_lon = home_lon
        self.home_lat = home_lat
        self.station = station
        self.duty = duty
        self.incident_id = incident_id
        self.leader = leader
        self.phone = phone
        self.status_since = status_since
        self.members = members
        self.extra: dict = {}
        self.terminal = terminal
        self.position_source = position_source


def snapshot(uid, callsign, kind, status, lon, lat, pos_at, home_lon, home_lat, station, duty,  # noqa: ANN001
             incident_id, leader, phone, since, members, terminal, source,
             _raw=_Slots, _cls=UnitSnapshot) -> UnitSnapshot:
    """A UnitSnapshot equal to UnitSnapshot(...) with these values (and extra={})."""
    x = _raw(uid, callsign, kind, status, lon, lat, pos_at, home_lon, home_lat, station, duty,
             incident_id, leader, phone, since, members, terminal, source)
    x.__class__ = _cls
    return x


def _check_layout() -> None:
    """Fail at import, not in a replay, if UnitSnapshot's layout no longer allows it."""
    args: tuple[Any, ...] = (1, "c", None, None, 1.0, 2.0, None, 3.0, 4.0, "s", (), 5, "l", "p", None, 2, "t",
                             "avl")
    try:
        made = snapshot(*args)
    except TypeError as e:  # __class__ assignment refused: the layouts differ
        raise RuntimeError(f"replay.unit_table.snapshot cannot make a UnitSnapshot: {e}") from e
    if made != UnitSnapshot(**dict(zip(_FIELDS, (*args[:16], {}, *args[16:])))):
        raise RuntimeError("replay.unit_table.snapshot no longer makes what UnitSnapshot(...) makes")


_check_layout()


CACHE_PER_UNIT = 256  # snapshots kept per unit on average (see UnitTable._prebuild)


class UnitTable:
    """Built from the per-unit tracks of dispatch.replay.state (see ReplayIndex)."""

    def __init__(self, unit_ids: list[int], tracks: dict, t0: float, t1: float, max_gap_s: float,
                 lazy: Any = None) -> None:
        """`lazy`: the replay.segments.LazyRows whose unit row numbers the tracks' states
        may hold (made into states when first shown)."""
        self.ids = list(unit_ids)
        self.lazy = lazy
        self.tracks = tracks
        self.t0 = t0
        self.max_gap_s = max_gap_s
        n = len(self.ids)
        tr = [tracks[uid] for uid in self.ids]
        s_len = [len(u.times) for u in tr]
        p_len = [len(u.pos_t) for u in tr]
        self.states: list = list(chain.from_iterable(u.states for u in tr))
        self.status_runs = RunIndex(_flat_times([u.times for u in tr], sum(s_len)), s_len, t0, t1)
        self.soff = self.status_runs.off
        self.pt = np.concatenate([u.pos_t for u in tr]).astype(np.float64) if n else np.empty(0)
        self.fix_runs = RunIndex(self.pt, p_len, t0, t1)
        self.plon = np.concatenate([u.pos_lon for u in tr]).astype(np.float64) if n else np.empty(0)
        self.plat = np.concatenate([u.pos_lat for u in tr]).astype(np.float64) if n else np.empty(0)
        self.pat: list = list(chain.from_iterable(u.pos_at for u in tr))
        self.poff, self.pend = self.fix_runs.off, self.fix_runs.end
        self.statics = [self._static(uid, tracks[uid]) for uid in self.ids]
        self._prebuild()

    def _prebuild(self) -> None:
        """Snapshots are made the first time a (unit, status, last fix) triple is shown and
        kept, keyed by `rank * M + pair key`: making all of them up front cost as much as
        a third of a day's load, and most are never shown; a parked unit's stays the same
        for hours of instants. Kept up to CACHE_PER_UNIT per unit on average, then
        dropped all at once (a week's scrubbing would otherwise keep millions)."""
        self._m = (len(self.states) + 1) * (len(self.pt) + 1)
        self._cache: dict[int, UnitSnapshot] = {}
        self._cache_max = CACHE_PER_UNIT * max(1, len(self.ids))

    def _made(self, indices: list[int]) -> None:
        """Make the states at these indices that are still fold segments' row numbers."""
        states = self.states
        need = sorted({i for i in indices if i >= 0 and type(states[i]) is int})
        for i, state in zip(need, self.lazy.unit_states([states[i] for i in need])):
            states[i] = state

    def _make(self, r: int, s_i: int, p_i: int, lon: float, lat: float) -> UnitSnapshot:
        """Unit of rank r with status index s_i and fix index p_i (-1: none) at lon, lat."""
        st = self.statics[r]  # (uid, callsign, kind, home lon, lat, station, duty, leader, phone,
        #                        members, initial state, fallback position, terminal)
        status, since, incident_id = self.states[s_i] if s_i >= 0 else st[10]
        if p_i >= 0:
            pos_at, source = self.pat[p_i], "avl"
        else:
            lon, lat, pos_at, source = st[11]
        return snapshot(st[0], st[1], st[2], status, lon, lat, pos_at, st[3], st[4], st[5], st[6], incident_id,
                        st[7], st[8], since, st[9], st[12], source)

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
        moving between two fixes gets the (frozen) snapshot of that status and fix, made once."""
        if not self.ids:
            return []
        si = self.status_runs.at(te)
        has_s = si >= self.soff
        npos = len(self.pt)
        if npos:
            pi = self.fix_runs.at(te)
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
        keys = (np.arange(len(self.ids), dtype=np.int64) * self._m + (s_idx + 1) * (npos + 1) + p_idx + 1).tolist()
        cache = self._cache
        if len(cache) > self._cache_max:
            cache = self._cache = {}
        out: list = list(map(cache.get, keys))
        between = np.flatnonzero(moving).tolist()  # made anew: their place is interpolated
        unseen = list(compress(count(), map(is_, out, repeat(None))))  # (no Python frame per unit)
        if between or unseen:
            s_l, p_l, lon_l, lat_l = s_idx.tolist(), p_idx.tolist(), lon.tolist(), lat.tolist()
            if self.lazy is not None:
                self._made([s_l[k] for k in chain(between, unseen)])
            make = self._make
            for k in between:
                out[k] = make(k, s_l[k], p_l[k], lon_l[k], lat_l[k])
            for k in unseen:
                if out[k] is None:  # at a fix (not between two): the same at every instant of it
                    out[k] = cache[keys[k]] = make(k, s_l[k], p_l[k], lon_l[k], lat_l[k])
        return out

    def position_at(self, unit_id: int, te: float) -> tuple[float, float, datetime | None] | None:
        """The last fix of one unit at or before te (None if none)."""
        r = self.ids.index(unit_id)
        i = self.fix_runs.one(r, te)
        if i < self.poff[r]:
            return None
        return float(self.plon[i]), float(self.plat[i]), self.pat[i]

