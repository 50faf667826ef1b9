"""Reader for OpenStreetMap XML (.osm) files, shared by the road graph and the
gazetteer importers.

Only what the console needs is kept: node coordinates, ways with their node
references and tags, and named nodes (POIs, stations) with their tags.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.domain.errors import DispatchError

DRIVABLE_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "road",
})


@dataclass(frozen=True, slots=True)
class OsmWay:
    """One OSM way: its id, the ids of its nodes in order, and its tags."""

    id: int
    node_ids: tuple[int, ...]
    tags: dict[str, str] = field(hash=False, compare=False)

    @property
    def name(self) -> str:
        return self.tags.get("name", "")

    @property
    def highway(self) -> str:
        return self.tags.get("highway", "")


@dataclass(frozen=True, slots=True)
class OsmNamedNode:
    """A node that carries a name tag (a POI, a station, a named junction)."""

    id: int
    lon: float
    lat: float
    tags: dict[str, str] = field(hash=False, compare=False)


@dataclass(slots=True)
class OsmData:
    """Everything read from one .osm file. Coordinates are WGS-84 (lon, lat)."""

    nodes: dict[int, tuple[float, float]]
    ways: list[OsmWay]
    named_nodes: list[OsmNamedNode]
    bounds: tuple[float, float, float, float] | None  # min_lon, min_lat, max_lon, max_lat
    attribution: str = "© OpenStreetMap contributors, ODbL 1.0"

    def drivable_ways(self) -> list[OsmWay]:
        return [w for w in self.ways if w.highway in DRIVABLE_HIGHWAYS]


def read_osm(path: str | Path) -> OsmData:
    """Parse an .osm XML file. Raises DispatchError with a clear message if the
    file is missing or is not OSM XML."""
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到 OSM 文件: {path}")
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[OsmWay] = []
    named: list[OsmNamedNode] = []
    bounds = None
    try:
        for _event, elem in ET.iterparse(path, events=("end",)):
            tag = elem.tag
            if tag == "node":
                nid = int(elem.get("id"))
                lon, lat = float(elem.get("lon")), float(elem.get("lat"))
                nodes[nid] = (lon, lat)
                tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                if "name" in tags:
                    named.append(OsmNamedNode(nid, lon, lat, tags))
                elem.clear()
            elif tag == "way":
                refs = tuple(int(nd.get("ref")) for nd in elem.iter("nd"))
                tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                ways.append(OsmWay(int(elem.get("id")), refs, tags))
                elem.clear()
            elif tag == "bounds":
                bounds = (float(elem.get("minlon")), float(elem.get("minlat")),
                          float(elem.get("maxlon")), float(elem.get("maxlat")))
    except ET.ParseError as exc:
        raise DispatchError(f"不是有效的 OSM XML 文件: {path} ({exc})") from None
    except (TypeError, ValueError):  # a node without coordinates, an id that is not a number
        raise DispatchError(f"OSM 文件中有缺少坐标或编号无效的要素: {path}") from None
    if not nodes:
        raise DispatchError(f"OSM 文件中没有节点: {path}")
    return OsmData(nodes=nodes, ways=ways, named_nodes=named, bounds=bounds)


def osm_bounds(osm: OsmData) -> tuple[float, float, float, float]:
    """The extract's <bounds> (min_lon, min_lat, max_lon, max_lat); refused when it has none."""
    if osm.bounds is None:
        raise DispatchError("OSM 文件缺少 <bounds>（范围），无法划分网格")
    return osm.bounds
