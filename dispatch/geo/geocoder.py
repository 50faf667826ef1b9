"""The geocoder: caller's words -> ranked candidate places with their administrative
context. Never one silent guess: ambiguous text returns the alternatives.

Pipeline: normalise (qualifier split off) -> typed pinyin/initials, or intersections
and names (exact, suffix-less core, same-sound pinyin key) for every suffix of the
text with the text before it read as administrative context -> character-bigram
fuzzy fallback -> rank (match quality, administrative match, kind, distance to
`near`)."""
from __future__ import annotations

import gc
import math
import time
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy.engine import Engine

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import haversine_many_m
from dispatch.geo.gazetteer import Candidate
from dispatch.geo.geocode_index import ADMIN_KINDS, GeoIndex, places_signature, read_places
from dispatch.geo.geocode_patterns import RoadResolver, intersection_splits
from dispatch.geo.pinyin_keys import canonical, is_typed_pinyin
from dispatch.geo.text import core_name, is_meaningless, normalise

EMPTY_MESSAGE = "请输入地点：路名、路口、地标或村镇名称（例如 西藏中路与福州路交叉口）"
MAX_IDS_PER_KEY = 5000
HEAD_PENALTY = 0.1      # per character before the name that is not administrative context
ADMIN_BONUS = 0.04      # per administrative name matched in the text
NEAR_BONUS = 0.15       # at distance 0 from the hint, halved at NEAR_HALF_M
NEAR_HALF_M = 2000.0
CACHE_NAME = "geocoder-index.pkl"


