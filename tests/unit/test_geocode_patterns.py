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
