"""Naming a point: real points of the demo OSM, offsets computed here from the OSM
nodes themselves (not from the code under test)."""
from __future__ import annotations

import math
import time
from collections import defaultdict

import pytest

from dispatch.geo.reverse import ReverseGeocoder, direction_of
from dispatch.geo.osm import read_osm
from dispatch.services.locations import Location

from dispatch.settings import RESOURCES

OSM = RESOURCES / "demo" / "shanghai-huangpu.osm"
M_PER_DEG_LAT = 6371008.8 * math.pi / 180


@pytest.fixture(scope="module")
def osm():
    return read_osm(OSM)


@pytest.fixture(scope="module")
def rev(osm):
    return ReverseGeocoder(osm, admin=["上海市", "黄浦区"], grid_of=lambda lon, lat: "G1")


def shared_nodes(osm, a: str, b: str) -> list[int]:
    names = defaultdict(set)
    for w in osm.drivable_ways():
        for n in w.node_ids:
            names[n].add(w.name)
    return [n for n, s in names.items() if {a, b} <= s]


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
            lat + north_m / M_PER_DEG_LAT)


def test_point_east_of_a_junction(osm, rev):
    # the eastern node of 福州路 × 西藏中路; a point 40 m due east of it lies by 福州路
    node = max(shared_nodes(osm, "福州路", "西藏中路"), key=lambda n: osm.nodes[n][0])
    lon, lat = offset(*osm.nodes[node], 40, 0)
    p = rev.describe(lon, lat)
    assert p.kind == "intersection" and p.name == "福州路与西藏中路交叉口"
    assert p.direction == "东" and abs(p.distance_m - 40) < 1
    assert p.label == "福州路与西藏中路交叉口 东40米"
    assert p.admin == ["上海市", "黄浦区"] and p.grid_id == "G1"
    assert p.as_json()["label"] == p.label and p.as_json()["grid"] == "G1"


def test_point_beside_a_road_far_from_junctions(osm, rev):
    # a block of 河南南路 (OSM nodes 1315785594 -> 481390839) far from any junction of two
    # named roads (its western carriageway); a point 15 m west of the segment's middle
    (x1, y1), (x2, y2) = osm.nodes[1315785594], osm.nodes[481390839]
    mid = ((x1 + x2) / 2, (y1 + y2) / 2)
    kx = M_PER_DEG_LAT * math.cos(math.radians(mid[1]))
    junctions = [osm.nodes[n] for n in shared_nodes_any(osm)]
    assert min(math.hypot((j[0] - mid[0]) * kx, (j[1] - mid[1]) * M_PER_DEG_LAT) for j in junctions) > 200
    p = rev.describe(*offset(*mid, -15, 0))
    assert p.kind == "road" and p.name == "河南南路" and p.direction == "西"
    # perpendicular distance: 15 m times the sine of the angle between segment and east
    slope = math.atan2((y2 - y1) * M_PER_DEG_LAT, (x2 - x1) * kx)
    assert abs(p.distance_m - 15 * abs(math.sin(slope))) < 0.5
    assert p.label == f"河南南路 西{round(p.distance_m)}米"


def shared_nodes_any(osm) -> list[int]:
    names = defaultdict(set)
    for w in osm.drivable_ways():
        if w.name:
            for n in w.node_ids:
                names[n].add(w.name)
    return [n for n, s in names.items() if len(s) >= 2 and n in osm.nodes]


def test_far_away_point_has_no_name(rev):
    assert rev.describe(116.397, 39.909) is None  # Tian'anmen: not in the Shanghai extract


def test_directions():
    assert [direction_of(*d) for d in ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))] \
        == ["东", "东北", "北", "西北", "西", "西南", "南", "东南"]


def test_fast(rev):
    import numpy as np
    pts = np.random.default_rng(3).uniform([121.46, 31.22], [121.49, 31.24], (500, 2))
    t = time.thread_time()
    for lon, lat in pts:
        rev.describe(lon, lat)
    assert (time.thread_time() - t) / len(pts) < 0.002


def test_manual_location_is_named_not_coordinates(osm, rev):
    node = max(shared_nodes(osm, "福州路", "西藏中路"), key=lambda n: osm.nodes[n][0])
    lon, lat = offset(*osm.nodes[node], 40, 0)
    loc = Location.manual(lon, lat, "福州路那边", rev.describe(lon, lat))
    assert loc.name == "福州路与西藏中路交叉口 东40米" and loc.lon == lon and loc.admin == ["上海市", "黄浦区"]
    bare = Location.manual(lon, lat)
    assert bare.name == "地图选点" and f"{lon:.5f}" not in bare.name
    bare.validate()


def test_app_reverse_uses_posts_grids_and_admin(app):
    # a demo post (stations.csv: 威海路岗亭 at OSM node 477568534) names a point 10 m south of it
    osm = read_osm(OSM)
    lon, lat = offset(*osm.nodes[477568534], 0, -10)
    p = app.reverse.describe(lon, lat)
    assert p.kind == "post" and p.name == "威海路岗亭" and p.direction == "南"
    assert p.admin == ["上海市", "黄浦区"] and p.grid_id == app.grid_index.grid_at(lon, lat)
