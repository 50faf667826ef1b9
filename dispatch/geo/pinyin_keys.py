"""Pinyin keys of place names: the full toneless pinyin (homophones and wrong
characters with the same sound meet on it) and the initials (type-ahead: rmgc ->
人民广场).

Readings are looked up per character and cached, which is ~50x faster than phrase
segmentation and matters at 700k names. The first (most common) reading of a
character is its canonical one, used on both sides when Chinese text is compared;
names with polyphonic characters also get keys for their other readings, so that
what a call-taker types from the real pronunciation (changhe for 长河) is found.
"""
from __future__ import annotations

import itertools
import re
from functools import lru_cache

from pypinyin import Style, pinyin

MAX_VARIANTS = 3
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


@lru_cache(maxsize=None)
def readings(ch: str) -> tuple[str, ...]:
    """Toneless readings of one character (ü written v), first = canonical; the
    character itself (lower-cased) when it has no pinyin (digits, Latin)."""
    if ch.isascii():
        return (ch.lower(),) if ch.isalnum() else ("",)
    got = pinyin(ch, style=Style.NORMAL, heteronym=True, errors=lambda x: [x])[0]
    first = got[0].replace("ü", "v") if got and got[0] else ch
    out = [first]
    for r in ALTERNATE_READINGS.get(ch, ()):
        if r not in out and r in {g.replace("ü", "v") for g in got}:
            out.append(r)
    return tuple(out)


def canonical(text: str) -> str:
    """Full pinyin of text with each character's canonical reading, no separators."""
    return "".join(readings(c)[0] for c in text)


def _combos(text: str) -> list[tuple[str, ...]]:
    options = [readings(c)[:2] for c in text]
    out = []
    for combo in itertools.product(*options):
        out.append(combo)
        if len(out) >= MAX_VARIANTS:
            break
    return out


def typed_keys(text: str) -> set[str]:
    """Keys a call-taker may type for this name: full pinyin and initials, for up to
    MAX_VARIANTS readings of its polyphonic characters."""
    keys: set[str] = set()
    for combo in _combos(text):
        full = "".join(combo)
        if full:
            keys.add(full)
        ini = "".join(s[0] for s in combo if s)
        if ini:
            keys.add(ini)
    return keys


def name_keys(name: str, core_len: int) -> tuple[str, set[str]]:
    """Both keys of a name in one pass: the canonical sound of its first core_len
    characters (its core), and its typed keys (as typed_keys)."""
    rs = [readings(c) for c in name]
    sound = "".join(r[0] for r in rs[:core_len])
    if all(len(r) == 1 for r in rs):
        full = "".join(r[0] for r in rs)
        ini = "".join(r[0][0] for r in rs if r[0])
        return sound, {k for k in (full, ini) if k}
    return sound, typed_keys(name)


def is_typed_pinyin(text: str) -> bool:
    """True when the query is Latin letters only (pinyin or initials typed)."""
    return bool(_ASCII_QUERY.match(text))


