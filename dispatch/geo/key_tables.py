"""Key tables of the geocoder index: keys, each with the ids of the entries that carry
it, in CSR arrays (ids[starts[s]:starts[s + 1]] for slot s).

- KeyTable: a dict key -> slot, for the keys looked up many times per query (exact
  names, name cores, sound keys).
- PrefixTable: the keys sorted in one UTF-8 blob, for type-ahead (prefix search on
  typed pinyin and initials); a fraction of the memory of a dict of strings.
- GramTable: character bigrams as sorted 64-bit codes (two code points).

And the numpy helpers that turn postings (slot, entry) into those arrays, intern
strings, cut name cores for many names at once, and pack string lists into one
string (how the tables are pickled: a list of strings pickles and loads far slower)."""
from __future__ import annotations

import operator
from bisect import bisect_left
from typing import Hashable, Iterator, Sequence

import numpy as np

from dispatch.geo.text import SUFFIXES_BY_LAST, unused_char

_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_SHARED_INTS: list[int] = []


def slot_ints(n: int) -> list[int]:
    """The ints 0..n-1 as the same objects for every table (a dict value costs no int)."""
    if len(_SHARED_INTS) < n:
        _SHARED_INTS.extend(range(len(_SHARED_INTS), n))
    return _SHARED_INTS


def intern_values(values: Sequence[Hashable]) -> tuple[list, np.ndarray]:
    """The distinct values in first-seen order and the slot of each value in that list.
    Grouped by hash with numpy sorts (no dict operation per value); exact: every
    repeat is checked against the first of its group, with a dict doing it again in
    the (astronomically rare) case of two values with one hash."""
    n = len(values)
    if not n:
        return [], np.zeros(0, dtype=np.int64)
    h = np.fromiter(map(hash, values), dtype=np.int64, count=n)
    order = np.argsort(h)                  # not stable: the first of each group is taken below
    hs = h[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(hs[1:], hs[:-1], out=new[1:])
    firsts = np.minimum.reduceat(order, np.flatnonzero(new))   # first occurrence of each group
    by_first = np.argsort(firsts)
    rank = np.empty(len(firsts), dtype=np.int64)
    rank[by_first] = np.arange(len(firsts), dtype=np.int64)
    slots = np.empty(n, dtype=np.int64)
    slots[order] = rank[np.cumsum(new) - 1]
    firsts = firsts[by_first]
    get = values.__getitem__
    distinct = list(map(get, firsts.tolist()))
    first_of = firsts[slots]
    repeats = np.flatnonzero(first_of != np.arange(n, dtype=np.int64))
    if all(map(operator.eq, map(get, repeats.tolist()), map(get, first_of[repeats].tolist()))):
        return distinct, slots
    index: dict = {}
    slots = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=n)
    return list(index), slots


def code_points(text: str) -> np.ndarray:
    """The code points of text (uint32); lone surrogates pass through."""
    try:
        data = text.encode("utf-32-le")
    except UnicodeEncodeError:
        data = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(data, dtype=np.uint32)


def from_code_points(cps: np.ndarray) -> str:
    data = cps.astype(np.uint32, copy=False).tobytes()
    try:
        return data.decode("utf-32-le")
    except UnicodeDecodeError:
        return data.decode("utf-32-le", "surrogatepass")


def pack_strings(values: Sequence[str]) -> tuple[str, str, int]:
    """Strings as one string (joined by a character none of them holds), its
    separator and their number: pickled and split back far faster than a list."""
    sep = "\x00"
    joined = sep.join(values)
    if joined.count(sep) != max(len(values) - 1, 0):   # a value holds it: another one
        sep = unused_char(joined)
        joined = sep.join(values)
    return joined, sep, len(values)


def unpack_strings(packed: tuple[str, str, int]) -> list[str]:
    joined, sep, n = packed
    return joined.split(sep) if n else []


