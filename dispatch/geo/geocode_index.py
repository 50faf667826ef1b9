"""The in-memory index of the gazetteer: compact arrays per entry and key tables
(exact names, name cores, pinyin sound keys, typed pinyin/initials, character
bigrams), built from the `places` table or loaded from a cache file.

Built for the national scale (~700k entries) column by column: values repeated
across rows (names, kinds, administrative paths) are interned with C-level maps,
keys are computed once per distinct name (pinyin by str.translate over all names
at once), and postings are expanded to entries and sorted with numpy."""
from __future__ import annotations

import ctypes
import gc
import json
import pickle
from array import array
from itertools import compress, islice
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dispatch.geo.key_tables import GramTable, KeyTable, Owners, PrefixTable, intern_values, slot_ints
from dispatch.geo.pinyin_keys import bulk_keys
from dispatch.geo.text import core_name

FORMAT_VERSION = 4
ADMIN_KINDS = ("province", "prefecture", "county", "town")
# Prior of a kind when everything else is equal: what a 110 caller most often means.
KIND_PRIOR = {"intersection": 0.06, "landmark": 0.06, "square": 0.06, "road": 0.05, "province": 0.05,
              "prefecture": 0.045, "county": 0.04, "poi": 0.035, "school": 0.035,
              "hospital": 0.035, "shopping": 0.035, "station": 0.035, "address": 0.03,
              "town": 0.03, "village": 0.0}
CHUNK = 50_000



def pair_key(a: str, b: str) -> tuple[str, str]:
    """The key of two roads' intersection in GeoIndex.road_pairs (order-free)."""
    return (a, b) if a <= b else (b, a)

class PlaceRecord(NamedTuple):
    """One row of the places table. aliases, admin and extra are either decoded or the
    JSON text as stored (the index decodes each distinct text once)."""

    id: int
    name: str
    kind: str
    aliases: Sequence[str] | str | None
    admin: Sequence[str] | str
    lon: float | None
    lat: float | None
    precision: str | None
    source: str | None
    extra: dict | str | None


def decoded_json(value, default):
    if value is None or value == "":
        return default
    return json.loads(value) if isinstance(value, str) else value