class Geocoder:
    """Searches one GeoIndex. Thread-safe for readers (no shared mutable state
    besides small caches)."""

    def __init__(self, index: GeoIndex):
        self.index = index
        self.roads = RoadResolver([index.names[e] for e in index.road_entries], index.road_entries)
        self._admin_codes = np.asarray(
            [i for i, k in enumerate(index.kind_names) if k in ADMIN_KINDS], dtype=np.int16)
        # admin path prefix -> ids of the paths under it (馬渚镇's path -> its villages' paths)
        under: dict[tuple[str, ...], list[int]] = {}
        for pid, path in enumerate(index.paths):
            for k in range(1, len(path) + 1):
                under.setdefault(path[:k], []).append(pid)
        self._under = {k: np.asarray(v, dtype=np.int32) for k, v in under.items()}
        self._piece_cache: dict[str, np.ndarray | None] = {}
        self.build_s = 0.0
        self.loaded_from_cache = False
        # The centre's own area: a weaker hint used when a search gives no `near`.
        self.home: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self.index)

    # ---- public ---------------------------------------------------------
    def search(self, text: str, near: tuple[float, float] | None = None,
               limit: int = 10) -> list[Candidate]:
        """Candidates for the text, best first. DispatchError for empty or
        meaningless text."""
        norm = normalise(text or "")
        if is_meaningless(norm.text):
            raise DispatchError(EMPTY_MESSAGE)
        q = norm.text
        found: dict[int, float] = {}
        if is_typed_pinyin(q):
            self._typed(q.lower().replace(" ", "").replace("'", ""), found)
        else:
            self._intersections(q, found)
            parts = q.split()
            compact = "".join(parts)
            self._names(compact, found)
            if len(parts) > 1:  # 斗门村 马渚: the context said after the name
                self._names("".join(reversed(parts)), found)
            if not found or max(found.values()) < 0.85:
                self._fuzzy(compact, found)
        return self._rank(found, near, limit, norm.qualifier)

    # ---- gathering ------------------------------------------------------
    @staticmethod
    def _add(found: dict[int, float], ids, scores) -> None:
        for i, s in zip(ids, scores):
            i = int(i)
            if s > found.get(i, -9.0):
                found[i] = float(s)

    def _typed(self, q: str, found: dict[int, float]) -> None:
        t = self.index.typed
        exact = t.get(q)[:MAX_IDS_PER_KEY]
        self._add(found, exact, np.full(len(exact), 0.9))
        lo, hi = t.prefix_range(q)
        taken = 0
        for k in range(lo, min(hi, lo + 400)):
            key = t.keys[k]
            if key == q:
                continue
            ids = t.key_ids(k)[:MAX_IDS_PER_KEY]
            self._add(found, ids, np.full(len(ids), 0.55 + 0.3 * len(q) / len(key)))
            taken += len(ids)
            if taken > MAX_IDS_PER_KEY:
                break

    def _intersections(self, q: str, found: dict[int, float]) -> None:
        if not self.roads.names:
            return
        splits, explicit = intersection_splits(q)
        for a, b in splits:
            ra, rb = self.roads.resolve(a), self.roads.resolve(b)
            hit = False
            for ea, sa in ra:
                for eb, sb in rb:
                    key = tuple(sorted((self.index.names[ea], self.index.names[eb])))
                    e = self.index.road_pairs.get(key)
                    if e is not None:
                        hit = True
                        self._add(found, [e], [min(1.0, sa * sb + (0.02 if explicit else 0.0))])
            if explicit:  # the roads themselves, first when they do not meet
                for e, s in ra[:1] + rb[:1]:
                    self._add(found, [e], [(0.6 if hit else 0.8) * s])

    def _admin_paths(self, piece: str) -> np.ndarray | None:
        """Path ids under the administrative places that `piece` may name (exact name,
        core, or same sound), or None when it names none. Cached across searches."""
        got = self._piece_cache.get(piece, False)
        if got is not False:
            return got
        idx = self.index
        c = core_name(piece)
        ids = np.concatenate([idx.exact.get(piece), idx.core.get(piece), idx.core.get(c),
                              idx.sound.get(canonical(c))])
        result = None
        if len(ids):
            ids = ids[np.isin(idx.kinds[ids], self._admin_codes)][:MAX_IDS_PER_KEY]
            under = [self._under.get(idx.full_path(int(i))) for i in ids]
            under = [u for u in under if u is not None]
            if under:
                result = np.unique(np.concatenate(under))
        if len(self._piece_cache) > 50_000:
            self._piece_cache.clear()
        self._piece_cache[piece] = result
        return result

    def _head_tokens(self, head: str) -> list[tuple[int, np.ndarray]]:
        """Greedy longest-first reading of the text before a name as administrative
        names: (characters, path ids of the places under the admin place it names)."""
        tokens = []
        pos = 0
        while pos < len(head):
            for end in range(len(head), pos + 1, -1):
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
        for n, paths in self._head_tokens(head):
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

    def _names(self, q: str, found: dict[int, float]) -> None:
        """Every suffix of q as a name with the text before it as context, and every
        prefix as a name with administrative context said after it."""
        for start in range(0, max(1, len(q) - 1)):
            got = self._lookup(q[start:])
            if got is not None:
                ids, base = got
                if start:
                    base = base + self._head_adjust(q[:start], ids)
                self._add(found, ids, base)
        for end in range(len(q) - 2, 1, -1):
            rest = q[end:]
            if self._admin_paths(rest) is None and not self._head_tokens(rest):
                continue
            got = self._lookup(q[:end])
            if got is not None:
                ids, base = got
                self._add(found, ids, base + self._head_adjust(rest, ids) - 0.02)

    def _fuzzy(self, q: str, found: dict[int, float]) -> None:
        """Character-bigram candidates scored by closeness, for wrong characters that do
        not sound alike and for partial names; the administrative context read at the
        start of the text is applied to what follows it."""
        self._fuzzy_part(q, "", found)
        head_len = self._context_prefix(q)
        if 0 < head_len <= len(q) - 2:
            self._fuzzy_part(q[head_len:], q[:head_len], found)

    def _context_prefix(self, q: str) -> int:
        """Length of the administrative names at the very start of q."""
        pos = 0
        while pos < len(q):
            for end in range(len(q) - 2, pos + 1, -1):
                if self._admin_paths(q[pos:end]) is not None:
                    pos = end
                    break
            else:
                return pos
        return pos

    def _fuzzy_part(self, q: str, head: str, found: dict[int, float]) -> None:
        idx = self.index
        grams = {q[j:j + 2] for j in range(len(q) - 1)}
        lists = [idx.bigram.get(g) for g in grams]
        lists = [ids for ids in lists if 0 < len(ids) <= 50_000] or [ids[:50_000] for ids in lists]
        if not lists:
            return
        ids, counts = np.unique(np.concatenate(lists), return_counts=True)
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
        self._add(found, ids[keep], scores[keep])

    # ---- ranking --------------------------------------------------------
    def _rank(self, found: dict[int, float], near, limit: int, qualifier: str) -> list[Candidate]:
        if not found:
            return []
        idx = self.index
        ids = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
        score = np.fromiter(found.values(), dtype=np.float64, count=len(found)) + idx.prior[ids]
        dist = None
        if near is None and self.home is not None:
            home = haversine_many_m(self.home[0], self.home[1], idx.lon[ids], idx.lat[ids])
            score = score + 0.5 * NEAR_BONUS / (1.0 + np.nan_to_num(home, nan=1e9) / (10 * NEAR_HALF_M))
        if near is not None:
            dist = haversine_many_m(near[0], near[1], idx.lon[ids], idx.lat[ids])
            bonus = NEAR_BONUS / (1.0 + np.nan_to_num(dist, nan=1e9) / NEAR_HALF_M)
            score = score + bonus
        tie = np.nan_to_num(dist, nan=1e12) if dist is not None else np.zeros(len(ids))
        order = np.lexsort((idx.place_ids[ids], tie, -np.round(score, 6)))[:limit]
        out = []
        for o in order:
            i = int(ids[o])
            admin = list(idx.admin_of(i))
            lon, lat = idx.lon[i], idx.lat[i]
            out.append(Candidate(
                place_id=int(idx.place_ids[i]), name=idx.names[i], kind=idx.kind_of(i),
                lon=None if math.isnan(lon) else float(lon), lat=None if math.isnan(lat) else float(lat),
                admin=admin, score=float(min(1.0, max(0.0, score[o]))),
                precision=idx.prec_names[idx.prec[i]], source=idx.src_names[idx.src[i]],
                context=idx.context.get(i) or " ".join(admin), qualifier=qualifier,
                distance_m=None if dist is None or math.isnan(dist[o]) else float(dist[o])))
        return out


def load_geocoder(engine: Engine, cache_dir: Path | None) -> Geocoder:
    """A Geocoder over the places table: loaded from the cache file in cache_dir when
    the table has not changed since (count, max id, format), else built and cached."""
    t0 = time.perf_counter()
    sig = places_signature(engine)
    path = Path(cache_dir) / CACHE_NAME if cache_dir else None
    if path:
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
            index = GeoIndex.build(read_places(engine), signature=sig)
        finally:
            if gc_was_enabled:
                gc.enable()
        if path:
            try:
                index.save(path)
            except OSError:
                pass  # a read-only cache directory only costs the next start time
    geo = Geocoder(index)
    geo.build_s = time.perf_counter() - t0
    geo.loaded_from_cache = cached
    return geo