def core_names(names: list[str]) -> list[str]:
    """[core_name(n) for n in names], for all names at once over their code points."""
    if not names:
        return []
    sep = unused_char("".join(names))
    cps = code_points(sep.join(names))
    lens = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    ends = np.cumsum(lens + 1) - 1          # where the separator after each name is (or would be)
    last = cps[np.maximum(ends - 1, 0)]
    cut = np.zeros(len(names), dtype=np.int64)
    for end_char, suffixes in SUFFIXES_BY_LAST.items():
        with_end = np.flatnonzero(last == ord(end_char))
        for suf in suffixes:                # in order: the first that fits wins, as in core_name
            n = len(suf)
            cand = with_end[(lens[with_end] >= n + 2) & (cut[with_end] == 0)]
            for k, ch in enumerate(suf[:-1]):
                cand = cand[cps[ends[cand] - n + k] == ord(ch)]
            cut[cand] = n
    has = np.flatnonzero(cut)
    if not len(has):
        return list(names)
    edge = np.zeros(len(cps) + 1, dtype=np.int8)   # +1 where a cut starts, -1 where it ends
    edge[ends[has] - cut[has]] = 1
    edge[ends[has]] = -1
    return from_code_points(cps[np.cumsum(edge[:-1], dtype=np.int8) == 0]).split(sep)


SORT_CHARS = 24   # characters of each key that numpy sorts on (one byte each)


def sorted_order(keys: list[str]) -> list[int]:
    """sorted(range(len(keys)), key=keys.__getitem__), faster for many keys (see
    _sorted_order)."""
    if len(keys) < 1000:
        return sorted(range(len(keys)), key=keys.__getitem__)
    lens, cps = _key_code_points(keys)
    return _sorted_order(keys, lens, cps).tolist()


def _key_code_points(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The keys' lengths and the code points of all of them joined."""
    return np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)), code_points("".join(keys))


def _sorted_order(keys: list[str], lens: np.ndarray, cps: np.ndarray) -> np.ndarray:
    """The order of sorted(range(len(keys)), key=keys.__getitem__): numpy sorts the keys
    by their first SORT_CHARS characters (a byte each, in three big-endian words; a
    character from 255 on reads as 255 and ends what is read of the key: an order that
    never contradicts the keys' order), then the keys that tie on that are sorted
    among themselves by comparison."""
    n = len(keys)
    starts = np.cumsum(lens) - lens
    read = np.minimum(lens, SORT_CHARS)
    wide = np.flatnonzero(cps >= 255)     # read up to the first of them only (as 255)
    if len(wide):
        key_of = np.searchsorted(starts, wide, side="right") - 1
        first = np.r_[True, key_of[1:] != key_of[:-1]]
        read[key_of[first]] = np.minimum(read[key_of[first]], wide[first] - starts[key_of[first]] + 1)
    total = int(read.sum())
    out_start = np.cumsum(read) - read
    at = np.repeat(starts - out_start, read) + np.arange(total, dtype=np.int64)   # the characters read
    cell = np.repeat(np.arange(n, dtype=np.int64) * SORT_CHARS - out_start, read) + np.arange(total, dtype=np.int64)
    grid = np.zeros(n * SORT_CHARS, dtype=np.uint8)
    grid[cell] = np.minimum(cps[at], 255)
    words = grid.view(">u8").reshape(n, SORT_CHARS // 8).astype(np.uint64)
    order = np.lexsort(words.T[::-1])
    w = words[order]
    tie = np.flatnonzero((w[1:] == w[:-1]).all(axis=1))   # order[t] ties with order[t + 1]
    if len(tie):
        run_start = tie[np.r_[True, tie[1:] != tie[:-1] + 1]]
        run_end = tie[np.r_[tie[1:] != tie[:-1] + 1, True]] + 2
        for a, b in zip(run_start.tolist(), run_end.tolist()):
            order[a:b] = sorted(order[a:b].tolist(), key=keys.__getitem__)
    return order


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is several times slower here)."""
    keys = np.sort(keys)
    if len(keys) > 1:
        keep = np.empty(len(keys), dtype=bool)
        keep[0] = True
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        keys = keys[keep]
    return keys


def csr(slots: np.ndarray, entries: np.ndarray, n_slots: int, n_entries: int) -> tuple[np.ndarray, np.ndarray]:
    """Postings (slot, entry) -> (starts, ids): the ids of slot s are ids[starts[s]:starts[s+1]],
    in entry order, without duplicates."""
    if not len(slots):
        return np.zeros(n_slots + 1, dtype=np.int64), _EMPTY_IDS
    width = max(n_entries, 1)
    combined = sorted_unique(slots.astype(np.int64) * width + entries)
    slot_of = combined // width
    ids = (combined - slot_of * width).astype(np.int32)
    starts = np.zeros(n_slots + 1, dtype=np.int64)
    np.cumsum(np.bincount(slot_of, minlength=n_slots), out=starts[1:])
    return starts, ids


def expand(slots: np.ndarray, owners: np.ndarray, owner_starts: np.ndarray,
           owner_entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Postings per owner (a distinct name) -> postings per entry carrying that name
    (the entries of owner k are owner_entries[owner_starts[k]:owner_starts[k+1]])."""
    first = owner_starts[owners]
    counts = owner_starts[owners + 1] - first
    at = np.repeat(first - (np.cumsum(counts) - counts), counts)   # + k for the k-th posting out
    at += np.arange(len(at), dtype=np.int64)
    return np.repeat(slots, counts), owner_entries[at]


