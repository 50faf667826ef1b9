"""Normalisation of place text as a call-taker types it or a caller says it.

Full-width to half-width, spaces, Chinese numerals before units (一百号 -> 100号),
what callers say around the place (喂, 你们快来 ..., 有人打架, clauses without place
words), filler words (在 ... 这边), and qualifiers (附近, 对面, 门口, 往东100米, 100号)
that are split off and kept beside the place, never thrown away.

Input is capped (MAX_RAW_CHARS before, MAX_PLACE_CHARS after normalisation) and every
step is linear in its length, so no text can stall the geocoder; the number of
characters cut is reported in `NormalisedText.cut`.
"""
from __future__ import annotations

import itertools
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
FILLER_SUFFIXES = ("这条路上", "那条路上", "这条路", "这边", "那边", "这里", "那里", "这儿", "那儿", "这块", "一带", "左右",
                   "的位置", "位置", "这个地方", "地方")
_DIRECTION = "(?:东南|东北|西南|西北|东|南|西|北)"
_QUALIFIER_PATTERNS = [
    re.compile(rf"(?:往|向|朝)?{_DIRECTION}(?:边|面|侧|方向)?(?:大约|大概|约)?\d+(?:米|公里)(?:左右|处)?$"),
    re.compile(rf"(?:往|向|朝){_DIRECTION}(?:边|面|侧|方向)?(?:一点|一些)?$"),
    re.compile("(?:斜对面|正对面|对面|附近|旁边|边上|门口|门前|大门口|大门|正门|后门|隔壁|楼下|里面|村口|"
               "周边|周围|路边|后面|前面|外面|出口|入口)$"),
    re.compile(rf"{_DIRECTION}(?:侧|边|面|门)$"),
    re.compile(r"\d+号(?:出)?口$"),  # a metro exit: 人民广场站2号口
]
_HOUSE_NUMBER = re.compile(r"(\d+(?:弄\d+(?:支弄)?)?(?:号楼|号院|号|弄)(?:\d+(?:号|室|栋|幢))*)$")
# What callers say before the place (喂，你们快来 ...), stripped repeatedly, longest first.
SPEECH_PREFIXES = tuple(sorted((
    "喂", "你好", "您好", "警察同志", "民警同志", "警察", "同志", "师傅", "那个", "就是", "嗯", "啊",
    "呃", "哎", "唉", "哦", "救命啊", "救命", "快点", "快快", "赶紧", "赶快", "麻烦你们", "麻烦",
    "请你们", "帮帮忙", "你们快点来", "你们快来", "你们赶紧来", "你们", "您们", "我们", "我", "他们",
    "现在", "马上", "立刻", "派人到", "派人来", "派人过来", "派人", "快来", "快过来", "过来", "到",
    "这里是", "这边是", "地址在", "位置在", "地点在", "出事了", "出事地点", "有人在", "有人",
    "人在", "人就在", "车在", "就是在", "是在"), key=len, reverse=True))
# The first word of what happened, said after the place: the rest of the clause is cut.
_SPEECH_TAIL = re.compile(
    "(?:这里|这边|那里|那边|这儿|那儿)?(?:出车祸|出事故|有人|有个人|有个|有辆|有车|一辆|一个人|发生|出了|出事|着火|起火|失火|"
    "撞车|撞人|被撞|撞了|追尾|车祸|事故|打架|斗殴|打人|打起来|被人|吵架|纠纷|闹事|抢劫|抢包|抢东西|被偷|"
    "偷东西|小偷|晕倒|倒在|受伤|流血|持刀|跳楼|走失|走丢|红绿灯|救命|快来|快点|赶紧|赶快|来人|报警|需要|"
    "麻烦|拜托|求求)")
# After a junction marker the place is complete: what follows without place words and
# without a direction or a relation (往东100米, 对面) is what happened (路口红绿灯坏了).
_JUNCTION_END = re.compile("十字路口|丁字路口|交叉路口|交叉口|路口|口子")
_KEEPS_PLACE = re.compile("往|向|朝|东|南|西|北|附近|对面|旁边|边上|门口|\\d")
# Characters that make a clause about a place; a clause without any is speech and dropped
# (我被人打了，在福州路 -> 福州路) as long as another clause has some.
PLACE_CHARS = set("路街道弄巷桥口场园村镇区市县庙站门厦楼馆院校店坊里湾港岛山湖江河堂寺宫塔坛池"
                  "苑城号滩滨塘浜泾汇厂心域府湾寓墅栋幢")
