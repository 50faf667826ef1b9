"""RoadGraph.from_osm reads the ways' node references into arrays; the graph it builds is
identical, array for array, to the one of the plain reading way by way (a dict of node
numbers and lists of segments, as it was built before): on the demo extract as XML and
as PBF, on a generated city, and on hand-made ways with gaps, reversed one-ways,
repeated and missing nodes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dispatch.geo.osm import OsmData, OsmWay, read_osm
from dispatch.geo.roads import RoadGraph, _car_only, _way_speed, oneway_of

ROOT = Path(__file__).resolve().parents[2]


def _plain(osm: OsmData) -> RoadGraph:
    """The graph read way by way, node by node."""
    index: dict[int, int] = {}
    us: list[int] = []
    vs: list[int] = []
    speed: list[float] = []
    oneway: list[bool] = []
    car_only: list[bool] = []
    for way in osm.drivable_ways():
        refs = [r for r in way.node_ids if r in osm.nodes]
        if len(refs) < 2:
            continue
        hw, tags = way.highway, way.tags
        kmh, ow, co = _way_speed(hw, tags), oneway_of(hw, tags), _car_only(hw, tags)
        ids = [index.setdefault(r, len(index)) for r in refs]
        a, b = ids[:-1], ids[1:]
        if ow == -1:
            a, b = b, a
        us.extend(a)
        vs.extend(b)
        speed.extend([kmh] * len(a))
        oneway.extend([ow != 0] * len(a))
        car_only.extend([co] * len(a))
    coords = np.array([osm.nodes[i] for i in index], dtype=np.float64)
    return RoadGraph.from_edges(coords[:, 0], coords[:, 1], np.array(us), np.array(vs), np.array(speed),
                                np.array(oneway), np.array(car_only), source="osm")


def _arrays(g: RoadGraph) -> dict[str, np.ndarray]:
    out = {"lon": g.lon, "lat": g.lat}
    for m, mg in g.modes.items():
        out |= {f"{m.value}_indptr": mg.rev.indptr, f"{m.value}_indices": mg.rev.indices,
                f"{m.value}_data": mg.rev.data, f"{m.value}_nodes": mg.nodes,
                f"{m.value}_to_lm": mg.to_lm, f"{m.value}_from_lm": mg.from_lm,
                f"{m.value}_meta": np.array([mg.approach_mps, mg.typical_mps, mg.max_mps])}
    return out


def _assert_identical(osm: OsmData) -> RoadGraph:
    got, want = _arrays(RoadGraph.from_osm(osm)), _arrays(_plain(osm))
    assert got.keys() == want.keys()
    for key in want:
        assert got[key].dtype == want[key].dtype and np.array_equal(got[key], want[key]), key
    return RoadGraph.from_osm(osm)


@pytest.mark.parametrize("name", ["resources/demo/shanghai-huangpu.osm", "tests/data/osm/shanghai-huangpu.osm.pbf"])
def test_demo_extract_identical(name):
    g = _assert_identical(read_osm(ROOT / name))
    assert g.node_count > 1000


def test_generated_city_identical(tmp_path):
    spec = importlib.util.spec_from_file_location("make_city_pbf", ROOT / "tests/data/osm/make_city_pbf.py")
    assert spec is not None and spec.loader is not None
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    path = tmp_path / "city.osm.pbf"
    maker.write_city(str(path), 60, 40)
    g = _assert_identical(read_osm(path))
    assert g.node_count == 60 * 60


def test_hand_made_ways_identical():
    """Nodes as a plain dict; a gap (node 99 has no coordinates), a way left with one
    node, a reversed one-way, a node repeated in a row, a closed loop, an elevated
    trunk (car only), a footway (not drivable)."""
    nodes = {i: (121.40 + (i % 5) * 0.001, 31.20 + (i // 5) * 0.001) for i in range(1, 26)}
    ways = [OsmWay(1, (1, 2, 99, 3, 4, 5), {"highway": "residential"}),
            OsmWay(2, (5, 10, 15, 20, 25), {"highway": "secondary", "oneway": "-1"}),
            OsmWay(3, (99, 7), {"highway": "primary"}),
            OsmWay(4, (25, 24, 24, 23, 22, 21), {"highway": "tertiary", "maxspeed": "40"}),
            OsmWay(5, (21, 16, 11, 6, 1), {"highway": "trunk", "bridge": "yes", "oneway": "yes"}),
            OsmWay(6, (1, 6, 11, 16, 21, 22, 17, 12, 7, 2, 1), {"highway": "residential"}),
            OsmWay(7, (7, 8, 9, 14, 13, 8, 3), {"highway": "service"}),
            OsmWay(8, (13, 18, 23), {"highway": "footway"}),
            OsmWay(9, (3, 8, 13, 18, 23, 24, 19, 14, 9, 4), {"highway": "residential", "oneway": "yes"})]
    _assert_identical(OsmData(nodes=nodes, ways=ways, named_nodes=[], bounds=None))