def _merge(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Two runs of (slot, entry) postings, each sorted by slot, merged by slot; on equal
    slots a's postings first (a stable sort of a + b)."""
    at = np.searchsorted(a[0], b[0], side="right") + np.arange(len(b[0]), dtype=np.int64)
    from_a = np.ones(len(a[0]) + len(b[0]), dtype=bool)
    from_a[at] = False
    merged = []
    for x, y in zip(a, b):
        out = np.empty(len(from_a), dtype=np.result_type(x, y))
        out[from_a] = x
        out[at] = y
        merged.append(out)
    return merged[0], merged[1]


class Owners:
    """Which entries carry each distinct name (or alias): the CSR of names -> entries,
    and the entries that carry more than one name (only those can meet twice under
    one key)."""

    __slots__ = ("starts", "entries", "shared", "n_entries")

    def __init__(self, name_of_posting: np.ndarray, entry_of_posting: np.ndarray, n_names: int,
                 n_entries: int):
        self.starts, ids = csr(name_of_posting, entry_of_posting, n_names, n_entries)
        self.entries = ids.astype(np.int64)
        self.shared = np.bincount(entry_of_posting, minlength=n_entries) > 1
        self.n_entries = n_entries

    def csr(self, slots: np.ndarray, owners: np.ndarray, n_slots: int,
            presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Postings (slot, name) -> (starts, ids) of the entries carrying the names:
        the ids of a slot follow its names in order, each once. presorted: the pairs
        are already sorted by (slot, name) without repeats."""
        if not presorted and len(slots):
            width = len(self.starts) - 1
            pairs = sorted_unique(slots * width + owners)
            slots, owners = pairs // width, pairs % width
        slot_of, entries = expand(slots, owners, self.starts, self.entries)
        shared = self.shared[entries]
        if shared.any():  # an entry under two of its names with the same key: once
            width = self.n_entries
            again = sorted_unique(slot_of[shared] * width + entries[shared])
            slot_of, entries = _merge((slot_of[~shared], entries[~shared]), (again // width, again % width))
        starts = np.zeros(n_slots + 1, dtype=np.int64)
        np.cumsum(np.bincount(slot_of, minlength=n_slots), out=starts[1:])
        return starts, entries.astype(np.int32)


class KeyTable:
    """String keys -> entry ids: a dict key -> slot over CSR arrays. Pickled (and
    built) packed: the keys as one string, split back into the dict on loading."""

    __slots__ = ("slot", "starts", "ids")

    def __init__(self, slot: dict[str, int], starts: np.ndarray, ids: np.ndarray):
        self.slot, self.starts, self.ids = slot, starts, ids

    @classmethod
    def empty(cls) -> "KeyTable":
        return cls({}, np.zeros(1, dtype=np.int64), _EMPTY_IDS)

    @classmethod
    def of_keys(cls, keys: list[str], starts: np.ndarray, ids: np.ndarray) -> "KeyTable":
        """keys[s] is the key of slot s."""
        return cls(dict(zip(keys, slot_ints(len(keys)))), starts, ids)

    @staticmethod
    def packed(keys: list[str], slots: np.ndarray, names: np.ndarray, owners: Owners) -> tuple:
        """The packed table (as pickled) of the postings: keys[s] is the key of slot s;
        (slots[j], names[j]) are the postings."""
        starts, ids = owners.csr(slots, names, len(keys))
        return pack_strings(keys), starts, ids

    @classmethod
    def unpacked(cls, state: tuple) -> "KeyTable":
        table = cls.__new__(cls)
        table.__setstate__(state)
        return table

    def get(self, key: str) -> np.ndarray:
        s = self.slot.get(key)
        if s is None:
            return self.ids[:0]
        return self.ids[self.starts[s]:self.starts[s + 1]]

    def count(self, key: str) -> int:
        s = self.slot.get(key)
        return 0 if s is None else int(self.starts[s + 1] - self.starts[s])

    def __len__(self) -> int:
        return len(self.slot)

    def __getstate__(self):
        return pack_strings(list(self.slot)), self.starts, self.ids

    def __setstate__(self, state) -> None:
        keys, self.starts, self.ids = state
        self.slot = dict(zip(unpack_strings(keys), slot_ints(keys[2])))


class SortedKeys(Sequence[str]):
    """Sorted keys stored as one UTF-8 blob with offsets; a read-only str sequence
    (UTF-8 byte order is code point order, so bisect works on it)."""

    __slots__ = ("blob", "offsets")

    def __init__(self, blob: bytes, offsets: np.ndarray):
        self.blob, self.offsets = blob, offsets

    @classmethod
    def of(cls, sorted_keys: list[str]) -> "SortedKeys":
        lens, cps = _key_code_points(sorted_keys)
        return cls.of_code_points(lens, cps)

    @classmethod
    def of_code_points(cls, lens: np.ndarray, cps: np.ndarray) -> "SortedKeys":
        """The keys (sorted) given by their lengths and their code points joined."""
        blob = from_code_points(cps).encode()  # UTF-8
        offsets = np.zeros(len(lens) + 1, dtype=np.int64)   # in characters, then in bytes
        np.cumsum(lens, out=offsets[1:])
        if len(blob) != len(cps):   # not all ASCII: the extra UTF-8 bytes of the others count
            at = np.flatnonzero(cps >= 0x80)
            extra = 1 + (cps[at] >= 0x800).astype(np.int64) + (cps[at] >= 0x10000)
            key_of = np.searchsorted(offsets, at, side="right") - 1
            offsets[1:] += np.cumsum(np.bincount(key_of, weights=extra, minlength=len(lens))).astype(np.int64)
        return cls(blob, offsets)

    @classmethod
    def sorted(cls, keys: list[str]) -> "tuple[np.ndarray, SortedKeys]":
        """The order that sorts the keys (sorted_order) and the keys in that order."""
        lens, cps = _key_code_points(keys)
        order = _sorted_order(keys, lens, cps) if len(keys) >= 1000 else \
            np.asarray(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
        starts = np.cumsum(lens) - lens
        new_lens = lens[order]
        total = int(new_lens.sum())
        at = np.repeat(starts[order] - (np.cumsum(new_lens) - new_lens), new_lens) + np.arange(total, dtype=np.int64)
        return order, cls.of_code_points(new_lens, cps[at])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):  # noqa: ANN001 (int or slice, as Sequence has it)
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.blob[int(self.offsets[i]):int(self.offsets[i + 1])].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


class PrefixTable:
    """String keys -> entry ids, keys sorted (SortedKeys) for prefix search; positions
    in sorted order are the slots of the CSR arrays."""

    __slots__ = ("keys", "starts", "ids")

    def __init__(self, keys: SortedKeys, starts: np.ndarray, ids: np.ndarray):
        self.keys, self.starts, self.ids = keys, starts, ids

    @classmethod
    def empty(cls) -> "PrefixTable":
        return cls(SortedKeys.of([]), np.zeros(1, dtype=np.int64), _EMPTY_IDS)

    @classmethod
    def from_postings(cls, keys: list[str], slots: np.ndarray, names: np.ndarray,
                      owners: Owners) -> "PrefixTable":
        """As KeyTable.from_postings; the slots are renumbered in sorted key order."""
        order, sorted_keys = SortedKeys.sorted(keys)
        position = np.empty(len(keys), dtype=np.int64)
        position[order] = np.arange(len(keys), dtype=np.int64)
        starts, ids = owners.csr(position[slots], names, len(keys))
        return cls(sorted_keys, starts, ids)

    def _find(self, key: str) -> int:
        i = bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else -1

    def get(self, key: str) -> np.ndarray:
        i = self._find(key)
        return self.ids[:0] if i < 0 else self.ids[self.starts[i]:self.starts[i + 1]]

    def count(self, key: str) -> int:
        i = self._find(key)
        return 0 if i < 0 else int(self.starts[i + 1] - self.starts[i])

    def __len__(self) -> int:
        return len(self.keys)

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """Sorted positions [lo, hi) of the keys starting with prefix."""
        return bisect_left(self.keys, prefix), bisect_left(self.keys, prefix + "\uffff")

    def key_ids(self, i: int) -> np.ndarray:
        """Entry ids of the key at sorted position i."""
        return self.ids[self.starts[i]:self.starts[i + 1]]


class GramTable:
    """Character bigrams -> entry ids: sorted codes (code point 1 << 21 | code point 2)
    looked up by binary search."""

    __slots__ = ("codes", "starts", "ids")

    def __init__(self, codes: np.ndarray, starts: np.ndarray, ids: np.ndarray):
        self.codes, self.starts, self.ids = codes, starts, ids

    @classmethod
    def empty(cls) -> "GramTable":
        return cls(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), _EMPTY_IDS)

    @classmethod
    def from_names(cls, names: list[str], by_name: Owners) -> "GramTable":
        """Bigrams of every distinct name (names[k] is carried by by_name's entries of k)."""
        if not names:
            return cls.empty()
        lens = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
        cps = np.frombuffer("".join(names).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        owner = np.repeat(np.arange(len(names), dtype=np.int64), lens)
        same = owner[:-1] == owner[1:]
        grams, owners = ((cps[:-1] << 21) | cps[1:])[same], owner[:-1][same]
        if len(names) <= 1 << 21:  # (bigram << 21 | name) fits 63 bits: one sort
            pairs = sorted_unique(grams << 21 | owners)
            grams, owners = pairs >> 21, pairs & ((1 << 21) - 1)
        else:
            order = np.lexsort((owners, grams))
            grams, owners = grams[order], owners[order]
            keep = np.ones(len(grams), dtype=bool)
            keep[1:] = (grams[1:] != grams[:-1]) | (owners[1:] != owners[:-1])
            grams, owners = grams[keep], owners[keep]
        new = np.ones(len(grams), dtype=bool)
        np.not_equal(grams[1:], grams[:-1], out=new[1:])
        codes = grams[new]
        starts, ids = by_name.csr(np.cumsum(new) - 1, owners, len(codes), presorted=True)
        return cls(codes, starts, ids)

    def get(self, gram: str) -> np.ndarray:
        if len(gram) != 2:
            return self.ids[:0]
        c = (ord(gram[0]) << 21) | ord(gram[1])
        i = int(np.searchsorted(self.codes, c))
        if i < len(self.codes) and self.codes[i] == c:
            return self.ids[self.starts[i]:self.starts[i + 1]]
        return self.ids[:0]

    def count(self, gram: str) -> int:
        return len(self.get(gram))

    def __len__(self) -> int:
        return len(self.codes)
