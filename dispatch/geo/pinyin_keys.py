"""Pinyin keys of place names: the full toneless pinyin (homophones and wrong
characters with the same sound meet on it) and the initials (type-ahead: rmgc ->
人民广场).

Readings are looked up per character and cached, which is ~50x faster than phrase
segmentation and matters at 700k names; pypinyin is therefore loaded without its
phrase dictionary (PYPINYIN_NO_PHRASES), which would cost ~45 MB for nothing. For
the index, bulk_keys reads all names at once with str.translate. The first (most
common) reading of a character is its canonical one, used on both sides when Chinese text is compared;
names with polyphonic characters also get keys for their other readings, so that
what a call-taker types from the real pronunciation (changhe for 长河) is found.
"""
from __future__ import annotations

import itertools
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAX_VARIANTS = 3  # _variants relies on it being at most 3
_ASCII_QUERY = re.compile(r"^[a-zA-Z][a-zA-Z' ]*$")


# Characters of place names commonly read another way than pypinyin's first reading
# (重庆 chongqing, 长河 changhe, 厦门 xiamen, 六安 lu'an ...). Other characters keep only
# their first reading: pypinyin lists rare readings for most characters, and keys for
# every combination would triple the index for nothing.
ALTERNATE_READINGS = {
    "长": ("chang",), "重": ("chong",), "行": ("hang",), "乐": ("yue", "lao"), "朝": ("zhao",),
    "藏": ("zang", "cang"), "厦": ("xia",), "堡": ("pu", "bu"), "单": ("shan", "chan"),
    "曾": ("ceng",), "会": ("kuai",), "都": ("dou",), "石": ("dan",), "解": ("xie",),
    "六": ("lu",), "番": ("pan",), "尉": ("yu",), "蚌": ("beng",), "埔": ("pu",), "浒": ("xu",),
    "莞": ("guan", "wan"), "荥": ("xing",), "丽": ("li",), "济": ("ji",), "泊": ("bo",),
    "圳": ("zhen",), "涌": ("chong",), "车": ("ju",), "家": ("jia",), "沙": ("sha",),
    "大": ("dai",), "柏": ("bai", "bo"), "洞": ("tong",), "地": ("di",), "传": ("zhuan",),
    "广": ("guang",), "调": ("diao",), "台": ("tai",), "觉": ("jue",), "秘": ("bi",),
    "角": ("jue",), "蔚": ("yu",), "铅": ("yan",), "阿": ("e",), "宿": ("xiu",), "率": ("lv",),
    "校": ("jiao",), "场": ("chang",), "还": ("huan",), "仇": ("qiu",), "查": ("zha",),
    "盖": ("ge",), "区": ("ou",), "员": ("yun",), "相": ("xiang",), "省": ("xing",),
}


_READINGS: dict[str, tuple[str, ...]] = {}


def _heteronyms(ch: str) -> list[str]:
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")    # read before pypinyin's first import
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
    from pypinyin import Style, pinyin
    readings: list[list[str]] = pinyin(ch, style=Style.NORMAL, heteronym=True,
                                       errors=lambda x: [x])  # type: ignore[arg-type,return-value]  # a list is what pypinyin wants
    return readings[0]


def prepare() -> None:
    """Import pypinyin now (~50 ms), not in the first search that meets a new character."""
    _heteronyms("中")


def readings_state() -> tuple[str, tuple[str, str, int], bytes]:
    """The readings cached so far, packed (the characters, their readings joined, how
    many each has), for the index's cache file: a geocoder loaded from it does not
    call pypinyin for the characters of its names (seed_readings)."""
    from dispatch.geo.key_tables import pack_strings
    items = [(c, r) for c, r in _READINGS.items() if len(c) == 1]
    return "".join(c for c, _r in items), pack_strings([x for _c, r in items for x in r]), \
        bytes(len(r) for _c, r in items)


def seed_readings(state: tuple[str, tuple[str, str, int], bytes]) -> None:
    """Cache the readings of readings_state (what readings() would compute)."""
    from dispatch.geo.key_tables import unpack_strings
    chars, packed, counts = state
    flat = iter(unpack_strings(packed))
    for ch, k in zip(chars, counts):
        got = tuple(itertools.islice(flat, k))
        _READINGS.setdefault(ch, got)


def readings(ch: str) -> tuple[str, ...]:
    """Toneless readings of one character (ü written v), first = canonical; the
    character itself (lower-cased) when it has no pinyin (digits, Latin). Cached."""
    got_readings = _READINGS.get(ch)
    if got_readings is None:
        got_readings = _READINGS[ch] = _read(ch)
    return got_readings


