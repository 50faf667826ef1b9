"""The in-memory index of the gazetteer: compact arrays per entry and sorted key
tables (exact names, name cores, pinyin sound keys, typed pinyin/initials,
character bigrams), built from the `places` table or loaded from a cache file."""
from __future__ import annotations

import json
import math
import pickle
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dispatch.geo.pinyin_keys import name_keys
from dispatch.geo.text import core_name

FORMAT_VERSION = 3
ADMIN_KINDS = ("province", "prefecture", "county", "town")
# Prior of a kind when everything else is equal: what a 110 caller most often means.
KIND_PRIOR = {"intersection": 0.06, "landmark": 0.06, "road": 0.05, "province": 0.05,
              "prefecture": 0.045, "county": 0.04, "poi": 0.035, "school": 0.035,
              "hospital": 0.035, "shopping": 0.035, "station": 0.035, "address": 0.03,
              "town": 0.03, "village": 0.0}


class KeyTable:
    """Sorted unique keys, each with the entry indices that carry it (CSR layout)."""

    __slots__ = ("keys", "starts", "ids")

    def __init__(self, keys: list[str], starts: np.ndarray, ids: np.ndarray):
        self.keys, self.starts, self.ids = keys, starts, ids

    @classmethod
    def build(cls, pairs: dict[str, list[int]]) -> "KeyTable":
        keys = sorted(pairs)
        counts = np.fromiter((len(pairs[k]) for k in keys), dtype=np.int64, count=len(keys))
        starts = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        flat: list[int] = []
        for k in keys:
            flat += pairs[k]
        ids = np.array(flat, dtype=np.int32)
        return cls(keys, starts, ids)

    def get(self, key: str) -> np.ndarray:
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return self.ids[self.starts[i]:self.starts[i + 1]]
        return self.ids[:0]

    def count(self, key: str) -> int:
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return int(self.starts[i + 1] - self.starts[i])
        return 0

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.keys, prefix), bisect_left(self.keys, prefix + "\uffff")

    def key_ids(self, i: int) -> np.ndarray:
        return self.ids[self.starts[i]:self.starts[i + 1]]

    def __getstate__(self):
        return (self.keys, self.starts, self.ids)

    def __setstate__(self, state):
        self.keys, self.starts, self.ids = state


@dataclass
class PlaceRecord:
    """One row as read from the places table."""

    id: int
    name: str
    kind: str
    aliases: list
    admin: list
    lon: float | None
    lat: float | None
    precision: str
    source: str
    extra: dict


