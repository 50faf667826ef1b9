"""Whether a candidate accounts for everything the caller said.

A candidate is *partial* when its name (for a junction: its two roads; for a road
segment: the road and both ends; or the alias it was found by) does not account for
every place character of the normalised text, not counting the administrative names
of its own path that were said, the words that only give the structure (和, 与,
路口, 中间, 那一段 ...) and the qualifier split off before (附近, 100号 ...).
Characters with the same sound count as accounted (福洲路 is 福州路 said aloud); a
different character (南京东路 for 南京西路) or words left over (外滩) do not. `differs`
says what differs, e.g. "东→西，“外滩”未对上"."""
from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from dispatch.geo.pinyin_keys import readings
from dispatch.geo.text import core_name

STRUCTURE = re.compile(
    "十字路口|丁字路口|交叉路口|交叉口|交汇处|交汇口|交界处|交界|交口|路口|中间|之间|当中|那一段|这一段|"
    "一段|路段|那段|这段|这个|那个|这边|那边|这里|那里|靠近|[和与跟同及、/\\\\&+的到至上段口从在靠近边 ]")
_IGNORED = re.compile(r"[\s\W_]", re.UNICODE)


def _sounds(text: str) -> list[str]:
    return [readings(c)[0] or c for c in text]


def partial_of(text: str, forms: list[str], admin: list[str], explain: bool = True) -> tuple[bool, str]:
    """(partial, differs) of a candidate for the place text: `forms` are the names it
    stands for (its name, its roads, the alias matched), best first; `admin` its
    administrative path. Without `explain`, differs may be left empty when the answer
    is already certain (a cheap first pass over many candidates)."""
    n = len(text)
    if n == 0:
        return False, ""
    covered = list(_base_cover(text))
    forms = [f for f in forms if f]
    for form in forms:  # said exactly: no alignment needed
        start = text.find(form)
        while start >= 0:
            covered[start:start + len(form)] = [True] * len(form)
            start = text.find(form, start + 1)
    _mark_context(text, covered, admin)
    if all(covered):
        return False, ""
    said, joined = _said(text)
    form_sounds = [_sounds(f) for f in forms]
    for fs in form_sounds:  # said with the same sound (福洲路 for 福州路)
        key = "|" + "|".join(fs) + "|"
        pos = joined.find(key)
        while pos >= 0:
            i = joined.count("|", 0, pos)
            covered[i:i + len(fs)] = [True] * len(fs)
            pos = joined.find(key, pos + 1)
    if all(covered):
        return False, ""
    if not explain:
        heard = set().union(*form_sounds) if form_sounds else set()
        if any(not c and said[i] not in heard for i, c in enumerate(covered)):
            return True, ""
    swaps: list[tuple[int, int, str]] = []
    for k, (form, fs) in enumerate(zip(forms, form_sounds)):
        sm = SequenceMatcher(None, said, fs, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                covered[i1:i2] = [True] * (i2 - i1)
            elif tag == "replace" and k == 0 and i2 - i1 <= 2 and j2 - j1 <= 2:
                swaps.append((i1, i2, f"{text[i1:i2]}→{form[j1:j2]}"))
    if all(covered):
        return False, ""
    parts = [s for i1, i2, s in swaps if not all(covered[i1:i2])]
    swapped = {i for i1, i2, s in swaps if not all(covered[i1:i2]) for i in range(i1, i2)}
    left, run = [], ""
    for i, ch in enumerate(text):
        if not covered[i] and i not in swapped:
            run += ch
        elif run:
            left.append(run)
            run = ""
    if run:
        left.append(run)
    if left:
        parts.append("".join(f"“{w if len(w) <= 12 else w[:12] + '…'}”" for w in left[:3]) + "未对上")
    return True, "，".join(parts)


def _mark_context(text: str, covered: list[bool], admin: list[str]) -> None:
    """Mark the candidate's own administrative names said in the text."""
    for a in admin:
        for word in {a, core_name(a)}:
            if len(word) < 2:
                continue
            start = text.find(word)
            while start >= 0:
                covered[start:start + len(word)] = [True] * len(word)
                start = text.find(word, start + 1)


@lru_cache(maxsize=64)
def _base_cover(text: str) -> tuple[bool, ...]:
    """Characters accounted for every candidate: structure words, spaces, punctuation."""
    covered = [bool(_IGNORED.match(ch)) for ch in text]
    for m in STRUCTURE.finditer(text):
        covered[m.start():m.end()] = [True] * (m.end() - m.start())
    return tuple(covered)


@lru_cache(maxsize=64)
def _said(text: str) -> tuple[list[str], str]:
    """Sounds of the text's characters, and them joined with separators for searching."""
    said = _sounds(text)
    return said, "|" + "|".join(said) + "|"
