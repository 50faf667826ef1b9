"""Junctions and road segments read from what was said: two roads typed as pinyin or
initials (fuzhoulu xizangzhonglu, fzlxzzl), two road names anywhere in a sentence
(你们快来福州路和浙江中路的十字路口), and "between" (九江路上，江西中路和河南中路中间):
the segment of a road between two junctions, its point the midpoint of the two
junction points, its context naming both ends."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

from dispatch.geo.gazetteer import Candidate
from dispatch.geo.geocode_index import GeoIndex, pair_key
from dispatch.geo.geocode_patterns import BETWEEN, JUNCTION_WORDS, RoadResolver, spot_roads

MAX_IDS_PER_KEY = 5000  # entries taken from one key


@dataclass
class Hits:
    """What one search gathered: entry -> score, entry -> the text it was found by,
    and candidates that are not entries (road segments)."""

    found: dict[int, float] = field(default_factory=dict)
    via: dict[int, str] = field(default_factory=dict)
    virtual: list[tuple[float, Candidate, list[str], str]] = field(default_factory=list)

    def add(self, ids, scores, via: str | None = None) -> None:
        found = self.found
        for i, sc in zip(ids, scores):
            i = int(i)
            if sc > found.get(i, -9.0):
                found[i] = float(sc)
            if via and i not in self.via:
                self.via[i] = via


class JunctionReader:
    """The roads of one index, with which roads cross which (at which junction entry)."""

    def __init__(self, index: GeoIndex, roads: RoadResolver, max_road: int):
        self.index, self.roads, self.max_road = index, roads, max_road
        self.road_codes = {i for i, k in enumerate(index.kind_names) if k == "road"}
        # road name -> {cross road name: junction entry}
        self.crossing: dict[str, dict[str, int]] = {}
        for (a, b), e in index.road_pairs.items():
            self.crossing.setdefault(a, {})[b] = e
            self.crossing.setdefault(b, {})[a] = e

    def typed_roads(self, key: str) -> list[int]:
        ids = self.index.typed.get(key)[:MAX_IDS_PER_KEY]
        return [int(i) for i in ids if int(self.index.kinds[i]) in self.road_codes]

    def typed(self, q: str, hits: Hits) -> None:
        """Two roads typed as pinyin or initials (fuzhoulu xizangzhonglu,
        fuzhouluxizangzhonglu, fzlxzzl): their junction."""
        if not self.index.road_pairs:
            return
        parts = q.replace("'", " ").split()
        if len(parts) == 2:
            splits = [(parts[0], parts[1])]
        else:
            s = "".join(parts)
            splits = [(s[:i], s[i:]) for i in range(2, len(s) - 1)]
        for a, b in splits:
            ra = self.typed_roads(a)
            if not ra:
                continue
            for eb in self.typed_roads(b):
                for ea in ra:
                    key = pair_key(self.index.names[ea], self.index.names[eb])
                    e = self.index.road_pairs.get(key)
                    if e is not None:
                        hits.add([e], [0.92])

    def spoken(self, q: str, hits: Hits) -> None:
        """Road names said anywhere in a sentence: the junction of two of them, and
        for "between" (中间, 那一段, A到B) the segment of a road between two junctions."""
        if len(self.crossing) == 0:
            return
        names: dict[str, tuple[int, float]] = {}
        for _s, _e, entry, score in spot_roads(q, self.roads, self.max_road):
            names.setdefault(self.index.names[entry], (entry, score))
            hits.add([entry], [0.75 * score])  # a road said somewhere in the sentence
        if len(names) < 2:
            return
        marker = 0.02 if JUNCTION_WORDS.search(q) else 0.0
        for (a, (_ea, sa)), (b, (_eb, sb)) in combinations(names.items(), 2):
            e = self.crossing.get(a, {}).get(b)
            if e is not None:
                hits.add([e], [min(1.0, 0.97 * sa * sb + marker)])
        if not BETWEEN.search(q):
            return
        said = list(names)
        if len(said) >= 3:
            for r in said:
                cross = self.crossing.get(r, {})
                ends = [n for n in said if n != r and n in cross]
                for a, b in combinations(ends, 2):
                    s = 0.99 * names[r][1] * names[a][1] * names[b][1]
                    self._segment(r, a, b, s, hits, "")
        elif len(said) == 2:
            a, b = said
            common = set(self.crossing.get(a, {})) & set(self.crossing.get(b, {}))
            for r in sorted(common)[:5]:
                self._segment(r, a, b, 0.8 * names[a][1] * names[b][1], hits, f"未说明哪条路：{r}？")

    def _segment(self, road: str, a: str, b: str, score: float, hits: Hits, forced: str) -> None:
        idx = self.index
        ja, jb = self.crossing[road][a], self.crossing[road][b]
        entries = self.roads.by_name.get(road)
        if not entries or math.isnan(idx.lon[ja]) or math.isnan(idx.lon[jb]):
            return
        e = entries[0]
        admin = list(idx.admin_of(e))
        cand = Candidate(
            place_id=None, name=f"{road}（{a}至{b}段）", kind="segment",
            lon=float((idx.lon[ja] + idx.lon[jb]) / 2), lat=float((idx.lat[ja] + idx.lat[jb]) / 2),
            admin=admin, score=0.0, precision="segment", source=idx.src_names[idx.src[e]],
            context=f"{road}：{a}与{b}之间")
        hits.virtual.append((score + float(idx.prior[e]), cand, [road, a, b], forced))
