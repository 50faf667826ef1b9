"""Normalisation of call-taker text and pinyin keys."""
import pytest

from dispatch.geo.pinyin_keys import canonical, is_typed_pinyin, typed_keys
from dispatch.geo.text import chinese_number, core_name, is_meaningless, normalise, to_halfwidth


def test_fullwidth_and_spaces():
    assert to_halfwidth("ＡＢＣ１２３　路") == "ABC123 路"
    assert normalise("  福州路　１００号 ").text == "福州路"


@pytest.mark.parametrize("text,value", [("一百零五", 105), ("二十", 20), ("十三", 13),
                                        ("三五", 35), ("两千零一", 2001), ("一万二千", 12000)])
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


@pytest.mark.parametrize("raw,text,qual", [
    ("南京西路一百号", "南京西路", "100号"),
    ("福州路100号", "福州路", "100号"),
    ("人民广场附近", "人民广场", "附近"),
    ("豫园门口", "豫园", "门口"),
    ("新天地往东100米", "新天地", "往东100米"),
    ("在南京西路和成都北路路口这边", "南京西路和成都北路路口", ""),
    ("我在城隍庙对面", "城隍庙", "对面"),
    ("西藏中路200弄3号", "西藏中路", "200弄3号"),
    ("斗门村（马渚）", "斗门村 马渚", ""),
    ("一心村", "一心村", ""),
])
def test_qualifiers_split_and_kept(raw, text, qual):
    n = normalise(raw)
    assert (n.text, n.qualifier) == (text, qual)


@pytest.mark.parametrize("name,core", [("余姚市", "余姚"), ("马渚镇", "马渚"), ("留楚乡", "留楚"),
                                       ("庄市街道", "庄市"), ("大邵村", "大邵"), ("新镇", "新镇"),
                                       ("大理白族自治州", "大理白族"), ("西藏中路", "西藏中路")])
def test_core_name(name, core):
    assert core_name(name) == core


@pytest.mark.parametrize("text", ["", "   ", "？？", "??", "啊啊啊", "嗯", "。，"])
def test_meaningless(text):
    assert is_meaningless(normalise(text).text)


def test_not_meaningless():
    assert not is_meaningless("和平村")


def test_pinyin_keys():
    assert canonical("福州路") == canonical("福洲路") == "fuzhoulu"
    assert "rmgc" in typed_keys("人民广场")
    assert "xzzl" in typed_keys("西藏中路")
    assert "renminguangchang" in typed_keys("人民广场")
    assert is_typed_pinyin("rmgc") and not is_typed_pinyin("人民gc")


@pytest.mark.parametrize("raw,text,qual", [
    ("喂，110吗？我在福州路和河南中路这个路口，有人打架", "福州路和河南中路这个路口", ""),
    ("你们快来福州路和浙江中路的十字路口", "福州路和浙江中路的十字路口", ""),
    ("我被人打了，在延安东路和西藏中路", "延安东路和西藏中路", ""),
    ("成都北路凤阳路路口红绿灯不亮了", "成都北路凤阳路路口", ""),
    ("福州路西藏中路路口往东100米", "福州路西藏中路路口", "往东100米"),
    ("城隍庙附近有人打架", "城隍庙", "附近"),
    ("九江路上，江西中路和河南中路中间", "九江路上 江西中路和河南中路中间", ""),
    ("我在城隍庙那边，九曲桥旁边", "城隍庙 九曲桥", "旁边"),
    ("人民广场站3号出口", "人民广场站", "3号出口"),
])
def test_speech_around_the_place(raw, text, qual):
    n = normalise(raw)
    assert (n.text, n.qualifier) == (text, qual)


def test_input_is_capped_and_the_cut_counted():
    from dispatch.geo.text import MAX_PLACE_CHARS, MAX_RAW_CHARS
    n = normalise("福" * 10_000)
    assert len(n.text) == MAX_PLACE_CHARS and n.cut == 10_000 - MAX_PLACE_CHARS
    assert normalise("在" * 10_000).cut == 10_000 - MAX_RAW_CHARS  # fillers stripped are not "cut"
