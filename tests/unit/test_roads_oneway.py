"""One one-way rule: the map's arrows (basemap) and routing (road graph) agree on every
case, on a small hand-written OSM file."""
from __future__ import annotations

import numpy as np
import pytest

from dispatch.domain.units import Travel
from dispatch.geo.basemap import build_basemap
from dispatch.geo.roads import RoadGraph
from dispatch.geo.osm import read_osm

# (tags of the tested way, expected: 1 forward only, -1 backward only, 0 both ways)
CASES = [
    ({"highway": "residential"}, 0),
    ({"highway": "residential", "oneway": "yes"}, 1),
    ({"highway": "residential", "oneway": "true"}, 1),
    ({"highway": "residential", "oneway": "1"}, 1),
    ({"highway": "residential", "oneway": "-1"}, -1),
    ({"highway": "residential", "oneway": "reverse"}, -1),
    ({"highway": "residential", "oneway": "no"}, 0),
    ({"highway": "motorway"}, 1),
    ({"highway": "motorway_link"}, 1),
    ({"highway": "motorway", "oneway": "no"}, 0),
    ({"highway": "primary", "junction": "roundabout"}, 1),
    ({"highway": "primary", "junction": "circular"}, 1),
    ({"highway": "primary", "junction": "roundabout", "oneway": "no"}, 0),
]


def _xml(tmp_path):
    """Way i runs from node (i, a) east to (i, b); a two-way residential detour
    b -> c -> a and a two-way spine through every a keep everything strongly connected."""
    nodes, ways = [], []
    for i, (tags, _exp) in enumerate(CASES):
        lat = 31.0 + i * 0.002
        a, b, c = 1000 + 3 * i, 1001 + 3 * i, 1002 + 3 * i
        nodes += [(a, 121.0, lat), (b, 121.001, lat), (c, 121.0005, lat + 0.0008)]
        ways.append((10 + i, (a, b), tags))
        ways.append((500 + i, (b, c, a), {"highway": "residential"}))
    ways.append((999, tuple(1000 + 3 * i for i in range(len(CASES))), {"highway": "residential"}))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{n}" lat="{lat}" lon="{lon}"/>' for n, lon, lat in nodes]
    for wid, refs, tags in ways:
        lines.append(f'<way id="{wid}">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                     + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    lines.append("</osm>")
    path = tmp_path / "oneway.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    osm = read_osm(_xml(tmp_path_factory.mktemp("osm")))
    return osm, build_basemap(osm), RoadGraph.from_osm(osm)


def _car_edge(graph: RoadGraph, p, q) -> bool:
    """Whether the car graph has an edge from point p to point q (lon, lat)."""
    def node(pt):
        i = int(np.argmin(np.hypot(graph.lon - pt[0], graph.lat - pt[1])))
        assert abs(graph.lon[i] - pt[0]) < 1e-7 and abs(graph.lat[i] - pt[1]) < 1e-7
        return i
    rev = graph.modes[Travel.CAR].rev  # reversed: row = head of the edge
    return bool(rev[node(q), node(p)] != 0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_map_arrows_and_routing_agree(data, case):
    osm, basemap, graph = data
    tags, expected = CASES[case]
    assert graph.node_count == 3 * len(CASES)  # nothing dropped from the component
    feature = next(f for f in basemap["roads"]["features"] if f["properties"]["id"] == 10 + case)
    drawn = feature["geometry"]["coordinates"]
    p, q = drawn[0], drawn[-1]
    # the map draws one-way roads in their permitted direction, with an arrow
    assert feature["properties"]["oneway"] is (expected != 0), tags
    if expected == -1:
        assert p[0] > q[0], "a reversed way is drawn against its node order"
    # routing: exactly the drawn direction for a one-way road, both for a two-way one
    assert _car_edge(graph, p, q), tags
    assert _car_edge(graph, q, p) is (expected == 0), tags
