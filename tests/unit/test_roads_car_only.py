"""Which roads are for motor vehicles only (left out of the e-bike and foot graphs, and
never where an incident is snapped)."""
import pytest

from dispatch.geo.roads_osm import _car_only


@pytest.mark.parametrize("highway, tags, only", [
    ("motorway", {}, True),
    ("motorway_link", {}, True),
    ("trunk", {"bridge": "yes"}, True),            # 延安高架
    ("trunk_link", {"bridge": "viaduct"}, True),
    ("trunk", {}, False),                          # a trunk on the ground
    ("primary", {"tunnel": "yes"}, True),          # 外滩隧道
    ("secondary_link", {"tunnel": "yes"}, True),
    ("tertiary", {"tunnel": "building_passage"}, True),
    ("primary", {"bridge": "yes"}, False),         # a bridge over a creek: everyone crosses it
    ("primary", {"tunnel": "no"}, False),
    ("residential", {"tunnel": "yes"}, False),     # an underpass of a lane: people walk through
    ("service", {"tunnel": "yes"}, False),
])
def test_motor_only_roads(highway, tags, only):
    assert _car_only(highway, tags) is only