class GeoIndex:
    """All entries as arrays, plus the key tables the geocoder searches."""

    def __init__(self) -> None:
        self.signature: tuple = ()
        self.place_ids = np.zeros(0, dtype=np.int64)
        self.names: list[str] = []
        self.kind_names: list[str] = []
        self.kinds = np.zeros(0, dtype=np.int16)
        self.prior = np.zeros(0, dtype=np.float32)
        self.lon = np.zeros(0)
        self.lat = np.zeros(0)
        self.paths: list[tuple[str, ...]] = []
        self.path_id = np.zeros(0, dtype=np.int32)
        self.prec_names: list[str] = []
        self.prec = np.zeros(0, dtype=np.int16)
        self.src_names: list[str] = []
        self.src = np.zeros(0, dtype=np.int16)
        self.context: dict[int, str] = {}
        self.road_pairs: dict[tuple[str, str], int] = {}
        self.road_entries: list[int] = []
        self.exact = self.core = self.sound = self.typed = self.bigram = KeyTable([], np.zeros(1, np.int64), np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.names)

    def kind_of(self, i: int) -> str:
        return self.kind_names[self.kinds[i]]

    def admin_of(self, i: int) -> tuple[str, ...]:
        return self.paths[self.path_id[i]]

    def full_path(self, i: int) -> tuple[str, ...]:
        """Admin path of an entry including its own name (for admin kinds)."""
        return self.paths[self.path_id[i]] + (self.names[i],)

    # ---- building -------------------------------------------------------
    @classmethod
    def build(cls, records: Iterable[PlaceRecord], signature: tuple = ()) -> "GeoIndex":
        """Index the records (consumed once, in order)."""
        idx = cls()
        idx.signature = signature
        kind_ix: dict[str, int] = {}
        path_ix: dict[tuple, int] = {}
        prec_ix: dict[str, int] = {}
        src_ix: dict[str, int] = {}

        def intern(table: list, index: dict, value) -> int:
            got = index.get(value)
            if got is None:
                got = index[value] = len(table)
                table.append(value)
            return got

        pids, kinds, lons, lats, path_ids, precs, srcs = [], [], [], [], [], [], []
        by_name: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            pids.append(r.id)
            idx.names.append(r.name)
            kinds.append(intern(idx.kind_names, kind_ix, r.kind))
            lons.append(math.nan if r.lon is None else r.lon)
            lats.append(math.nan if r.lat is None else r.lat)
            path_ids.append(intern(idx.paths, path_ix, tuple(r.admin)))
            precs.append(intern(idx.prec_names, prec_ix, r.precision))
            srcs.append(intern(idx.src_names, src_ix, r.source))
            got = by_name.get(r.name)
            if got is None:
                by_name[r.name] = [i]
            else:
                got.append(i)
            for a in r.aliases or ():
                if a and a != r.name:
                    by_name.setdefault(a, []).append(i)
            if r.kind == "intersection":
                roads = (r.extra or {}).get("roads")
                if roads and len(roads) == 2:
                    idx.context[i] = " / ".join(roads)
                    idx.road_pairs[tuple(sorted(roads))] = i
            elif r.kind == "road":
                idx.road_entries.append(i)
        core: dict[str, list[int]] = {}
        sound: dict[str, list[int]] = {}
        typed: dict[str, list[int]] = {}
        bigram: dict[str, list[int]] = {}
        for n, ids in by_name.items():
            c = core_name(n)
            if c != n:
                core.setdefault(c, []).extend(ids)
            csound, tkeys = name_keys(n, len(c))
            sound.setdefault(csound, []).extend(ids)
            for k in tkeys:
                typed.setdefault(k, []).extend(ids)
            for k in {n[j:j + 2] for j in range(len(n) - 1)}:
                bigram.setdefault(k, []).extend(ids)
        idx.place_ids = np.asarray(pids, dtype=np.int64)
        idx.kinds = np.asarray(kinds, dtype=np.int16)
        prior_of_kind = np.asarray([KIND_PRIOR.get(k, 0.03) for k in idx.kind_names] or [0.0],
                                   dtype=np.float32)
        idx.prior = prior_of_kind[idx.kinds] if kinds else np.zeros(0, np.float32)
        idx.lon = np.asarray(lons, dtype=np.float64)
        idx.lat = np.asarray(lats, dtype=np.float64)
        idx.path_id = np.asarray(path_ids, dtype=np.int32)
        idx.prec = np.asarray(precs, dtype=np.int16)
        idx.src = np.asarray(srcs, dtype=np.int16)
        idx.exact, idx.core, idx.sound = KeyTable.build(by_name), KeyTable.build(core), KeyTable.build(sound)
        idx.typed, idx.bigram = KeyTable.build(typed), KeyTable.build(bigram)
        return idx

    # ---- cache ----------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump((FORMAT_VERSION, self.__dict__), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, signature: tuple) -> "GeoIndex | None":
        """The cached index if the file exists and matches the signature, else None."""
        try:
            with path.open("rb") as f:
                version, state = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            return None
        if version != FORMAT_VERSION or state.get("signature") != signature:
            return None
        idx = cls.__new__(cls)
        idx.__dict__.update(state)
        return idx


def places_signature(engine: Engine) -> tuple:
    """What identifies the content of the places table for the cache."""
    with engine.connect() as conn:
        n, mx = conn.execute(text("SELECT count(*), max(id) FROM places")).one()
    return (FORMAT_VERSION, int(n or 0), int(mx or 0))


def read_places(engine: Engine) -> Iterator[PlaceRecord]:
    """All rows of the places table in id order (streamed), JSON decoded once per
    distinct value."""
    cache: dict[str, object] = {}

    def js(v, default):
        if v is None:
            return default
        if not isinstance(v, str):
            return v
        got = cache.get(v)
        if got is None:
            got = cache[v] = json.loads(v)
        return got

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute('SELECT id, name, kind, aliases, admin, lon, lat, "precision", source, extra '
                    "FROM places ORDER BY id")
        while True:
            rows = cur.fetchmany(20000)
            if not rows:
                break
            for pid, name, kind, aliases, admin, lon, lat, prec, src, extra in rows:
                yield PlaceRecord(pid, name, kind, js(aliases, []), js(admin, []), lon, lat,
                                  prec or "point", src or "", js(extra, {}))
        cur.close()
    finally:
        raw.close()
