"""Normalisation of place text as a call-taker types it.

Full-width to half-width, spaces, Chinese numerals before units (一百号 -> 100号),
filler words (在 ... 这边), and qualifiers (附近, 对面, 门口, 往东100米, 100号) that
are split off and kept beside the place, never thrown away.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUM_CHARS = "零〇一二两三四五六七八九十百千万"
_NUM_BEFORE_UNIT = re.compile(
    rf"([{_NUM_CHARS}]+)(?=号|弄|米|公里|栋|幢|室|单元|层|楼|组|支弄)")

# Suffixes of administrative and settlement names, longest first. Stripping one
# gives the "core" of a name (余姚市 -> 余姚, 留楚乡 -> 留楚) so that 乡/镇/街道 and a
# missing suffix all meet on the same key.
NAME_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
    "自治旗", "街道办事处", "社区居委会", "居民委员会", "村民委员会", "村委会", "居委会",
    "民族乡", "街道", "社区", "地区", "林区", "苏木", "省", "市", "区", "县", "旗", "盟",
    "镇", "乡", "村",
)

FILLER_PREFIXES = ("我现在在", "我们现在在", "我现在", "我在", "我们在", "现在在", "地址是",
                   "位置是", "地点是", "就在", "这里是", "这边是", "是在", "在")
FILLER_SUFFIXES = ("这边", "那边", "这里", "那里", "这儿", "那儿", "这块", "一带", "左右",
                   "的位置", "位置", "这个地方", "地方")
_DIRECTION = "(?:东南|东北|西南|西北|东|南|西|北)"
_QUALIFIER_PATTERNS = [
    re.compile(rf"(?:往|向|朝)?{_DIRECTION}(?:边|面|侧|方向)?(?:大约|大概|约)?\d+(?:米|公里)(?:左右|处)?$"),
    re.compile(rf"(?:往|向|朝){_DIRECTION}(?:边|面|侧|方向)?(?:一点|一些)?$"),
    re.compile("(?:斜对面|正对面|对面|附近|旁边|边上|门口|门前|大门口|大门|正门|后门|隔壁|楼下|里面|村口|"
               "周边|周围|路边|后面|前面|外面|出口|入口)$"),
    re.compile(rf"{_DIRECTION}(?:侧|边|面|门)$"),
]
_HOUSE_NUMBER = re.compile(r"(\d+(?:弄\d+(?:支弄)?)?(?:号楼|号院|号|弄)(?:\d+(?:号|室|栋|幢))*)$")
_MEANINGLESS = set("啊呃嗯哦喂哎唉呀吧呢吗嘛的了哈嘿噢额诶欸么呵喔哇")
_PUNCT = re.compile(r"[，。！？；：、,.!?;:\"'“”‘’（）()\[\]【】《》<>~`@#$%^&*_+=|\\/-]")


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """The place part of the text, and what was split off beside it."""

    text: str           # the place words only, half-width, no spaces kept unless separators
    qualifier: str      # '附近', '往东100米', '100号' ... ('' when none)
    raw: str


def to_halfwidth(text: str) -> str:
    """Full-width ASCII and the ideographic space to their half-width forms."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def chinese_number(text: str) -> int:
    """Value of a Chinese numeral such as 一百零五, 二十, 十三, 三五 (digit by digit)."""
    if all(c in _DIGITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + digit) * unit
                section, digit = 0, 0
            else:
                section += (digit or 1) * unit
                digit = 0
    return total + section + digit


def convert_numerals(text: str) -> str:
    """Chinese numerals written before a unit (号, 弄, 米 ...) become digits."""
    return _NUM_BEFORE_UNIT.sub(lambda m: str(chinese_number(m.group(1))), text)


_SUFFIX_BY_LAST: dict[str, tuple[str, ...]] = {}
for _suf in NAME_SUFFIXES:
    _SUFFIX_BY_LAST[_suf[-1]] = _SUFFIX_BY_LAST.get(_suf[-1], ()) + (_suf,)


def core_name(name: str) -> str:
    """The name without its administrative/settlement suffix, if at least 2 characters remain."""
    for suf in _SUFFIX_BY_LAST.get(name[-1:], ()):
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def is_meaningless(text: str) -> bool:
    """True for text with no place words at all: empty, punctuation, interjections."""
    stripped = _PUNCT.sub("", text).strip()
    return not stripped or all(c in _MEANINGLESS or c.isspace() for c in stripped)


def _strip_fillers(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for pre in FILLER_PREFIXES:
            if text.startswith(pre) and len(text) > len(pre) + 1:
                text, changed = text[len(pre):], True
        for suf in FILLER_SUFFIXES:
            if text.endswith(suf) and len(text) > len(suf) + 1:
                text, changed = text[: -len(suf)], True
    return text


def normalise(raw: str) -> NormalisedText:
    """Split raw text into the place words and a kept qualifier."""
    text = to_halfwidth(raw or "").strip()
    text = re.sub(r"[(\[【]([^)\]】]*)[)\]】]", r" \1 ", text.replace("（", "(").replace("）", ")"))
    text = re.sub(r"\s+", " ", text).strip()
    text = convert_numerals(text)
    text = re.sub(r"[。！？!?，,；;]+$", "", text).strip()
    quals: list[str] = []
    for _ in range(4):
        before = text
        text = _strip_fillers(text.strip())
        for pat in _QUALIFIER_PATTERNS:
            m = pat.search(text)
            if m and m.start() >= 2:
                quals.insert(0, m.group(0))
                text = text[: m.start()].rstrip(" 的")
        m = _HOUSE_NUMBER.search(text)
        if m and m.start() >= 2:
            quals.insert(0, m.group(1))
            text = text[: m.start()].rstrip()
        if text == before:
            break
    return NormalisedText(text=text.strip(), qualifier="".join(quals), raw=raw or "")
