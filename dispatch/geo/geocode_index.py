"""The in-memory index of the gazetteer: compact arrays per entry and key tables
(exact names, name cores, pinyin sound keys, typed pinyin/initials, character
bigrams), built from the `places` table or loaded from a cache file.

Built for the national scale (~700k entries) column by column: values repeated
across rows (names, kinds, administrative paths) are interned with C-level maps,
keys are computed once per distinct name and for all names at once (name cores and
the other readings of polyphonic characters over their code points, pinyin by
str.translate), and postings are expanded to entries and sorted with numpy. The
build yields the packed index (arrays and joined strings: the cache file's content)
and the index is made from it, on a build as on a load."""
from __future__ import annotations

import json
import pickle
import sqlite3
from array import array
from itertools import chain, compress, islice
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dispatch.geo.key_tables import (GramTable, KeyTable, Owners, PrefixTable, core_names, intern_values,
                                     pack_strings, unpack_strings)
from dispatch.geo.pinyin_keys import bulk_keys, readings_state, seed_readings

FORMAT_VERSION = 6
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


def _decoded_all(values: list) -> list:
    """[decoded_json(v, ()) for v in values], the JSON texts parsed in one json.loads
    (one call instead of one per text: the national register has ~50k paths)."""
    texts = [v for v in values if isinstance(v, str) and v != ""]
    if len(texts) > 1:
        try:
            parsed = json.loads("[" + ",".join(texts) + "]")
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and len(parsed) == len(texts):
            it = iter(parsed)
            return [next(it) if isinstance(v, str) and v != "" else decoded_json(v, ()) for v in values]
    return [decoded_json(v, ()) for v in values]


def _intern(index: dict, values: Sequence) -> Iterable[int]:
    """Slots of the values in index (new values get the next slots), C-level map.
    Values that are ints are slots already (PlaceColumns reads known values so)."""
    new = False
    for v in dict.fromkeys(values):
        if type(v) is int:
            continue
        new = True
        if v not in index:
            index[v] = len(index)
    if not new:
        return values
    get = index.__getitem__
    return [v if type(v) is int else get(v) for v in values]


def _slots(index: dict, values: "Sequence | np.ndarray") -> np.ndarray:
    """The slots of the values (see _intern) as an int16 array; an array is slots already."""
    if isinstance(values, np.ndarray):
        return values.astype(np.int16, copy=False)
    return np.fromiter(_intern(index, values), dtype=np.int16, count=len(values))


def _floats(values: tuple) -> np.ndarray:
    """The values as float64, None as nan."""
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except (TypeError, ValueError):
        return np.array(values, dtype=np.float64)


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _row_chunks(records: Iterable[PlaceRecord | tuple]) -> Iterator[tuple]:
    """The records CHUNK at a time, column by column."""
    it = iter(records)
    while chunk := list(islice(it, CHUNK)):
        yield tuple(zip(*chunk))


# What the packed index (the cache file) holds as it is: arrays and a few short lists.
_PLAIN_FIELDS = ("signature", "place_ids", "kind_names", "kinds", "prior", "lon", "lat", "path_id",
                 "prec_names", "prec", "src_names", "src", "typed", "bigram")


