"""Reader for OpenStreetMap PBF extracts (.osm.pbf), with pyosmium (libosmium).

libosmium decodes the blocks and keeps every node's location in its own compact index
(`flex_mem`); Python sees only the named nodes and the kept ways (dispatch.geo.osm.kept_way),
each way with its nodes' locations, so the coordinates kept are those of the nodes the
console uses, in the same NodeTable as the XML reader's."""
from __future__ import annotations

from array import array
from pathlib import Path
from sys import intern
from typing import Any

import numpy as np

from dispatch.domain.errors import DispatchError, reason_in_chinese
from dispatch.geo.osm import NodeTable, OsmData, OsmNamedNode, OsmWay, kept_way


def read_pbf(path: str | Path) -> OsmData:
    """Read a .osm.pbf file; DispatchError if pyosmium is missing or the file is not PBF."""
    try:
        import osmium
    except ImportError:  # pragma: no cover - osmium is a dependency
        raise DispatchError("读取 .osm.pbf 需要 osmium（pyosmium）模块：pip install osmium") from None
    path = Path(path)
    ways: list[OsmWay] = []
    named: list[OsmNamedNode] = []
    try:
        named_only = osmium.filter.KeyFilter("name")
        named_only.enable_for(osmium.osm.NODE)
        roads_only = osmium.filter.KeyFilter("highway", "place")
        roads_only.enable_for(osmium.osm.WAY)
        fp = (osmium.FileProcessor(osmium.io.File(str(path), "pbf"), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations("flex_mem").with_filter(named_only).with_filter(roads_only))
        box = fp.header.box()
        bounds = ((box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
                  if box.valid() else None)
        for obj in fp:
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                if loc.valid():
                    tags = {intern(t.k): intern(t.v) for t in obj.tags}
                    named.append(OsmNamedNode(obj.id, loc.lon, loc.lat, tags))
            elif isinstance(obj, osmium.osm.Way):
                tags = {intern(t.k): intern(t.v) for t in obj.tags}
                if kept_way(tags):
                    ways.append(OsmWay(obj.id, tuple([nd.ref for nd in obj.nodes]), tags))
        table = _located(fp.node_location_storage, ways, named)
    except RuntimeError as exc:  # libosmium: not PBF, truncated, bad blob
        raise DispatchError(f"不是有效的 OSM PBF 文件（{_pbf_reason(str(exc))}）: {path}") from None
    return OsmData(nodes=table, ways=ways, named_nodes=named, bounds=bounds, format="pbf")


def _located(storage: Any, ways: list[OsmWay], named: list[OsmNamedNode]) -> NodeTable:
    """The coordinates of the nodes the ways and named nodes use, once each, from
    libosmium's location index (a node outside the extract has none and is left out)."""
    total = sum(len(w.node_ids) for w in ways)
    refs = np.fromiter((n for w in ways for n in w.node_ids), dtype=np.int64, count=total)
    ids = np.union1d(refs, np.fromiter((n.id for n in named), dtype=np.int64, count=len(named)))
    lon, lat = array("d"), array("d")
    found = np.ones(len(ids), dtype=bool)
    for k, nid in enumerate(ids.tolist()):
        try:
            loc = storage.get(nid)
        except KeyError:
            loc = None
        if loc is None or not loc.valid():
            found[k] = False
            continue
        lon.append(loc.lon)
        lat.append(loc.lat)
    return NodeTable(ids[found], np.frombuffer(lon, dtype=np.float64) if len(lon) else np.zeros(0),
                     np.frombuffer(lat, dtype=np.float64) if len(lat) else np.zeros(0))


_PBF_REASONS = (
    ("unexpected eof", "文件不完整，可能下载或复制中断"),
    ("blobheader", "文件头损坏，或根本不是 PBF 文件"),
    ("blob", "数据块损坏"),
    ("zlib", "数据块解压失败，文件已损坏"),
    ("compress", "数据块解压失败，文件已损坏"),
    ("no such file", "文件不存在"),
    ("permission", "没有读取权限"),
    ("unknown", "含不支持的内容"),
)


def _pbf_reason(message: str) -> str:
    """libosmium's (English) reason, said in Chinese."""
    return reason_in_chinese(message, _PBF_REASONS, "格式错误")