def read_all(chars: "set[str] | list[str]") -> None:
    """Cache the readings of the characters (as readings() would): those pypinyin
    knows in one call (its result for a run of such characters is theirs one by one),
    which is several times faster than a call each."""
    new = [c for c in chars if len(c) == 1 and not c.isascii() and c not in _READINGS]
    if not new:
        return
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
    from pypinyin import Style, pinyin
    from pypinyin.constants import PINYIN_DICT
    known = [c for c in new if ord(c) in PINYIN_DICT]
    got: list[list[str]] = pinyin("".join(known), style=Style.NORMAL, heteronym=True,
                                  errors=lambda x: [x])  # type: ignore[arg-type,return-value]
    if len(got) == len(known):
        for c, heteronyms in zip(known, got):
            _READINGS[c] = _reading_of(c, heteronyms)


def _read(ch: str) -> tuple[str, ...]:
    if ch.isascii():
        return (ch.lower(),) if ch.isalnum() else ("",)
    return _reading_of(ch, _heteronyms(ch))


def _reading_of(ch: str, got: list[str]) -> tuple[str, ...]:
    first = got[0].replace("ü", "v") if got and got[0] else ch
    out = [first]
    for r in ALTERNATE_READINGS.get(ch, ()):
        if r not in out and r in {g.replace("ü", "v") for g in got}:
            out.append(r)
    return tuple(out)


def canonical(text: str) -> str:
    """Full pinyin of text with each character's canonical reading, no separators."""
    cache = _READINGS
    return "".join((cache.get(c) or readings(c))[0] for c in text)


def _variants(rs: list[tuple[str, ...]]) -> list[list[str]]:
    """Readings of the name other than the canonical one, as the 2nd ... MAX_VARIANTS-th
    combinations of the first two readings of each character in itertools.product
    order: flip the last polyphonic character, then the one before it."""
    poly = [i for i, r in enumerate(rs) if len(r) > 1]
    if not poly:
        return []
    firsts = [r[0] for r in rs]
    return [firsts[:j] + [rs[j][1]] + firsts[j + 1:] for j in poly[::-1][:MAX_VARIANTS - 1]]


def _keys_of(combo: list[str], keys: set[str]) -> None:
    full = "".join(combo)
    if full:
        keys.add(full)
    ini = "".join([s[0] for s in combo if s])
    if ini:
        keys.add(ini)


def typed_keys(text: str) -> set[str]:
    """Keys a call-taker may type for this name: full pinyin and initials, for up to
    MAX_VARIANTS readings of its polyphonic characters."""
    rs = [readings(c) for c in text]
    keys: set[str] = set()
    _keys_of([r[0] for r in rs], keys)
    for combo in _variants(rs):
        _keys_of(combo, keys)
    return keys


def bulk_keys(names: list[str], cores: list[str]) -> tuple[list[str], list[str], list[str],
                                                       list[int], list[str]]:
    """Keys of many names at once, at C speed (str.translate over all names joined):
    the canonical sound of each core (cores[i] is a prefix of names[i]), the full
    pinyin and the initials of each name, and the keys of the other readings of the
    names with polyphonic characters as two lists, (name index, key) pairs (a key may
    repeat one of the name's others): together typed_keys(name).

    The other readings are read the same way: in each such name the last (then the
    last but one) polyphonic character is replaced by a private character that stands
    for its second reading (found for all names at once over their code points), and
    all those variants are translated at once."""
    import numpy as np

    from dispatch.geo.key_tables import code_points
    if not names:
        return [], [], [], [], []
    codes = np.flatnonzero(np.bincount(code_points("".join(names)))).tolist()
    chars = set(map(chr, codes))
    read_all(chars)
    free = (chr(c) for c in itertools.chain(range(32), range(0xE000, 0xF900), range(0xF0000, 0xFFFFE))
            if chr(c) not in chars)
    sep = next(free)
    full_of = {ord(c): readings(c)[0] for c in chars}
    initial_of = {ord(c): readings(c)[0][:1] for c in chars}
    cps = code_points(sep.join(names))
    fulls = _translate(cps, sep, full_of).split(sep)
    initials = _initials(cps, sep, initial_of).split(sep)
    sounds = _prefix_sounds(cps, sep, fulls, names, cores, full_of)
    poly = sorted(c for c in chars if len(readings(c)) > 1)
    if not poly:
        return sounds, fulls, initials, [], []
    alt = [next(free) for _ in poly]  # the private character of each one's second reading
    for c, a in zip(poly, alt):
        full_of[ord(a)] = readings(c)[1]
        initial_of[ord(a)] = readings(c)[1][:1]
    owners, variants = _variant_text(names, cps, sep, poly, alt)
    if not owners:
        return sounds, fulls, initials, [], []
    keys = _translate(variants, sep, full_of).split(sep) + _initials(variants, sep, initial_of).split(sep)
    return sounds, fulls, initials, owners + owners, keys


