"""Road graph construction rules on small hand-made OSM data."""
from __future__ import annotations

import os

import numpy as np
import pytest

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import Travel
from dispatch.geo.roads_osm import oneway_of
from dispatch.geo.roads import (RoadGraph, _way_speed, cache_key, load_or_build,
                                parse_maxspeed)
from dispatch.geo.osm import OsmData, OsmWay

# a 3x3 block of junctions ~ 100 m apart around People's Square
LON0, LAT0, D = 121.47, 31.23, 0.001


def _grid_osm(extra_ways=()) -> OsmData:
    nodes = {r * 3 + c + 1: (LON0 + c * D, LAT0 + r * D) for r in range(3) for c in range(3)}
    ways = []
    wid = 100
    for r in range(3):
        ways.append(OsmWay(wid, tuple(r * 3 + c + 1 for c in range(3)), {"highway": "residential"}))
        wid += 1
    for c in range(3):
        ways.append(OsmWay(wid, tuple(r * 3 + c + 1 for r in range(3)), {"highway": "residential"}))
        wid += 1
    ways.extend(extra_ways)
    return OsmData(nodes=nodes, ways=ways, named_nodes=[], bounds=None)


def _edge(g: RoadGraph, mode: Travel, a: int, b: int) -> float | None:
    """Seconds of the edge a->b (node indices) or None."""
    rev = g.modes[mode].rev  # row = head
    row = slice(rev.indptr[b], rev.indptr[b + 1])
    hit = np.flatnonzero(rev.indices[row] == a)
    return float(rev.data[row][hit[0]]) if len(hit) else None


def _node(g: RoadGraph, lon: float, lat: float) -> int:
    return int(np.argmin(np.hypot(g.lon - lon, g.lat - lat)))


def test_speed_rules():
    assert _way_speed("primary", {}) == 40
    assert _way_speed("residential", {}) == 20
    assert _way_speed("trunk", {"bridge": "yes"}) == 60  # elevated expressway
    assert _way_speed("trunk", {}) == 50
    assert _way_speed("secondary", {"maxspeed": "50"}) == pytest.approx(40)
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("['40', '60']") == 40
    assert parse_maxspeed("none") is None


def test_oneway_rules():
    assert oneway_of("residential", {"oneway": "yes"}) == 1
    assert oneway_of("residential", {"oneway": "-1"}) == -1
    assert oneway_of("motorway", {}) == 1
    assert oneway_of("motorway", {"oneway": "no"}) == 0
    assert oneway_of("primary", {"junction": "roundabout"}) == 1
    assert oneway_of("primary", {}) == 0


def test_oneway_respected_for_car_and_ebike_not_foot():
    # the middle row becomes one-way eastward (a second way over the same nodes
    # cannot add the westward direction: replace the two-way way)
    osm = _grid_osm()
    osm.ways[1] = OsmWay(101, (4, 5, 6), {"highway": "residential", "oneway": "yes"})
    g = RoadGraph.from_osm(osm)
    a, b = _node(g, LON0, LAT0 + D), _node(g, LON0 + D, LAT0 + D)
    assert _edge(g, Travel.CAR, a, b) is not None
    assert _edge(g, Travel.CAR, b, a) is None
    assert _edge(g, Travel.EBIKE, b, a) is None
    assert _edge(g, Travel.FOOT, b, a) is not None
    car = _edge(g, Travel.CAR, a, b)
    length = 0.001 * 111_195 * np.cos(np.radians(LAT0 + D))
    assert car == pytest.approx(length / (20 / 3.6), rel=0.01)
    assert _edge(g, Travel.FOOT, a, b) == pytest.approx(length / (5 / 3.6), rel=0.01)


def test_parallel_edges_keep_the_fastest():
    fast = OsmWay(200, (1, 2), {"highway": "primary"})
    g = RoadGraph.from_osm(_grid_osm([fast]))
    a, b = _node(g, LON0, LAT0), _node(g, LON0 + D, LAT0)
    length = 0.001 * 111_195 * np.cos(np.radians(LAT0))
    assert _edge(g, Travel.CAR, a, b) == pytest.approx(length / (40 / 3.6), rel=0.01)


def test_largest_strongly_connected_component_kept():
    # a one-way spur leaving the grid: a dead end for cars, dropped
    osm = _grid_osm([OsmWay(300, (9, 10), {"highway": "residential", "oneway": "yes"})])
    osm.nodes[10] = (LON0 + 3 * D, LAT0 + 2 * D)
    g = RoadGraph.from_osm(osm)
    assert g.node_count == 9
    assert _node(g, LON0 + 3 * D, LAT0 + 2 * D) != 9


def test_elevated_road_is_car_only():
    osm = _grid_osm([OsmWay(400, (1, 9), {"highway": "trunk", "bridge": "yes"})])
    g = RoadGraph.from_osm(osm)
    a, b = _node(g, LON0, LAT0), _node(g, LON0 + 2 * D, LAT0 + 2 * D)
    assert _edge(g, Travel.CAR, a, b) is not None
    assert _edge(g, Travel.EBIKE, a, b) is None and _edge(g, Travel.FOOT, a, b) is None


def test_snap_and_route_on_the_grid():
    g = RoadGraph.from_osm(_grid_osm())
    node, dist = g.snap(LON0 + 0.00005, LAT0)
    assert node == _node(g, LON0, LAT0) and 4 < dist < 6
    r = g.route(Travel.CAR, (LON0, LAT0), (LON0 + 2 * D, LAT0 + 2 * D))
    assert len(r.nodes) == 5  # four blocks, Manhattan
    assert r.road_meters == pytest.approx(2 * 111_195 * D * (1 + np.cos(np.radians(LAT0 + D))), rel=0.01)
    assert r.seconds == pytest.approx(r.road_meters / (20 / 3.6), rel=1e-6)
    assert r.coords[0] == (LON0, LAT0) and r.coords[-1] == (LON0 + 2 * D, LAT0 + 2 * D)


def test_save_load_roundtrip(tmp_path):
    g = RoadGraph.from_osm(_grid_osm())
    g.save(tmp_path / "g.npz")
    h = RoadGraph.load(tmp_path / "g.npz")
    assert np.array_equal(g.lon, h.lon) and np.array_equal(g.lat, h.lat)
    for m in Travel:
        assert (g.modes[m].rev != h.modes[m].rev).nnz == 0
        assert np.array_equal(g.modes[m].nodes, h.modes[m].nodes)
    a, b = (LON0, LAT0), (LON0 + 2 * D, LAT0 + D)
    assert g.route(Travel.EBIKE, a, b).seconds == h.route(Travel.EBIKE, a, b).seconds


def test_cache_follows_the_file(tmp_path):
    src = tmp_path / "a.osm"
    src.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        + "".join(f'<node id="{i}" lon="{LON0 + (i % 2) * D}" lat="{LAT0 + (i // 2) * D}"/>' for i in range(4))
        + '<way id="1"><nd ref="0"/><nd ref="1"/><nd ref="3"/><nd ref="2"/><nd ref="0"/>'
          '<tag k="highway" v="residential"/></way></osm>', encoding="utf-8")
    g = load_or_build(src, tmp_path / "cache")
    assert g.node_count == 4
    first = cache_key(src)
    assert (tmp_path / "cache" / first).is_file()
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache_key(src) != first
    load_or_build(src, tmp_path / "cache")
    assert (tmp_path / "cache" / cache_key(src)).is_file()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DispatchError, match="找不到"):
        load_or_build(tmp_path / "none.osm", tmp_path)
