"""Which units moved since the last look: the console's position feed, Qt-free.

Fixes do not write events (a position is a projection, see feeds.avl_store), so the
log follower never hears of them. `PositionFollower.read_moved()` reads only the units
whose `position_at` changed since its last read:

    SELECT id, lon, lat, position_at, position_source FROM units
    WHERE position_at > :since - overlap

`position_at` is the fix's own (terminal) time, not the time of the commit, so a fix
committed late (a batch still open during the last read, a terminal whose clock is
behind another's) can carry a time below the newest one already seen. Two things make
sure no such fix is ever missed:

* the query looks back `overlap_s` before the newest time seen, and each unit's last
  (position_at, lon, lat) is remembered, so the rows inside the overlap that did not
  change are dropped and those that did are returned;
* every `sweep_s` the follower reads (id, position_at) of every unit (a few thousand
  short rows) and returns any unit whose position differs from what it remembers: a fix
  older than the overlap (the receiver accepts fixes up to a day old) is shown within
  one sweep.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError

from dispatch.domain.errors import StoreUnavailable
from dispatch.store.db import Store, describe_db_error
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import UnitRow

ARRIVAL_RADIUS_M = 50.0

_c = UnitRow
_ALL = select(_c.id, _c.lon, _c.lat, _c.position_at, _c.position_source)
_REPORTED = _ALL.where(_c.position_at.is_not(None))
_SINCE = _ALL.where(_c.position_at > bindparam("since", type_=_c.position_at.type))


@dataclass(frozen=True, slots=True)
class Moved:
    """A unit's new last position."""

    unit_id: int
    lon: float
    lat: float
    at: datetime | None
    source: str


class PositionFollower:
    """Reads the units that moved since the previous `read_moved()`, or since the
    positions a screen last loaded in full (`seed`); unseeded, the first call returns
    every unit that has a position time, as the baseline."""

    def __init__(self, store: Store, overlap_s: float = 60.0, sweep_s: float = 10.0) -> None:
        self.store = store
        self.overlap = timedelta(seconds=overlap_s)
        self.sweep_s = sweep_s
        self._known: dict[int, tuple[datetime | None, float, float]] = {}
        # each unit's last row as the database returned it: the rows that did not change
        # (most of them, inside the overlap) are dropped by one comparison, without
        # converting their times (the feed's thread holds the GIL meanwhile)
        self._raw: dict[int, tuple[Any, float, float]] = {}
        self._lock = threading.Lock()  # seed() comes from the screen's thread
        self._newest: datetime | None = None
        self._last_sweep = time.monotonic()
        self.reads = 0
        self.sweeps = 0

    def seed(self, positions: Iterable[tuple[int, float, float, datetime | None]]) -> None:
        """What a screen shows after a full load (unit id, lon, lat, position time): only
        changes from it come out of the next reads."""
        with self._lock:
            for uid, lon, lat, at in positions:
                at = as_utc(at) if at is not None else None
                self._known[uid] = (at, lon, lat)
                self._raw.pop(uid, None)  # the next read compares with what the screen shows
                if at is not None and (self._newest is None or at > self._newest):
                    self._newest = at

    def read_moved(self) -> list[Moved]:
        """The units whose position changed since the last call, oldest fix first."""
        sweep = self.reads == 0 or time.monotonic() - self._last_sweep >= self.sweep_s
        since = None if sweep or self._newest is None else self._newest - self.overlap
        q, params = (_ALL, {}) if sweep else (_REPORTED, {}) if since is None else (_SINCE, {"since": since})
        try:  # a Core connection and statements built once: little work holding the GIL
            with self.store.engine.connect() as conn:
                rows = conn.execute(q, params).all()
        except DBAPIError as exc:
            raise StoreUnavailable(describe_db_error(exc)) from None
        self.reads += 1
        if sweep:
            self._last_sweep = time.monotonic()
            self.sweeps += 1
        with self._lock:
            out = self._changes(rows)
        out.sort(key=lambda m: m.at.timestamp() if m.at is not None else 0.0)
        return out

    def _changes(self, rows: Sequence[Any]) -> list[Moved]:
        out: list[Moved] = []
        raw_seen = self._raw
        for uid, lon, lat, at, source in rows:
            raw = (at, lon, lat)
            if raw_seen.get(uid) == raw:
                continue
            raw_seen[uid] = raw
            at = as_utc(at) if at is not None else None
            key = (at, lon, lat)
            if self._known.get(uid) == key:
                continue
            first = uid not in self._known
            self._known[uid] = key
            if at is not None and (self._newest is None or at > self._newest):
                self._newest = at
            if first and at is None:
                continue  # never reported: at its post, as the full load shows it
            out.append(Moved(uid, lon, lat, at, source or "post"))
        return out


def arrival_distance(unit_lon: float, unit_lat: float, incident_lon: float | None,
                     incident_lat: float | None, radius_m: float = ARRIVAL_RADIUS_M) -> float | None:
    """Metres from a unit's fix to its incident when within `radius_m` (a 到场 suggestion
    for a unit 出发), else None."""
    if incident_lon is None or incident_lat is None:
        return None
    from dispatch.geo.coords import haversine_m  # numpy: not loaded by the feed's process

    d = haversine_m(unit_lon, unit_lat, incident_lon, incident_lat)
    return d if d <= radius_m else None


def arrival_fix(lon: float, lat: float, at: datetime | None, metres: float, source: str) -> dict[str, Any]:
    """The fix that triggered a confirmed 到场 suggestion, as the unit.status event keeps it
    (`fix` in its payload): position, its time in UTC, its source and distance to the incident."""
    return {"lon": round(lon, 6), "lat": round(lat, 6),
            "at": at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None,
            "source": source, "metres": round(metres, 1)}