def _translate(cps: "np.ndarray", sep: str, table: dict[int, str]) -> str:
    """The text of the code points translated by table (str.translate; every character
    but sep in table, sep kept), over the code points at once: each character's
    translation gathered from all translations joined."""
    import numpy as np

    from dispatch.geo.key_tables import code_points, from_code_points
    if not len(cps):
        return ""
    codes = np.fromiter(table, dtype=np.int64, count=len(table))
    values = list(table.values())
    lens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    joined = code_points("".join(values) + sep)
    size = max(int(cps.max()), int(codes.max(initial=0)), ord(sep)) + 1
    length_of = np.zeros(size, dtype=np.int64)
    length_of[codes] = lens
    length_of[ord(sep)] = 1
    start_of = np.zeros(size, dtype=np.int64)
    start_of[codes] = np.cumsum(lens) - lens
    start_of[ord(sep)] = len(joined) - 1
    read = length_of[cps]
    out_start = np.cumsum(read) - read
    at = np.repeat(start_of[cps] - out_start, read)
    at += np.arange(len(at), dtype=np.int64)
    return from_code_points(joined[at])


def _prefix_sounds(cps: "np.ndarray", sep: str, fulls: list[str], names: list[str], cores: list[str],
                   full_of: dict[int, str]) -> list[str]:
    """[core.translate(full_of) for core in cores], cut from the names' full readings
    (each core is a prefix of its name): the length of each core's reading summed over
    the code points of all names at once."""
    import numpy as np

    codes = np.fromiter(full_of, dtype=np.int64, count=len(full_of))
    length_of = np.zeros(max(int(cps.max(initial=0)), int(codes.max(initial=0)), ord(sep)) + 1, dtype=np.int64)
    length_of[codes] = np.fromiter(map(len, full_of.values()), dtype=np.int64, count=len(full_of))
    length_of[ord(sep)] = 0
    read = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(length_of[cps], out=read[1:])
    lens = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    starts = np.cumsum(lens + 1) - (lens + 1)
    core_lens = np.fromiter(map(len, cores), dtype=np.int64, count=len(cores))
    cut = (read[starts + core_lens] - read[starts]).tolist()
    return [full[:k] for full, k in zip(fulls, cut)]


def _initials(cps: "np.ndarray", sep: str, initial_of: dict[int, str]) -> str:
    """The text of the code points translated by initial_of (every character but sep in
    initial_of, which maps to one character or none; sep kept) at once."""
    import numpy as np

    from dispatch.geo.key_tables import from_code_points
    if not len(cps):
        return ""
    chars = np.fromiter(initial_of, dtype=np.int64, count=len(initial_of))
    table = np.full(max(int(cps.max()), int(chars.max(initial=0)), ord(sep)) + 1, -1, dtype=np.int64)
    table[chars] = np.fromiter((ord(v) if v else -1 for v in initial_of.values()), dtype=np.int64,
                               count=len(initial_of))
    table[ord(sep)] = ord(sep)
    out = table[cps]
    return from_code_points(out[out >= 0])


def _variant_text(names: list[str], joined: "np.ndarray", sep: str, poly: list[str],
                  alt: list[str]) -> "tuple[list[int], np.ndarray]":
    """The names with a polyphonic character, once with the last one replaced by its
    private character and (MAX_VARIANTS 3) once with the last but one: their name
    indexes and the code points of the variants joined by sep (joined: the names'
    code points joined by sep)."""
    import numpy as np

    cps = np.concatenate([joined, np.asarray([ord(sep)], dtype=joined.dtype)])
    lens = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    ends = np.cumsum(lens + 1) - 1          # the separator after each name
    poly_cps = np.asarray([ord(c) for c in poly], dtype=np.uint32)   # sorted
    alt_cps = np.asarray([ord(a) for a in alt], dtype=np.uint32)
    pos = np.flatnonzero(np.isin(cps, poly_cps))
    if not len(pos):
        return [], cps[:0]
    name_of = np.searchsorted(ends, pos)
    last = np.ones(len(pos), dtype=bool)
    np.not_equal(name_of[1:], name_of[:-1], out=last[:-1])
    second = np.zeros(len(pos), dtype=bool)
    if MAX_VARIANTS > 2:
        second[:-1] = ~last[:-1] & last[1:]
    which = np.flatnonzero(last | second)   # in name order, the last but one before the last
    var_pos, var_name = pos[which], name_of[which]
    counts = lens[var_name] + 1
    out_start = np.cumsum(counts) - counts
    name_start = ends[var_name] - lens[var_name]
    text = cps[np.repeat(name_start - out_start, counts) + np.arange(int(counts.sum()), dtype=np.int64)]
    text[out_start + var_pos - name_start] = alt_cps[np.searchsorted(poly_cps, cps[var_pos])]
    return var_name.tolist(), text[:-1]


def is_typed_pinyin(text: str) -> bool:
    """True when the query is Latin letters only (pinyin or initials typed)."""
    return bool(_ASCII_QUERY.match(text))


