"""Reader for OpenStreetMap extracts — XML (.osm) here, PBF (.osm.pbf) in
dispatch.geo.osm_pbf — shared by the road graph, the map and the gazetteer importers.

Only what the console needs is kept: the ways it uses (every ``highway`` and every
``place=square``) with their node references and tags, the named nodes (POIs, stations)
with their tags, and the coordinates of exactly those nodes, in sorted numpy arrays
(`NodeTable`, 24 bytes a node) rather than a dict of tuples: a whole city's extract fits.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern

import numpy as np

from dispatch.domain.errors import DispatchError

DRIVABLE_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "road",
})
PBF_MAGIC = b"OSMHeader"


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


def kept_way(tags: Mapping[str, str]) -> bool:
    """The ways a reader keeps: roads and paths of every kind, and named squares."""
    return "highway" in tags or tags.get("place") == "square"


class NodeTable(Mapping[int, tuple[float, float]]):
    """node id -> (lon, lat), read-only, over three numpy arrays sorted by id."""

    __slots__ = ("ids", "lon", "lat")

    def __init__(self, ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        order = np.argsort(ids, kind="stable")
        ids, lon, lat = ids[order], lon[order], lat[order]
        last = np.ones(len(ids), dtype=bool)  # a repeated id keeps its last coordinates
        last[:-1] = ids[1:] != ids[:-1]
        self.ids = np.ascontiguousarray(ids[last], dtype=np.int64)
        self.lon = np.ascontiguousarray(lon[last], dtype=np.float64)
        self.lat = np.ascontiguousarray(lat[last], dtype=np.float64)

    def index_of(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id in the table, -1 where the table does not have it."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[pos] == ids, pos, -1)

    def _find(self, key: object) -> int:
        if not isinstance(key, (int, np.integer)):
            return -1
        ids = self.ids
        i = int(ids.searchsorted(key))
        return i if i < len(ids) and ids[i] == key else -1

    def __getitem__(self, key: int) -> tuple[float, float]:
        i = self._find(key)
        if i < 0:
            raise KeyError(key)
        return float(self.lon[i]), float(self.lat[i])

    def __contains__(self, key: object) -> bool:
        return self._find(key) >= 0

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def values(self) -> list[tuple[float, float]]:  # type: ignore[override]
        return list(zip(self.lon.tolist(), self.lat.tolist()))

    def items(self) -> list[tuple[int, tuple[float, float]]]:  # type: ignore[override]
        return list(zip(self.ids.tolist(), self.values()))

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.lon.nbytes + self.lat.nbytes)


@dataclass(slots=True)
class OsmData:
    """What was read from one extract. Coordinates are WGS-84 (lon, lat). `nodes` is a
    NodeTable from the readers (a plain dict in hand-built tests)."""

    nodes: Mapping[int, tuple[float, float]]
    ways: list[OsmWay]
    named_nodes: list[OsmNamedNode]
    bounds: tuple[float, float, float, float] | None  # min_lon, min_lat, max_lon, max_lat
    attribution: str = "© OpenStreetMap contributors, ODbL 1.0"
    format: str = "osm"  # osm (XML) / pbf

    def drivable_ways(self) -> list[OsmWay]:
        return [w for w in self.ways if w.highway in DRIVABLE_HIGHWAYS]


class NodeCollector:
    """Node coordinates gathered while reading (flat typed arrays, no object per node),
    then cut down to the nodes the kept ways and named nodes use."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.lon = array("d")
        self.lat = array("d")

    def add(self, nid: int, lon: float, lat: float) -> None:
        self.ids.append(nid)
        self.lon.append(lon)
        self.lat.append(lat)

    def table(self, ways: list[OsmWay], named: list[OsmNamedNode]) -> NodeTable:
        ids = np.frombuffer(self.ids, dtype=np.int64) if len(self.ids) else np.zeros(0, np.int64)
        lon = np.frombuffer(self.lon, dtype=np.float64) if len(self.lon) else np.zeros(0)
        lat = np.frombuffer(self.lat, dtype=np.float64) if len(self.lat) else np.zeros(0)
        used = np.fromiter((n for w in ways for n in w.node_ids), dtype=np.int64)
        used = np.union1d(used, np.fromiter((n.id for n in named), dtype=np.int64))
        keep = np.isin(ids, used)
        return NodeTable(ids[keep], lon[keep], lat[keep])


def osm_format(path: Path) -> str:
    """'pbf' or 'osm' (XML), by the file's first bytes, else by its name."""
    with open(path, "rb") as f:
        head = f.read(64)
    if PBF_MAGIC in head[:32]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "osm"
    if path.name.lower().endswith(".pbf"):
        return "pbf"
    raise DispatchError(f"不是 OSM 文件（应为 .osm XML 或 .osm.pbf）: {path}")


def read_osm(path: str | Path) -> OsmData:
    """Read an .osm XML or .osm.pbf extract (told apart by content). Raises DispatchError
    with a clear message if the file is missing, is not OSM or has no node."""
    path = Path(path)
    if not path.is_file():
        raise DispatchError(f"找不到 OSM 文件: {path}")
    if osm_format(path) == "pbf":
        from dispatch.geo.osm_pbf import read_pbf
        data = read_pbf(path)
    else:
        data = _read_xml(path)
    if not len(data.nodes):
        raise DispatchError(f"OSM 文件中没有节点: {path}")
    return data


def _tags(elem: ET.Element) -> dict[str, str]:
    return {intern(t.get("k", "")): intern(t.get("v", "")) for t in elem.iter("tag")}


def _read_xml(path: Path) -> OsmData:
    nodes = NodeCollector()
    ways: list[OsmWay] = []
    named: list[OsmNamedNode] = []
    bounds = None
    try:
        context = ET.iterparse(path, events=("start", "end"))
        _event, root = next(context)
        for event, elem in context:
            if event != "end":
                continue
            tag = elem.tag
            if tag == "node":
                nid = int(elem.get("id"))
                lon, lat = float(elem.get("lon")), float(elem.get("lat"))
                nodes.add(nid, lon, lat)
                if len(elem):
                    tags = _tags(elem)
                    if "name" in tags:
                        named.append(OsmNamedNode(nid, lon, lat, tags))
                root.clear()
            elif tag == "way":
                tags = _tags(elem)
                if kept_way(tags):
                    refs = tuple(int(nd.get("ref")) for nd in elem.iter("nd"))
                    ways.append(OsmWay(int(elem.get("id")), refs, tags))
                root.clear()
            elif tag == "relation":
                root.clear()
            elif tag == "bounds":
                bounds = (float(elem.get("minlon")), float(elem.get("minlat")),
                          float(elem.get("maxlon")), float(elem.get("maxlat")))
    except ET.ParseError as exc:
        line, column = exc.position
        raise DispatchError(f"不是有效的 OSM XML 文件（第 {line} 行第 {column + 1} 列格式错误）: {path}") from None
    except StopIteration:
        raise DispatchError(f"不是有效的 OSM XML 文件（内容不完整）: {path}") from None
    except (TypeError, ValueError):  # a node without coordinates, an id that is not a number
        raise DispatchError(f"OSM 文件中有缺少坐标或编号无效的要素: {path}") from None
    return OsmData(nodes=nodes.table(ways, named), ways=ways, named_nodes=named, bounds=bounds)


def osm_bounds(osm: OsmData) -> tuple[float, float, float, float]:
    """The extract's <bounds> (min_lon, min_lat, max_lon, max_lat); refused when it has none."""
    if osm.bounds is None:
        raise DispatchError("OSM 文件缺少 <bounds>（范围），无法划分网格")
    return osm.bounds