class GeoIndex:
    """All entries as arrays, plus the key tables the geocoder searches.

    Built (and cached) packed: numpy arrays, and strings joined into one string per
    list (pack_strings), nothing else; from_state then makes the Python objects the
    searches use (the key dicts, the names list, the paths) in one go, after the
    build's temporaries are freed, so that they lie together in fresh memory."""

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
        self._entry_name = np.zeros(0, dtype=np.int32)   # slot of each entry's name in exact
        self._junctions: tuple = (np.zeros(0, dtype=np.int64), pack_strings([]), pack_strings([]))

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
    def build(cls, records: "Iterable[PlaceRecord | tuple] | PlaceColumns", signature: tuple | None = (),
              cache: Path | None = None) -> "GeoIndex":
        """Index the records (PlaceRecords or tuples of the same shape, consumed once, in
        order, CHUNK rows at a time); signature None: places_signature's of the rows
        read. With `cache`, the packed index is also written there; a failed write only
        costs the next start its time."""
        state = build_state(records, signature)   # the build's temporaries are gone on return
        if cache is not None:
            try:
                write_state(cache, state)
            except OSError:
                pass
        index = cls.from_state(state)
        del state   # the packed strings: split into the index now (load_geocoder then hands back the heap)
        return index

    @classmethod
    def from_state(cls, state: dict) -> "GeoIndex":
        """The index from its packed form (build_state, or the cache file)."""
        idx = cls()
        for name in _PLAIN_FIELDS:
            setattr(idx, name, state[name])
        names_packed, starts, ids = state["exact"]
        unames = unpack_strings(names_packed)
        idx.exact = KeyTable.of_keys(unames, starts, ids)
        idx.core, idx.sound = KeyTable.unpacked(state["core"]), KeyTable.unpacked(state["sound"])
        idx._entry_name = state["entry_name"]
        idx.names = list(map(unames.__getitem__, idx._entry_name.tolist()))
        slot_of = idx.exact.slot.get
        elements, lengths = state["paths"]    # the names in paths are entries' names: one object each
        flat = iter([unames[k] if (k := slot_of(x)) is not None else x for x in unpack_strings(elements)])
        idx.paths = [tuple(islice(flat, k)) for k in lengths.tolist()]
        idx._junctions = entries, road_a, road_b = state["junctions"]
        for e, a, b in zip(entries.tolist(), unpack_strings(road_a), unpack_strings(road_b)):
            idx.context[e] = f"{a} / {b}"
            idx.road_pairs[pair_key(a, b)] = e
        idx.road_entries = state["road_entries"].tolist()
        seed_readings(state["readings"])
        return idx

    def state(self) -> dict:
        """The packed form of the index (what from_state takes)."""
        state = {name: getattr(self, name) for name in _PLAIN_FIELDS}
        state.update(exact=(pack_strings(list(self.exact.slot)), self.exact.starts, self.exact.ids),
                     core=self.core.__getstate__(), sound=self.sound.__getstate__(),
                     entry_name=self._entry_name, paths=_packed_paths(self.paths), junctions=self._junctions,
                     road_entries=np.asarray(self.road_entries, dtype=np.int64), readings=readings_state())
        return state

    # ---- cache ----------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the cache file."""
        write_state(path, self.state())

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
        return cls.from_state(state)