def _intern(index: dict, values: Sequence) -> Iterator[int]:
    """Slots of the values in index (new values get the next slots), C-level map."""
    for v in dict.fromkeys(values):
        if v not in index:
            index[v] = len(index)
    return map(index.__getitem__, values)


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
        self.exact = self.core = self.sound = KeyTable.empty()
        self.typed = PrefixTable.empty()
        self.bigram = GramTable.empty()

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
    def build(cls, records: Iterable[PlaceRecord | tuple], signature: tuple = ()) -> "GeoIndex":
        """Index the records (PlaceRecords or tuples of the same shape, consumed once, in
        order, CHUNK rows at a time)."""
        idx = cls()
        idx.signature = signature
        kind_slot: dict[str, int] = {}
        prec_slot: dict = {}
        src_slot: dict = {}
        raw_path: dict = {}              # admin as read -> path id
        path_ids: dict[tuple[str, ...], int] = {}
        all_names: list[str] = []
        pids, paths = array("q"), array("i")
        kinds, precs, srcs = array("h"), array("h"), array("h")
        lons: list[np.ndarray] = []
        lats: list[np.ndarray] = []
        aliases_of: list[tuple[int, object]] = []
        n = 0
        it = iter(records)
        while chunk := list(islice(it, CHUNK)):
            pid, name, kind, aliases, admin, lon, lat, prec, src, extra = zip(*chunk)
            all_names.extend(name)
            pids.extend(pid)
            kinds.extend(_intern(kind_slot, kind))
            precs.extend(_intern(prec_slot, prec))
            srcs.extend(_intern(src_slot, src))
            lons.append(np.array(lon, dtype=np.float64))  # None -> nan
            lats.append(np.array(lat, dtype=np.float64))
            if not isinstance(admin[0], str):  # decoded already (a driver, or the caller)
                admin = tuple(tuple(a or ()) for a in admin)
            for raw in dict.fromkeys(admin):
                if raw not in raw_path:
                    path = tuple(decoded_json(raw, ()))
                    raw_path[raw] = path_ids.setdefault(path, len(path_ids))
            paths.extend(map(raw_path.__getitem__, admin))
            aliases_of += [(j, aliases[j - n]) for j in compress(range(n, n + len(chunk)), aliases)]
            if "intersection" in kind_slot:
                slots = np.frombuffer(kinds, dtype=np.int16)[n:].copy()  # no view may outlive the chunk: kinds grows
                for j in np.flatnonzero(slots == kind_slot["intersection"]).tolist():
                    roads = decoded_json(extra[j], {}).get("roads")
                    if roads and len(roads) == 2:
                        idx.context[n + j] = " / ".join(roads)
                        idx.road_pairs[pair_key(roads[0], roads[1])] = n + j
            n += len(chunk)
        unames, entry_slot = intern_values(all_names)   # distinct names; aliases follow
        name_slot = dict(zip(unames, slot_ints(len(unames))))
        alias_name, alias_entry = array("i"), array("i")
        for i, a in aliases_of:
            for alias in decoded_json(a, ()) if a != "[]" else ():
                if alias and alias != all_names[i]:
                    s = name_slot.get(alias)
                    if s is None:
                        s = name_slot[alias] = len(unames)
                        unames.append(alias)
                    alias_name.append(s)
                    alias_entry.append(i)
        del all_names
        idx.kind_names = list(kind_slot)
        idx.prec_names = [p or "point" for p in prec_slot]
        idx.src_names = [s or "" for s in src_slot]
        names_of = name_slot.get
        idx.paths = [tuple(unames[k] if (k := names_of(x)) is not None else x for x in p)
                     for p in path_ids]  # the names in paths are entries' names: one object each
        idx.names = list(map(unames.__getitem__, entry_slot.tolist()))
        idx.place_ids = np.frombuffer(pids, dtype=np.int64).copy()
        idx.kinds = np.frombuffer(kinds, dtype=np.int16).copy()
        if "road" in kind_slot:
            idx.road_entries = np.flatnonzero(idx.kinds == kind_slot["road"]).tolist()
        prior_of_kind = np.asarray([KIND_PRIOR.get(k, 0.03) for k in idx.kind_names] or [0.0],
                                   dtype=np.float32)
        idx.prior = prior_of_kind[idx.kinds] if n else np.zeros(0, np.float32)
        idx.lon = np.concatenate(lons) if lons else np.zeros(0)
        idx.lat = np.concatenate(lats) if lats else np.zeros(0)
        idx.path_id = np.frombuffer(paths, dtype=np.int32).copy()
        idx.prec = np.frombuffer(precs, dtype=np.int16).copy()
        idx.src = np.frombuffer(srcs, dtype=np.int16).copy()
        post_name = np.concatenate([entry_slot, np.frombuffer(alias_name, dtype=np.int32)])
        post_entry = np.concatenate([np.arange(n, dtype=np.int64), np.frombuffer(alias_entry, dtype=np.int32)])
        idx._build_tables(name_slot, unames, post_name.astype(np.int64), post_entry.astype(np.int64), n)
        return idx

    def _build_tables(self, name_slot: dict[str, int], unames: list[str], post_name: np.ndarray,
                      post_entry: np.ndarray, n: int) -> None:
        by_name = Owners(post_name, post_entry, len(unames), n)
        self.exact = KeyTable(name_slot, by_name.starts, by_name.entries.astype(np.int32))
        cores = [core_name(nm) for nm in unames]
        sounds, fulls, initials, extra_owner, extra = bulk_keys(unames, cores)
        owners = np.arange(len(unames), dtype=np.int64)
        has_core = np.fromiter(map(str.__ne__, cores, unames), dtype=bool, count=len(unames))
        names_of = name_slot.get
        core_keys = [unames[k] if (k := names_of(c)) is not None else c
                     for c, h in zip(cores, has_core.tolist()) if h]  # a core is often a name
        typed = fulls + initials
        typed_owner = np.concatenate([owners, owners])
        if extra:
            typed += extra
            typed_owner = np.concatenate([typed_owner, np.asarray(extra_owner, dtype=np.int64)])
        keep = np.fromiter(map(bool, typed), dtype=bool, count=len(typed))
        if not keep.all():
            typed = [k for k, kp in zip(typed, keep.tolist()) if kp]
            typed_owner = typed_owner[keep]
        for attr, keys, key_owner in (("core", core_keys, owners[has_core]), ("sound", sounds, owners),
                                      ("typed", typed, typed_owner)):
            distinct, slots = intern_values(keys)
            table = PrefixTable if attr == "typed" else KeyTable
            setattr(self, attr, table.from_postings(distinct, slots, key_owner, by_name))
        self.bigram = GramTable.from_names(unames, by_name)

    # ---- cache ----------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the cache file, then take the index back from the written bytes (also
        when writing failed): the copies lie together in fresh memory, and the build's
        freed objects, scattered over the heap, can be returned to the system (~270 MB
        at the national scale)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps((FORMAT_VERSION, self.__dict__), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        finally:
            self.__dict__.clear()
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                self.__dict__.update(pickle.loads(data)[1])
            finally:
                if gc_was_enabled:
                    gc.enable()
            del data
            release_free_memory()

    @classmethod
    def load(cls, path: Path, signature: tuple) -> "GeoIndex | None":
        """The cached index if the file exists and matches the signature, else None."""
        try:
            with path.open("rb") as f:
                version, state = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, ImportError, IndexError):
            return None
        if version != FORMAT_VERSION or not isinstance(state, dict) or state.get("signature") != signature:
            return None
        idx = cls.__new__(cls)
        idx.__dict__.update(state)
        return idx


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc malloc_trim; elsewhere
    nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return
    trim(0)


def places_signature(engine: Engine) -> tuple:
    """What identifies the content of the places table for the cache."""
    with engine.connect() as conn:
        n, mx = conn.execute(text("SELECT count(*), max(id) FROM places")).one()
    return (FORMAT_VERSION, int(n or 0), int(mx or 0))


def read_places(engine: Engine) -> Iterator[tuple]:
    """All rows of the places table in id order (streamed), as tuples shaped like
    PlaceRecord with the JSON columns as stored; `aliases` NULL when empty and `extra`
    only for intersections (the index reads nothing else from them)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute('SELECT id, name, kind, '
                    "CASE WHEN CAST(aliases AS TEXT) IN ('[]', '') THEN NULL ELSE aliases END, "
                    'admin, lon, lat, "precision", source, '
                    "CASE WHEN kind = 'intersection' THEN extra END FROM places ORDER BY id")
        while rows := cur.fetchmany(CHUNK):
            yield from rows
        cur.close()
    finally:
        raw.close()
