"""The geocoder: caller's words -> ranked candidate places with their administrative
context. Never one silent guess: ambiguous text returns the alternatives.

Pipeline: normalise (speech around the place and the qualifier split off, length
capped) -> typed pinyin/initials (and two roads typed together: a junction), or road
names spotted in the sentence (their junction; "between" -> the road segment between
two junctions), intersections and names (exact, suffix-less core, same-sound pinyin
key) for every suffix of the text with the text before it read as administrative
context -> character-bigram fuzzy fallback -> rank (match quality, administrative
match, kind, distance to `near`), candidates that match only part of what was said
marked partial and ranked after the full ones.

Every step is bounded: names are looked up only for suffixes as long as the longest
name, administrative context only in the MAX_CONTEXT_CHARS before or after a name,
so the work grows linearly with the (capped) text."""
from __future__ import annotations

import gc
import math
import time
from itertools import chain
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy.engine import Engine

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import haversine_many_m
from dispatch.geo.gazetteer import Candidate
from dispatch.geo.geocode_index import (ADMIN_KINDS, GeoIndex, PlaceRecord, decoded_json, pair_key, places_signature,
                                        read_places)
from dispatch.geo.geocode_junctions import MAX_IDS_PER_KEY, Hits, JunctionReader
from dispatch.geo.geocode_partial import partial_of
from dispatch.geo.geocode_patterns import RoadResolver, intersection_splits
from dispatch.geo.key_tables import sorted_unique
from dispatch.geo.pinyin_keys import canonical, is_typed_pinyin
from dispatch.geo.pinyin_keys import prepare as prepare_pinyin
from dispatch.geo.text import NormalisedText, core_name, is_meaningless, normalise
from dispatch.memory import release_free_memory

EMPTY_MESSAGE = "请输入地点：路名、路口、地标或村镇名称（例如 西藏中路与福州路交叉口）"
HEAD_PENALTY = 0.1      # per character before the name that is not administrative context
ADMIN_BONUS = 0.04      # per administrative name matched in the text
NEAR_BONUS = 0.15       # at distance 0 from the hint, halved at NEAR_HALF_M
NEAR_HALF_M = 2000.0
CACHE_NAME = "geocoder-index.pkl"
LIMIT_MESSAGE = "候选数量必须是 1 到 100 之间的整数"
MAX_LIMIT = 100
MAX_NAME_CHARS = 30     # longest name looked up as a suffix or prefix of the text
MAX_ADMIN_CHARS = 16    # longest administrative name read in the context
MAX_CONTEXT_CHARS = 24  # context read before / after a name
MAX_TYPED_CHARS = 60    # typed pinyin read
MAX_FUZZY_CHARS = 30    # longer text is a sentence: no bigram fallback over all of it
MAX_FUZZY_IDS = 200_000
MAX_SPLITS = 12         # readings of the text as two roads
PARTIAL_PENALTY = 0.15  # a partial match shows visibly lower
RANK_POOL = 10          # candidates beyond the limit checked for being partial


