"""Spoken intersection forms and road resolution with wrong characters."""
import pytest

from dispatch.geo.geocode_patterns import RoadResolver, intersection_splits, strip_intersection_marker


@pytest.mark.parametrize("text,body", [("南京西路口", "南京西路"), ("福州路西藏中路口", "福州路西藏中路"),
                                       ("成都北路路口", "成都北路"), ("A路和B路十字路口", "A路和B路"),
                                       ("A路与B路交界", "A路与B路"), ("A路和B路的路口", "A路和B路")])
def test_markers(text, body):
    assert strip_intersection_marker(text) == (body, True)


@pytest.mark.parametrize("text", ["南京西路和成都北路", "南京西路与成都北路", "南京西路跟成都北路",
                                  "南京西路、成都北路", "南京西路/成都北路", "南京西路 成都北路",
                                  "南京西路成都北路口", "南京西路成都北路"])
def test_splits_include_the_two_roads(text):
    splits, _explicit = intersection_splits(text)
    assert ("南京西路", "成都北路") in splits


def test_road_resolution_by_sound_and_closeness():
    names = ["福州路", "西藏中路", "南京西路", "北京西路"]
    r = RoadResolver(names, list(range(len(names))))
    assert r.resolve("福州路")[0] == (0, 1.0)
    assert r.resolve("福洲路")[0][0] == 0          # homophone
    assert r.resolve("西藏仲路")[0][0] == 1        # homophone in the middle
    assert r.resolve("南京西")[0][0] == 2          # missing suffix
    assert r.resolve("完全无关")[:1] == [] or r.resolve("完全无关")[0][1] < 0.6


def test_spot_roads_in_a_sentence():
    from dispatch.geo.geocode_patterns import spot_roads
    names = ["九江路", "江西中路", "河南中路", "江西南路"]
    r = RoadResolver(names, list(range(len(names))))
    spots = spot_roads("我在九江路上，江西中路和河南中路中间", r, 4)
    assert [(names[e], s) for _a, _b, e, s in spots] == [("九江路", 1.0), ("江西中路", 1.0), ("河南中路", 1.0)]
    assert [names[e] for _a, _b, e, _s in spot_roads("九江路江西忠路", r, 4)] == ["九江路", "江西中路"]  # same sound
    assert spot_roads("路" * 10_000, r, 4) == []
