"""Patterns of spoken place text: intersections (A和B路口, A与B交叉口, A、B, A/B, A B,
AB口, two road names run together) and resolution of a road name with a wrong or
homophone character against the roads of the gazetteer."""
from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from dispatch.geo.pinyin_keys import canonical

INTERSECTION_MARKERS = ("十字路口", "交叉路口", "丁字路口", "交叉口", "交汇处", "交汇口", "交界处",
                        "交界", "交口", "路口", "口")
SEPARATORS = re.compile(r"\s*(?:和|与|跟|同|及|、|/|\\|&|\+|\s)\s*")
ROAD_END = "路街道弄巷线桥"


def strip_intersection_marker(text: str) -> tuple[str, bool]:
    """Text without a trailing intersection marker, and whether one was there."""
    for m in INTERSECTION_MARKERS:
        if text.endswith(m) and len(text) > len(m) + 1:
            rest = text[: -len(m)]
            if m != "口" and rest.endswith("的"):
                rest = rest[:-1]
            elif m == "路口" and rest[-1] not in ROAD_END:
                rest = text[:-1]  # 南京西路口 -> 南京西路
            return rest, True
    return text, False


def intersection_splits(text: str) -> tuple[list[tuple[str, str]], bool]:
    """Possible (road A, road B) readings of the text; the flag says the text was
    explicitly an intersection (a marker or a separator)."""
    body, marked = strip_intersection_marker(text.strip())
    splits: list[tuple[str, str]] = []
    for m in SEPARATORS.finditer(body):
        a, b = body[: m.start()].strip(), body[m.end():].strip()
        if len(a) >= 2 and len(b) >= 2:
            splits.append((a, b))
    explicit = marked or bool(splits)
    compact = body.replace(" ", "")
    for i in range(2, len(compact) - 1):
        if compact[i - 1] in ROAD_END:
            splits.append((compact[:i], compact[i:]))
    return splits, explicit


class RoadResolver:
    """Road names of the gazetteer, found by exact name, sound, or closeness."""

    def __init__(self, names: list[str], entries: list[int]):
        self.names = names
        self.entries = entries
        self.by_name: dict[str, list[int]] = {}
        self.by_sound: dict[str, list[int]] = {}
        for n, e in zip(names, entries):
            self.by_name.setdefault(n, []).append(e)
            self.by_sound.setdefault(canonical(n), []).append(e)
        self.sounds = list(self.by_sound)
        self._cache: dict[str, list[tuple[int, float]]] = {}
        self._edges: tuple[set[str], set[str], set[int]] | None = None
        self.edges()   # now, not in the first search

    def edges(self) -> tuple[set[str], set[str], set[int]]:
        """Sounds of the first and of the last characters of the road names, and their lengths."""
        if self._edges is None:
            self._edges = ({canonical(n[0]) for n in self.names}, {canonical(n[-1]) for n in self.names},
                           {len(n) for n in self.names})
        return self._edges

    def resolve(self, text: str, limit: int = 3) -> list[tuple[int, float]]:
        """(entry, similarity 0..1) of the roads that text may name, best first."""
        got = self._cache.get(text)
        if got is not None:
            return got
        out: dict[int, float] = {}
        for e in self.by_name.get(text, ()):
            out[e] = 1.0
        snd = canonical(text)
        for e in self.by_sound.get(snd, ()):
            out.setdefault(e, 0.92)
        if len(out) < limit and self.names:
            for name, score, j in process.extract(text, self.names, scorer=fuzz.ratio,
                                                  limit=limit, score_cutoff=60):
                e = self.entries[j]
                out[e] = max(out.get(e, 0.0), score / 100 * 0.88)
            for s, score, _j in process.extract(snd, self.sounds, scorer=fuzz.ratio,
                                                limit=limit, score_cutoff=80):
                for e in self.by_sound[s]:
                    out[e] = max(out.get(e, 0.0), score / 100 * 0.86)
        ranked = sorted(out.items(), key=lambda kv: -kv[1])[:limit]
        if len(self._cache) > 5000:
            self._cache.clear()
        self._cache[text] = ranked
        return ranked


# A stretch of road between two cross streets: 九江路上，江西中路和河南中路中间 /
# 在九江路江西中路到河南中路那一段 / 从A路到B路这段.
BETWEEN = re.compile("中间|之间|当中|那一段|这一段|一段|路段|那段|这段|之内|(?<=路|街|道)到|(?<=路|街|道)至")
JUNCTION_WORDS = re.compile("十字路口|丁字路口|交叉路口|交叉口|交汇处|交汇口|交界|交口|路口|[和与跟同及、/&+]")


def spot_roads(text: str, resolver: RoadResolver, max_len: int) -> list[tuple[int, int, int, float]]:
    """Road names said inside the text, left to right: (start, end, entry, score), the
    longest name at each position, exact (1.0) or same sound (0.92), none inside
    another. At most len(text) * max_len dictionary look-ups, and only for spans that
    start and end with the sound of a road name's first and last character."""
    firsts, lasts, lengths = resolver.edges()
    sounds = [canonical(c) for c in text]
    spots: list[tuple[int, int, int, float]] = []
    reach = 0
    for i in range(len(text) - 1):
        if sounds[i] not in firsts:
            continue
        for ln in range(min(max_len, len(text) - i), 1, -1):
            if i + ln <= reach:
                break
            if ln not in lengths or sounds[i + ln - 1] not in lasts:
                continue
            got = resolver.by_name.get(text[i:i + ln])
            score = 1.0
            if not got:
                got = resolver.by_sound.get("".join(sounds[i:i + ln]))
                score = 0.92
            if got:
                spots.append((i, i + ln, got[0], score))
                reach = i + ln
                break
    return spots
