"""Callers speak in sentences: the geocoder reads the place words among fillers,
complaints, directions, "between", "near" and "opposite".

tests/data/speech_queries.jsonl is the held-out set: phrasings written from how
callers talk on the phone about the real roads, junctions and landmarks of the demo
(resources/demo/shanghai-huangpu.osm, landmarks.csv), never generated from the
gazetteer's keys, and never used to tune the reading of speech (that was done on
tests/data/speech_tuning.jsonl). Its top-1 accuracy measured blind, when written:
67/70; after two general fixes made on seeing its misses (fillers stripped in every
clause, a metro exit 2号口 read as a qualifier): 69/70. The one miss left is a
mistyped initial (ysdl for 延安东路 yadl)."""
import json
from pathlib import Path

import pytest

from tests.unit.geocode_fixtures import build_geocoder, demo_places

DATA = Path(__file__).resolve().parents[1] / "data"
HELD_OUT_TOP1 = 0.9  # measured 0.957 blind, 0.986 now; a drop below the floor fails


@pytest.fixture(scope="module")
def geo():
    return build_geocoder(demo_places())


def load(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def hit(c, expect):
    if expect.get("kind") == "segment":
        return (c.kind == "segment" and c.name.startswith(expect["road"])
                and all(end in c.context for end in expect["ends"]))
    return c.name == expect["name"]


def test_held_out_set_is_apart_and_large():
    held, tuning = load("speech_queries.jsonl"), load("speech_tuning.jsonl")
    assert len(held) >= 60
    assert not {q["text"] for q in held} & {q["text"] for q in tuning}
    assert sum(q["expect"].get("kind") == "segment" for q in held) >= 8


def test_held_out_top1(geo):
    held = load("speech_queries.jsonl")
    misses = []
    for q in held:
        cands = geo.search(q["text"], limit=3)
        if not (cands and hit(cands[0], q["expect"])):
            misses.append((q["text"], [c.name for c in cands]))
    assert 1 - len(misses) / len(held) >= HELD_OUT_TOP1, misses


def test_junction_inside_a_sentence(geo):
    c = geo.search("你们快来福州路和浙江中路的十字路口")[0]
    assert (c.name, c.kind, c.partial) == ("浙江中路与福州路交叉口", "intersection", False)


@pytest.mark.parametrize("text", ["九江路上，江西中路和河南中路中间", "在九江路江西中路到河南中路那一段"])
def test_between_two_cross_streets_is_the_segment(geo, text):
    cands = geo.search(text, limit=5)
    seg = cands[0]
    assert seg.kind == "segment" and not seg.partial
    assert "江西中路" in seg.context and "河南中路" in seg.context and seg.name.startswith("九江路")
    ends = {c.name: c for c in geo.search("九江路与江西中路交叉口", limit=1) + geo.search("九江路与河南中路交叉口", limit=1)}
    a, b = ends["九江路与江西中路交叉口"], ends["九江路与河南中路交叉口"]
    assert seg.lon == pytest.approx((a.lon + b.lon) / 2) and seg.lat == pytest.approx((a.lat + b.lat) / 2)
    # the single junctions and the road are offered too, but as partial matches
    assert all(c.partial for c in cands[1:])


def test_segment_json(geo):
    d = geo.search("九江路上，江西中路和河南中路中间")[0].as_json()
    assert d["kind"] == "segment" and d["partial"] is False and d["admin"] == ["上海市", "黄浦区"]


@pytest.mark.parametrize("text", ["fuzhoulu xizangzhonglu", "fuzhouluxizangzhonglu", "fzlxzzl",
                                  "FuZhouLu XiZangZhongLu"])
def test_typed_pinyin_of_two_roads_is_the_junction(geo, text):
    assert geo.search(text)[0].name == "福州路与西藏中路交叉口"


def test_initials_of_one_road_still_the_road(geo):
    assert geo.search("fzl")[0].name == "福州路"


@pytest.mark.parametrize("text,qual", [("福州路西藏中路路口对面", "对面"), ("喂，我在豫园门口，有人晕倒了", "门口"),
                                       ("城隍庙附近有人打架", "附近")])
def test_near_opposite_gate_stay_qualifiers(geo, text, qual):
    c = geo.search(text)[0]
    assert c.qualifier == qual and not c.partial


def test_speech_clause_without_place_is_dropped(geo):
    c = geo.search("我被人打了，在延安东路和西藏中路")[0]
    assert c.name == "延安东路与西藏中路交叉口" and not c.partial