class Geocoder:
    """Searches one GeoIndex, plus an overlay of places added in this process
    (add_place). Thread-safe for readers (no shared mutable state besides small
    caches)."""

    def __init__(self, index: GeoIndex):
        self.index = index
        self.roads = RoadResolver([index.names[e] for e in index.road_entries], index.road_entries)
        self._admin_codes = np.asarray(
            [i for i, k in enumerate(index.kind_names) if k in ADMIN_KINDS], dtype=np.int16)
        self._is_admin_kind = np.asarray([k in ADMIN_KINDS for k in index.kind_names] or [False], dtype=bool)
        # admin path prefix -> ids of the paths under it (馬渚镇's path -> its villages' paths)
        under: dict[tuple[str, ...], list[int]] = {}
        for pid, path in enumerate(index.paths):
            for k in range(1, len(path) + 1):
                under.setdefault(path[:k], []).append(pid)
        flat = np.fromiter(chain.from_iterable(under.values()), dtype=np.int32)
        ends = np.cumsum(np.fromiter(map(len, under.values()), dtype=np.int64, count=len(under))).tolist()
        self._under = {k: flat[e - len(v):e] for (k, v), e in zip(under.items(), ends)}
        self._max_road = min(MAX_NAME_CHARS, max((len(n) for n in self.roads.names), default=2))
        self.junctions = JunctionReader(index, self.roads, self._max_road)
        self._piece_cache: dict[str, np.ndarray | None] = {}
        # Which keys (exact, core, sound) carry some administrative entry: a piece of text
        # under none of them names no administrative place (most pieces).
        self._admin_keys = _admin_keys(index, self._admin_codes)
        self._overlay: list[PlaceRecord] = []
        self._overlay_geo: Geocoder | None = None
        self.build_s = 0.0
        self.loaded_from_cache = False
        # The centre's own area: a weaker hint used when a search gives no `near`.
        self.home: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self.index) + len(self._overlay)

    # ---- public ---------------------------------------------------------
    def search(self, text: str, near: tuple[float, float] | None = None,
               limit: int = 10) -> list[Candidate]:
        """Candidates for the text, best first, the partial ones after the full ones.
        DispatchError for empty or meaningless text or a limit outside 1..100. Any
        text is answered in bounded time (see the module docstring)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise DispatchError(LIMIT_MESSAGE)
        if text is not None and not isinstance(text, str):
            raise DispatchError(EMPTY_MESSAGE)
        norm = normalise(text or "")
        if is_meaningless(norm.text):
            raise DispatchError(EMPTY_MESSAGE)
        out = self._search(norm, near, limit)
        if self._overlay_geo is not None:
            self._overlay_geo.home = self.home
            out = sorted(out + self._overlay_geo._search(norm, near, limit),
                         key=lambda c: (c.partial, -round(c.score, 6)))[:limit]
        return out

    def add_place(self, record: PlaceRecord) -> None:
        """Make a place searchable at once in this process, without rebuilding the
        index: it goes into a small overlay searched beside the index (under its name,
        its aliases and its name as normalised text). Other processes see the place
        when their index is next built from the places table (a changed table is
        rebuilt at their next start)."""
        aliases = list(record.aliases or [])
        for words in [record.name, *aliases]:
            norm = normalise(words).text
            if norm and norm != words and norm not in aliases:
                aliases.append(norm)
        self._overlay.append(PlaceRecord(record.id, record.name, record.kind, aliases,
                                         list(record.admin), record.lon, record.lat,
                                         record.precision, record.source, dict(decoded_json(record.extra, {}))))
        self._overlay_geo = Geocoder(GeoIndex.build(self._overlay, signature=("overlay",)))

    def _search(self, norm: NormalisedText, near, limit: int) -> list[Candidate]:
        q = norm.text
        hits = Hits()
        typed = is_typed_pinyin(q)
        if typed:
            self._typed(q.lower().replace(" ", "").replace("'", "")[:MAX_TYPED_CHARS], hits)
            self.junctions.typed(q.lower()[:MAX_TYPED_CHARS], hits)
        else:
            parts = q.split()
            compact = "".join(parts)
            self.junctions.spoken(compact, hits)
            self._intersections(q, hits)
            self._names(compact, hits)
            if 1 < len(parts) <= 3:  # 斗门村 马渚: the context said after the name
                self._names("".join(reversed(parts)), hits)
            if not hits.found or max(hits.found.values()) < 0.85:
                self._fuzzy(compact, hits)
        return self._rank(hits, near, limit, norm, check_partial=not typed)

    # ---- gathering ------------------------------------------------------
    def _typed(self, q: str, hits: Hits) -> None:
        t = self.index.typed
        exact = t.get(q)[:MAX_IDS_PER_KEY]
        hits.add(exact, np.full(len(exact), 0.9))
        lo, hi = t.prefix_range(q)
        taken = 0
        for k in range(lo, min(hi, lo + 400)):
            key = t.keys[k]
            if key == q:
                continue
            ids = t.key_ids(k)[:MAX_IDS_PER_KEY]
            hits.add(ids, np.full(len(ids), 0.55 + 0.3 * len(q) / len(key)))
            taken += len(ids)
            if taken > MAX_IDS_PER_KEY:
                break

    def _intersections(self, q: str, hits: Hits) -> None:
        if not self.roads.names:
            return
        splits, explicit = intersection_splits(q)
        limit = 2 * self._max_road + 4
        splits = [(a, b) for a, b in splits if len(a) <= limit and len(b) <= limit][:MAX_SPLITS]
        for a, b in splits:
            ra, rb = self.roads.resolve(a), self.roads.resolve(b)
            hit = False
            for ea, sa in ra:
                for eb, sb in rb:
                    key = pair_key(self.index.names[ea], self.index.names[eb])
                    e = self.index.road_pairs.get(key)
                    if e is not None:
                        hit = True
                        hits.add([e], [min(1.0, sa * sb + (0.02 if explicit else 0.0))])
            if explicit:  # the roads themselves, first when they do not meet
                for e, sc in ra[:1] + rb[:1]:
                    hits.add([e], [(0.6 if hit else 0.8) * sc])

    def _admin_paths(self, piece: str) -> np.ndarray | None:
        """Path ids under the administrative places that `piece` may name (exact name,
        core, or same sound), or None when it names none. Cached across searches."""
        if not len(self._admin_codes):
            return None
        if piece in self._piece_cache:
            return self._piece_cache[piece]
        idx = self.index
        c = core_name(piece)
        if not (self._admin_key(0, idx.exact.slot.get(piece)) or self._admin_key(1, idx.core.slot.get(piece))
                or self._admin_key(1, idx.core.slot.get(c))
                or self._admin_key(2, idx.sound.slot.get(canonical(c)))):
            return self._cached_piece(piece, None)   # no administrative place under any of its keys
        lists = [g for g in (idx.exact.get(piece), idx.core.get(piece), idx.core.get(c),
                             idx.sound.get(canonical(c))) if len(g)]
        result: np.ndarray | None = None
        if lists:
            ids = np.concatenate(lists)
            ids = ids[self._is_admin_kind[idx.kinds[ids]]][:MAX_IDS_PER_KEY]
            found = (self._under.get(idx.full_path(i)) for i in dict.fromkeys(ids.tolist()))
            under = [u for u in found if u is not None]
            if under:   # each of them sorted without repeats: their union likewise
                result = under[0] if len(under) == 1 else sorted_unique(np.concatenate(under))
        return self._cached_piece(piece, result)

    def _admin_key(self, table: int, slot: int | None) -> bool:
        return slot is not None and self._admin_keys[table][slot] == 1

    def _cached_piece(self, piece: str, result: np.ndarray | None) -> np.ndarray | None:
        if len(self._piece_cache) > 50_000:
            self._piece_cache.clear()
        self._piece_cache[piece] = result
        return result

    def _head_tokens(self, head: str) -> list[tuple[int, np.ndarray]]:
        """Greedy longest-first reading of the text before a name as administrative
        names: (characters, path ids of the places under the admin place it names).
        At most len(head) * MAX_ADMIN_CHARS look-ups."""
        tokens = []
        pos = 0
        while pos < len(head):
            for end in range(min(len(head), pos + MAX_ADMIN_CHARS), pos + 1, -1):
                paths = self._admin_paths(head[pos:end])
                if paths is not None:
                    tokens.append((end - pos, paths))
                    pos = end
                    break
            else:
                pos += 1
        return tokens

    def _head_adjust(self, head: str, ids: np.ndarray) -> np.ndarray:
        pids = self.index.path_id[ids]
        adj = np.full(len(ids), -HEAD_PENALTY * len(head))
        for n, paths in self._head_tokens(head[-MAX_CONTEXT_CHARS:]):
            adj += np.isin(pids, paths, assume_unique=False) * (ADMIN_BONUS + HEAD_PENALTY * n)
        return adj

    def _lookup(self, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Entries named by text: exact, core, same sound; with the match quality."""
        idx = self.index
        c = core_name(text)
        groups = [(idx.exact.get(text), 1.0), (idx.core.get(text), 0.95),
                  (idx.exact.get(c), 0.93), (idx.core.get(c), 0.93),
                  (idx.sound.get(canonical(c)), 0.86)]
        groups = [(g[:MAX_IDS_PER_KEY], s) for g, s in groups if len(g)]
        if not groups:
            return None
        return (np.concatenate([g for g, _ in groups]),
                np.concatenate([np.full(len(g), s) for g, s in groups]))

    def _names(self, q: str, hits: Hits) -> None:
        """Every suffix of q (up to the longest name) as a name with the text before it
        as context, and every prefix as a name with administrative context (up to
        MAX_CONTEXT_CHARS) said after it."""
        n = len(q)
        for start in range(max(0, n - MAX_NAME_CHARS), max(1, n - 1)):
            got = self._lookup(q[start:])
            if got is not None:
                ids, base = got
                if start:
                    base = base + self._head_adjust(q[:start], ids)
                hits.add(ids, base, via=q[start:])
        low = max(2, n - MAX_CONTEXT_CHARS)
        if min(n - 2, MAX_NAME_CHARS) < low or not len(self._admin_codes):
            return
        # admin_from[k]: an administrative name lies in q[low + k:] (read once, not per prefix)
        admin_from = [any(self._admin_paths(q[p:e]) is not None
                          for e in range(p + 2, min(n, p + MAX_ADMIN_CHARS) + 1)) for p in range(low, n)]
        for k in range(len(admin_from) - 2, -1, -1):
            admin_from[k] = admin_from[k] or admin_from[k + 1]
        for end in range(min(n - 2, MAX_NAME_CHARS), low - 1, -1):
            rest = q[end:]
            if not admin_from[end - low] and self._admin_paths(rest) is None:
                continue
            got = self._lookup(q[:end])
            if got is not None:
                ids, base = got
                hits.add(ids, base + self._head_adjust(rest, ids) - 0.02, via=q[:end])

    def _fuzzy(self, q: str, hits: Hits) -> None:
        """Character-bigram candidates scored by closeness, for wrong characters that do
        not sound alike and for partial names; the administrative context read at the
        start of the text is applied to what follows it. Text longer than
        MAX_FUZZY_CHARS is a sentence, not a misspelt name: only its end is read."""
        q = q[-MAX_FUZZY_CHARS:]
        self._fuzzy_part(q, "", hits)
        head_len = self._context_prefix(q)
        if 0 < head_len <= len(q) - 2:
            self._fuzzy_part(q[head_len:], q[:head_len], hits)

    def _context_prefix(self, q: str) -> int:
        """Length of the administrative names at the very start of q."""
        pos = 0
        while pos < len(q):
            for end in range(min(len(q) - 2, pos + MAX_ADMIN_CHARS), pos + 1, -1):
                if self._admin_paths(q[pos:end]) is not None:
                    pos = end
                    break
            else:
                return pos
        return pos

    def _fuzzy_part(self, q: str, head: str, hits: Hits) -> None:
        idx = self.index
        grams = {q[j:j + 2] for j in range(len(q) - 1)}
        lists = [idx.bigram.get(g) for g in grams]
        lists = [ids for ids in lists if 0 < len(ids) <= 50_000] or [ids[:50_000] for ids in lists]
        if not lists:
            return
        lists.sort(key=len)
        total, kept = 0, list[np.ndarray]()
        for ids in lists:  # the most selective bigrams first, a bounded number of ids
            if total + len(ids) > MAX_FUZZY_IDS and kept:
                break
            kept.append(ids)
            total += len(ids)
        ids, counts = np.unique(np.concatenate(kept), return_counts=True)
        if len(ids) > 300:
            ids = ids[np.argpartition(-counts, 300)[:300]]
        scores = np.empty(len(ids))
        for j, i in enumerate(ids):
            name = idx.names[int(i)]
            r = fuzz.ratio(q, name) / 100 * 0.85
            if len(q) >= 3 and q in name:  # 效实中学 -> 宁波效实中学
                r = max(r, 0.78 + 0.15 * len(q) / len(name))
            scores[j] = r
        if head:
            scores = scores + self._head_adjust(head, ids)
        keep = scores >= 0.45
        hits.add(ids[keep], scores[keep])

    # ---- ranking --------------------------------------------------------
    def _rank(self, hits: Hits, near, limit: int, norm: NormalisedText,
              check_partial: bool = True) -> list[Candidate]:
        found = hits.found
        idx = self.index
        pool: list[tuple[float, float, int, Candidate, list[str], str]] = []
        if found:
            ids = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
            score = np.fromiter(found.values(), dtype=np.float64, count=len(found)) + idx.prior[ids]
            score = score + self._near_bonus(near, idx.lon[ids], idx.lat[ids])
            dist = None
            if near is not None:
                dist = haversine_many_m(near[0], near[1], idx.lon[ids], idx.lat[ids])
            tie = np.nan_to_num(dist, nan=1e12) if dist is not None else np.zeros(len(ids))
            order = np.lexsort((idx.place_ids[ids], tie, -np.round(score, 6)))[:limit + RANK_POOL]
            for o in order:
                i = int(ids[o])
                admin = list(idx.admin_of(i))
                lon, lat = idx.lon[i], idx.lat[i]
                context = idx.context.get(i)
                forms = [idx.names[i], *(context.split(" / ") if context else []), hits.via.get(i, "")]
                d = None if dist is None or math.isnan(dist[o]) else float(dist[o])
                pool.append((float(score[o]), tie[o], int(idx.place_ids[i]), Candidate(
                    place_id=int(idx.place_ids[i]), name=idx.names[i], kind=idx.kind_of(i),
                    lon=None if math.isnan(lon) else float(lon), lat=None if math.isnan(lat) else float(lat),
                    admin=admin, score=0.0,
                    precision=idx.prec_names[idx.prec[i]], source=idx.src_names[idx.src[i]],
                    context=context or " ".join(admin), distance_m=d), forms, ""))
        for sc, cand, forms, forced in hits.virtual:
            sc += float(self._near_bonus(near, np.asarray([cand.lon]), np.asarray([cand.lat]))[0])
            if near is not None:
                cand.distance_m = float(haversine_many_m(near[0], near[1], np.asarray([cand.lon]),
                                                         np.asarray([cand.lat]))[0])
            pool.append((sc, cand.distance_m or 0.0, 0, cand, forms, forced))
        out = []
        for sc, tie_d, pid, cand, forms, forced in pool:
            if check_partial:
                cand.partial, cand.differs = partial_of(norm.text, forms, cand.admin, explain=False)
                if forced:
                    cand.partial, cand.differs = True, forced
            if cand.partial:
                sc -= PARTIAL_PENALTY
            cand.score = float(min(1.0, max(0.0, sc)))
            cand.qualifier, cand.cut = norm.qualifier, norm.cut
            out.append((cand.partial, -round(sc, 6), tie_d, pid, cand, forms))
        out.sort(key=lambda t: t[:4])
        for *_key, cand, forms in out[:limit]:  # say what differs for the ones shown
            if cand.partial and not cand.differs:
                cand.differs = partial_of(norm.text, forms, cand.admin)[1]
        return [t[4] for t in out[:limit]]

    def _near_bonus(self, near, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Score bonus for closeness to the hint, or (weaker) to the centre's area."""
        if near is not None:
            dist = haversine_many_m(near[0], near[1], lon, lat)
            return NEAR_BONUS / (1.0 + np.nan_to_num(dist, nan=1e9) / NEAR_HALF_M)
        if self.home is not None:
            home = haversine_many_m(self.home[0], self.home[1], lon, lat)
            return 0.5 * NEAR_BONUS / (1.0 + np.nan_to_num(home, nan=1e9) / (10 * NEAR_HALF_M))
        return np.zeros(len(lon))


def _admin_keys(index: GeoIndex, admin_codes: np.ndarray) -> tuple[bytes, bytes, bytes]:
    """For the exact, core and sound tables: a byte per slot, 1 when the key of the slot
    carries at least one entry of an administrative kind (over the CSR arrays, for all
    keys at once; bytes, which the garbage collector does not traverse)."""
    is_admin = np.zeros(len(index.kind_names) + 1, dtype=bool)
    is_admin[admin_codes] = True
    is_admin = is_admin[index.kinds]
    out: list[bytes] = []
    for table in (index.exact, index.core, index.sound):
        seen = np.zeros(len(table.ids) + 1, dtype=np.int64)
        np.cumsum(is_admin[table.ids], out=seen[1:])
        out.append((seen[table.starts[1:]] > seen[table.starts[:-1]]).tobytes())
    return out[0], out[1], out[2]


def load_geocoder(engine: Engine, cache_dir: Path | None) -> Geocoder:
    """A Geocoder over the places table: loaded from the cache file in cache_dir when
    the table has not changed since (count, max id, format), else built and cached."""
    t0 = time.perf_counter()
    path = Path(cache_dir) / CACHE_NAME if cache_dir else None
    # Without a cache file, the signature is taken from the rows as they are read.
    sig = places_signature(engine) if path and path.exists() else None
    if path and sig is not None:
        gc.disable()
        try:
            index = GeoIndex.load(path, sig)
        finally:
            gc.enable()
    else:
        index = None
    cached = index is not None
    if index is None:
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small containers, no cycles: the collector only slows the build
        try:
            index = GeoIndex.build(read_places(engine), signature=sig, cache=path)
        finally:
            if gc_was_enabled:
                gc.enable()
    prepare_pinyin()   # characters not in the index: pypinyin ready for them
    geo = Geocoder(index)
    # np.unique imports numpy.ma on its first call (~10 ms): here, not in the first search
    import numpy.ma  # noqa: F401
    release_free_memory()   # the build's or the load's temporaries: their pages back to the system
    geo.build_s = time.perf_counter() - t0
    geo.loaded_from_cache = cached
    return geo