MAX_RAW_CHARS = 300     # a call-taker never types more; the rest is cut before anything runs
MAX_PLACE_CHARS = 100   # place words kept after normalisation
# Control and invisible formatting characters (a stuck key, a paste from a web page)
# never belong to a place: read as a space.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CLAUSE = re.compile(r"[，。！？；,!?;…]+")
_MEANINGLESS = set("啊呃嗯哦喂哎唉呀吧呢吗嘛的了哈嘿噢额诶欸么呵喔哇")
# compiled here, not in the first search
_BRACKETED = re.compile(r"[(\[【]([^)\]】]*)[)\]】]")
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[，。！？；：、,.!?;:\"'“”‘’（）()\[\]【】《》<>~`@#$%^&*_+=|\\/-]")


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """The place part of the text, and what was split off beside it."""

    text: str           # the place words only, half-width, no spaces kept unless separators
    qualifier: str      # '附近', '往东100米', '100号' ... ('' when none)
    raw: str
    cut: int = 0        # characters of the input dropped by the length caps


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


SUFFIXES_BY_LAST: dict[str, tuple[str, ...]] = {}
for _suf in NAME_SUFFIXES:
    SUFFIXES_BY_LAST[_suf[-1]] = SUFFIXES_BY_LAST.get(_suf[-1], ()) + (_suf,)


def core_name(name: str) -> str:
    """The name without its administrative/settlement suffix, if at least 2 characters remain."""
    for suf in SUFFIXES_BY_LAST.get(name[-1:], ()):
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def unused_char(text: str) -> str:
    """A character that text does not contain (a separator for joining strings)."""
    for code in itertools.chain(range(32), range(0xE000, 0xF900), range(0xF0000, 0xFFFFE)):
        if chr(code) not in text:
            return chr(code)
    raise ValueError("no unused character")  # text holds every control and private character


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


def _strip_speech_prefix(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for pre in SPEECH_PREFIXES:
            if text.startswith(pre) and len(text) > len(pre) + 1:
                text, changed = text[len(pre):], True
                break
    return text


def read_speech(text: str) -> str:
    """The place words of a spoken sentence: clauses without place characters dropped
    (when another has some), and in each clause what is said before the place (喂,
    你们快来, 我在 ...) and after it (有人打架, 快点来 ...) cut. Clauses kept are joined
    with a space. Linear in the text."""
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    if len(clauses) > 1:
        placed = [c for c in clauses if any(ch in PLACE_CHARS for ch in c)]
        clauses = placed or clauses
    out = []
    for c in clauses:
        c = _strip_speech_prefix(c)
        m = _SPEECH_TAIL.search(c, 2)
        if m:
            c = c[: m.start()].rstrip(" 的")
        ends = [m for m in _JUNCTION_END.finditer(c) if m.start() >= 4]
        if ends:
            rest = c[ends[-1].end():]
            if rest and not _KEEPS_PLACE.match(rest) and not any(ch in PLACE_CHARS for ch in rest):
                c = c[: ends[-1].end()]
        c = _strip_fillers(c.strip()) if len(clauses) > 1 else c
        if c:
            out.append(c)
    return " ".join(out)


def normalise(raw: str) -> NormalisedText:
    """Split raw text into the place words and a kept qualifier. At most MAX_RAW_CHARS
    of the input are read and MAX_PLACE_CHARS of place words kept; `cut` counts the
    characters dropped."""
    raw = raw or ""
    cut = max(0, len(raw) - MAX_RAW_CHARS)
    text = _INVISIBLE.sub(" ", to_halfwidth(raw[:MAX_RAW_CHARS])).strip()
    text = _BRACKETED.sub(r" \1 ", text.replace("（", "(").replace("）", ")"))
    text = _SPACES.sub(" ", text).strip()
    text = convert_numerals(text)
    text = read_speech(text)
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
    text = text.strip()
    if len(text) > MAX_PLACE_CHARS:
        cut += len(text) - MAX_PLACE_CHARS
        text = text[:MAX_PLACE_CHARS].strip()
    return NormalisedText(text=text, qualifier="".join(quals), raw=raw, cut=cut)