def write_state(path: Path, state: dict) -> None:
    """The packed index into the cache file (written aside, then moved in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump((FORMAT_VERSION, state), f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def _packed_paths(paths: list[tuple[str, ...]]) -> tuple:
    return (pack_strings(list(chain.from_iterable(paths))),
            np.fromiter(map(len, paths), dtype=np.int32, count=len(paths)))


def build_state(records: "Iterable[PlaceRecord | tuple] | PlaceColumns", signature: tuple | None = ()) -> dict:
    """The packed index of the records (see GeoIndex.build). signature None: the
    records are the places table's rows, and the signature is places_signature's of
    what was read."""
    kind_slot: dict[str, int] = {}
    prec_slot: dict = {}
    src_slot: dict = {}
    raw_path: dict = {}              # admin as read -> path id
    path_ids: dict[tuple[str, ...], int] = {}
    all_names: list[str] = []
    paths = array("i")
    pids: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    precs: list[np.ndarray] = []
    srcs: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    aliases_of: list[tuple[int, object]] = []
    junctions: tuple[list[int], list[str], list[str]] = ([], [], [])
    n = 0
    chunks = records.chunks(kind_slot, prec_slot, src_slot) if isinstance(records, PlaceColumns) else _row_chunks(records)
    for pid, name, kind, aliases, admin, lon, lat, prec, src, extra in chunks:
        all_names.extend(name)
        pids.append(np.asarray(pid, dtype=np.int64))
        kinds.append(_slots(kind_slot, kind))
        precs.append(_slots(prec_slot, prec))
        srcs.append(_slots(src_slot, src))
        lons.append(np.asarray(lon, dtype=np.float64))  # None -> nan
        lats.append(np.asarray(lat, dtype=np.float64))
        if not isinstance(admin[0], str):  # decoded already (a driver, or the caller)
            admin = tuple(tuple(a or ()) for a in admin)
        new = [raw for raw in dict.fromkeys(admin) if raw not in raw_path]
        for raw, decoded in zip(new, _decoded_all(new)):
            raw_path[raw] = path_ids.setdefault(tuple(decoded), len(path_ids))
        paths.extend(map(raw_path.__getitem__, admin))
        aliases_of += [(j, aliases[j - n]) for j in compress(range(n, n + len(name)), aliases)]
        if "intersection" in kind_slot:
            for j in np.flatnonzero(kinds[-1] == kind_slot["intersection"]).tolist():
                roads = decoded_json(extra[j], {}).get("roads")
                if roads and len(roads) == 2:
                    for column, value in zip(junctions, (n + j, str(roads[0]), str(roads[1]))):
                        column.append(value)  # type: ignore[attr-defined]
        n += len(name)
    alias_names, alias_entry = [], array("i")
    for i, a in aliases_of:
        for alias in decoded_json(a, ()) if a != "[]" else ():
            if alias and alias != all_names[i]:
                alias_names.append(alias)
                alias_entry.append(i)
    unames, name_slots = intern_values(all_names + alias_names)  # distinct names; aliases follow
    del all_names
    kind_codes = _joined(kinds, np.int16)
    prior_of_kind = np.asarray([KIND_PRIOR.get(k, 0.03) for k in kind_slot] or [0.0], dtype=np.float32)
    place_ids = _joined(pids, np.int64)
    if signature is None:
        signature = (FORMAT_VERSION, n, int(place_ids.max()) if n else 0)
    state = {
        "signature": signature, "place_ids": place_ids,
        "kind_names": list(kind_slot), "kinds": kind_codes,
        "prior": prior_of_kind[kind_codes] if n else np.zeros(0, np.float32),
        "lon": np.concatenate(lons) if lons else np.zeros(0),
        "lat": np.concatenate(lats) if lats else np.zeros(0),
        "path_id": np.frombuffer(paths, dtype=np.int32).copy(), "paths": _packed_paths(list(path_ids)),
        "prec_names": [p or "point" for p in prec_slot], "prec": _joined(precs, np.int16),
        "src_names": [s or "" for s in src_slot], "src": _joined(srcs, np.int16),
        "entry_name": name_slots[:n].astype(np.int32),
        "junctions": (np.asarray(junctions[0], dtype=np.int64), pack_strings(junctions[1]),
                      pack_strings(junctions[2])),
        "road_entries": (np.flatnonzero(kind_codes == kind_slot["road"]) if "road" in kind_slot
                         else np.zeros(0, dtype=np.int64)),
    }
    post_entry = np.concatenate([np.arange(n, dtype=np.int64), np.frombuffer(alias_entry, dtype=np.int32)])
    state.update(_key_tables(unames, name_slots.astype(np.int64), post_entry.astype(np.int64), n))
    state["readings"] = readings_state()   # those of every character of the names, at least
    return state


def _key_tables(unames: list[str], post_name: np.ndarray, post_entry: np.ndarray, n: int) -> dict:
    """The packed key tables of the distinct names (unames[k] is carried by the entries
    post_entry[post_name == k])."""
    by_name = Owners(post_name, post_entry, len(unames), n)
    cores = core_names(unames)
    sounds, fulls, initials, extra_owner, extra = bulk_keys(unames, cores)
    owners = np.arange(len(unames), dtype=np.int64)
    has_core = np.flatnonzero(np.fromiter(map(str.__ne__, cores, unames), dtype=bool, count=len(unames)))
    core_keys = list(map(cores.__getitem__, has_core.tolist()))
    del cores
    typed = fulls + initials
    typed_owner = np.concatenate([owners, owners])
    if extra:
        typed += extra
        typed_owner = np.concatenate([typed_owner, np.asarray(extra_owner, dtype=np.int64)])
    if "" in typed:   # names without any letter have no typed keys
        keep = np.fromiter(map(bool, typed), dtype=bool, count=len(typed))
        typed = list(compress(typed, keep.tolist()))
        typed_owner = typed_owner[keep]
    tables: dict[str, object] = {"exact": (pack_strings(unames), by_name.starts, by_name.entries.astype(np.int32))}
    for attr, keys, key_owner in (("core", core_keys, has_core), ("sound", sounds, owners)):
        distinct, slots = intern_values(keys)
        tables[attr] = KeyTable.packed(distinct, slots, key_owner, by_name)
    distinct, slots = intern_values(typed)
    tables["typed"] = PrefixTable.from_postings(distinct, slots, typed_owner, by_name)
    tables["bigram"] = GramTable.from_names(unames, by_name)
    return tables


def places_signature(engine: Engine) -> tuple:
    """What identifies the content of the places table for the cache."""
    with engine.connect() as conn:
        n, mx = conn.execute(text("SELECT count(*), max(id) FROM places")).one()
    return (FORMAT_VERSION, int(n or 0), int(mx or 0))


class PlaceColumns:
    """The rows of the places table for GeoIndex.build, read column by column (SQLite),
    a range of at most CHUNK ids at a time, all in one read transaction, in id order.
    Of each range, id, name and admin come as one value each (group_concat: the driver
    makes no tuple per row for them, most of what reading rows cost), the texts joined
    by 0x1f; then, row by row, only the coordinates (SQLite writes floats as text
    neither exactly nor fast) and kind, precision and source, those as the slot of a
    value already seen (a CASE over up to KNOWN_MAX of them, the most frequent first).
    The rare aliases and intersection extras are read by id. A range that does not line
    up (a name or admin text holding 0x1f, ids out of order) is read row by row
    instead. Equivalent to read_places' rows."""

    KNOWN_MAX = 64   # values per column given to the CASE (more: read as text)

    def __init__(self, engine: Engine):
        self.engine = engine

    def chunks(self, kind_slot: dict, prec_slot: dict, src_slot: dict) -> Iterator[tuple]:
        """Column tuples of the rows of a range of ids, in id order: id, lon and lat numpy
        arrays, kind, precision and source as int16 arrays of slots of the three dicts
        (the caller's dicts get the new values, in the order first seen), names, admin
        texts, aliases and extras (None where empty or not an intersection) lists. A
        range read row by row gives the values as read (tuples)."""
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            if not getattr(raw, "driver_connection", raw).in_transaction:
                cur.execute("BEGIN")  # one snapshot for all the statements
            cur.execute("SELECT max(id) FROM places")
            (top,) = cur.fetchall()[0]
            last = None
            counts = [np.zeros(0, dtype=np.int64)] * 3   # rows read so far of each kind, precision, source
            while top is not None and (last is None or last < top):
                cur.execute("SELECT min(id) FROM places" + ("" if last is None else " WHERE id > ?"),
                            [] if last is None else [last])
                (lo,) = cur.fetchall()[0]
                if lo is None:
                    break
                after, last = lo - 1, min(lo - 1 + CHUNK, top)   # ids are integers: at most CHUNK in (after, last]
                got = self._aggregated(cur, after, last, (kind_slot, prec_slot, src_slot), counts)
                if got is None:
                    got = self._rows(cur, after, last)
                if got:
                    yield got
            cur.close()
        finally:
            raw.rollback()
            raw.close()

    def _aggregated(self, cur, after: int, last: int, slots: tuple[dict, dict, dict],
                    counts: list[np.ndarray]) -> tuple | None:
        """The columns of the ids in (after, last] (see chunks); None if they do not line up."""
        try:
            cur.execute("SELECT group_concat(id), group_concat(name, char(31)), group_concat(admin, char(31)), "
                        f"group_concat(CASE WHEN {_RARE} THEN id END) FROM places WHERE id > ? AND id <= ?",
                        [after, last])
            ids_t, names_t, admin_t, rare_t = cur.fetchone()
        except sqlite3.DataError:   # longer than SQLite's longest text: the rows, then
            return None
        if ids_t is None:
            return ()
        pid = np.fromstring(ids_t, dtype=np.int64, sep=",")
        n = len(pid)
        if names_t is None or admin_t is None:
            return None
        name, admin = names_t.split("\x1f"), admin_t.split("\x1f")
        if not len(name) == len(admin) == n or (n > 1 and not bool((pid[1:] > pid[:-1]).all())):
            return None
        cases: list[str] = []
        params: list = []
        for column, index, seen in zip(("kind", '"precision"', "source"), slots, counts):
            # the values seen most often first: most rows stop at the first WHEN
            known = sorted(range(min(len(index), len(seen))), key=lambda k: -seen[k])[:self.KNOWN_MAX]  # noqa: B023
            whens = " ".join(f"WHEN ?{len(params) + j + 1} THEN {k}" for j, k in enumerate(known))
            values = list(index)
            params += [values[k] for k in known]
            cases.append(f"CASE {column} {whens} ELSE {column} END" if known else column)
        cur.execute(f"SELECT lon, lat, {', '.join(cases)} FROM places "
                    f"WHERE id > ?{len(params) + 1} AND id <= ?{len(params) + 2} ORDER BY id", params + [after, last])
        rows = cur.fetchall()
        if len(rows) != n:
            return None
        lon, lat, kind, prec, src = zip(*rows)
        del rows
        coded = [_slots(index, values) for index, values in zip(slots, (kind, prec, src))]
        for j, codes in enumerate(coded):
            more = np.bincount(codes, minlength=len(counts[j]))
            more[:len(counts[j])] += counts[j]
            counts[j] = more
        aliases: list = [None] * n
        extra: list = [None] * n
        if rare_t is not None:
            cur.execute(f"SELECT id, {_ALIASES}, {_EXTRA} FROM places WHERE id IN ({rare_t}) ORDER BY id")
            rare = cur.fetchall()
            at = np.searchsorted(pid, np.fromiter((r[0] for r in rare), dtype=np.int64, count=len(rare))).tolist()
            for j, (_i, a, e) in zip(at, rare):
                aliases[j], extra[j] = a, e
        return pid, name, coded[0], aliases, admin, _floats(lon), _floats(lat), coded[1], coded[2], extra

    def _rows(self, cur, after: int, last: int) -> tuple:
        cur.execute(f"SELECT id, name, kind, {_ALIASES}, admin, lon, lat, \"precision\", source, {_EXTRA} "
                    "FROM places WHERE id > ? AND id <= ? ORDER BY id", [after, last])
        return tuple(zip(*cur.fetchall()))


# What the index reads of aliases (NULL when none) and extra (an intersection's only).
_ALIASES = "CASE WHEN CAST(aliases AS TEXT) IN ('[]', '') THEN NULL ELSE aliases END"
_EXTRA = "CASE WHEN kind = 'intersection' THEN extra END"
_RARE = "aliases NOT IN ('[]', '') OR kind = 'intersection'"


def read_places(engine: Engine) -> "Iterator[tuple] | PlaceColumns":
    """The places table for GeoIndex.build: PlaceColumns on SQLite, else read_place_rows."""
    if engine.dialect.name == "sqlite":
        return PlaceColumns(engine)
    return read_place_rows(engine)


def read_place_rows(engine: Engine) -> Iterator[tuple]:
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
