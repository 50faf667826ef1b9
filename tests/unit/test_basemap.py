"""build_basemap on the real demo OSM extract and on small hand-made data."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch.geo.basemap import HIGHWAY_RANK, LABEL_SPACING_M, build_basemap
from dispatch.geo.coords import haversine_m
from dispatch.geo.osm import DRIVABLE_HIGHWAYS, OsmData, OsmWay, read_osm

ROOT = Path(__file__).resolve().parents[2]
DEMO_OSM = ROOT / "resources" / "demo" / "shanghai-huangpu.osm"


@pytest.fixture(scope="module")
def osm() -> OsmData:
    return read_osm(DEMO_OSM)


@pytest.fixture(scope="module")
def basemap(osm: OsmData) -> dict:
    return build_basemap(osm)


def test_roads_are_one_linestring_per_drivable_way(osm, basemap):
    roads = basemap["roads"]
    assert roads["type"] == "FeatureCollection"
    drivable = {w.id: w for w in osm.drivable_ways()}
    ids = [f["properties"]["id"] for f in roads["features"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i for i, w in drivable.items()
                        if len({n for n in w.node_ids if n in osm.nodes}) >= 2}
    for f in roads["features"]:
        assert f["geometry"]["type"] == "LineString"
        assert len(f["geometry"]["coordinates"]) >= 2
        props = f["properties"]
        way = drivable[props["id"]]
        assert props["highway"] == way.highway and props["highway"] in DRIVABLE_HIGHWAYS
        assert props["name"] == way.name
        assert isinstance(props["oneway"], bool)
        assert props["oneway"] == (way.tags.get("oneway") == "yes")
        assert props["rank"] == HIGHWAY_RANK[way.highway]


def test_coordinates_are_the_way_nodes_in_order(osm, basemap):
    feature = next(f for f in basemap["roads"]["features"] if f["properties"]["name"] == "西藏中路")
    way = next(w for w in osm.ways if w.id == feature["properties"]["id"])
    first, last = osm.nodes[way.node_ids[0]], osm.nodes[way.node_ids[-1]]
    coords = feature["geometry"]["coordinates"]
    assert coords[0] == pytest.approx(list(first), abs=1e-6)
    assert coords[-1] == pytest.approx(list(last), abs=1e-6)


def test_roads_sorted_so_arterials_are_drawn_last(basemap):
    ranks = [f["properties"]["rank"] for f in basemap["roads"]["features"]]
    assert ranks == sorted(ranks)
    assert HIGHWAY_RANK["primary"] > HIGHWAY_RANK["tertiary"] > HIGHWAY_RANK["residential"]
    assert max(ranks) >= 5 and min(ranks) <= 1


def test_bounds_and_roads_inside_them(osm, basemap):
    min_lon, min_lat, max_lon, max_lat = basemap["bounds"]
    assert basemap["bounds"] == list(osm.bounds)
    assert 121.0 < min_lon < max_lon < 122.0 and 31.0 < min_lat < max_lat < 31.5
    for f in basemap["roads"]["features"]:
        for lon, lat in f["geometry"]["coordinates"]:
            assert min_lon - 0.01 <= lon <= max_lon + 0.01
            assert min_lat - 0.01 <= lat <= max_lat + 0.01


def test_labels_name_real_roads_and_are_spread_out(basemap):
    names = {f["properties"]["name"] for f in basemap["roads"]["features"]} - {""}
    labels = basemap["labels"]
    assert {lab["name"] for lab in labels} <= names
    assert {"西藏中路", "福州路", "延安东路"} <= {lab["name"] for lab in labels}
    for lab in labels:
        assert -90 <= lab["angle"] <= 90
    by_name: dict[str, list[dict]] = {}
    for lab in labels:
        by_name.setdefault(lab["name"], []).append(lab)
    for same in by_name.values():
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                assert haversine_m(a["lon"], a["lat"], b["lon"], b["lat"]) >= LABEL_SPACING_M


def test_attribution_and_json(basemap):
    assert "OpenStreetMap" in basemap["attribution"] and "ODbL" in basemap["attribution"]
    again = json.loads(json.dumps(basemap, ensure_ascii=False))
    assert again["bounds"] == basemap["bounds"]


def _tiny(ways: list[OsmWay], bounds=None) -> OsmData:
    nodes = {1: (121.0, 31.0), 2: (121.001, 31.0), 3: (121.002, 31.001), 4: (121.5, 31.5)}
    return OsmData(nodes=nodes, ways=ways, named_nodes=[], bounds=bounds)


def test_oneway_minus_one_is_reversed_and_non_roads_dropped():
    data = _tiny([
        OsmWay(10, (1, 2, 3), {"highway": "primary", "oneway": "-1", "name": "反向路"}),
        OsmWay(11, (1, 2), {"highway": "residential"}),
        OsmWay(12, (1, 4), {"highway": "footway", "name": "步行道"}),
        OsmWay(13, (2, 99), {"highway": "secondary"}),  # one node missing: no line
        OsmWay(14, (1, 2), {"highway": "tertiary", "junction": "roundabout"}),
    ])
    bm = build_basemap(data)
    by_id = {f["properties"]["id"]: f for f in bm["roads"]["features"]}
    assert set(by_id) == {10, 11, 14}
    assert by_id[10]["properties"]["oneway"] is True
    assert by_id[10]["geometry"]["coordinates"] == [[121.002, 31.001], [121.001, 31.0], [121.0, 31.0]]
    assert by_id[11]["properties"]["oneway"] is False
    assert by_id[14]["properties"]["oneway"] is True
    # Without file bounds, the bounds are the roads' extent (node 4 is on a footway).
    assert bm["bounds"] == [121.0, 31.0, 121.002, 31.001]
    assert [lab["name"] for lab in bm["labels"]] == ["反向路"]


def test_core_module_imports_no_qt_or_folium():
    code = ("import sys, dispatch.geo.basemap; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'folium', 'branca', 'pyqtgraph')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
