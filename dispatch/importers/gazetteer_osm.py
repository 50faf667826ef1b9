"""Gazetteer entries from an OpenStreetMap extract: every named road once (pedestrian
streets, footways and living streets included: 南京东路 is a pedestrian street), every
intersection of two differently named roads, every named square (place=square, or a
pedestrian area) and named nodes."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy.orm import Session

from dispatch.geo.coords import haversine_many_m
from dispatch.geo.gazetteer import Place, write_places
from dispatch.geo.osm import NodeTable, OsmData, OsmWay

_NODE_KIND_TAGS = (("amenity", "poi"), ("tourism", "landmark"), ("historic", "landmark"),
                   ("shop", "poi"), ("railway", "station"), ("public_transport", "station"),
                   ("leisure", "landmark"), ("office", "poi"))


def intersection_name(a: str, b: str) -> str:
    """Canonical name of the crossing of roads a and b."""
    return f"{a}与{b}交叉口"


def way_kind(way: OsmWay) -> str | None:
    """'square' for a named square (place=square, or a highway=pedestrian area), 'road'
    for any other named highway (pedestrian streets, footways, living streets too),
    None for the rest."""
    if not way.name:
        return None
    if way.tags.get("place") == "square" or (way.highway == "pedestrian" and way.tags.get("area") == "yes"):
        return "square"
    return "road" if way.highway else None


class _WayPoints:
    """The located nodes of some ways as flat arrays (way k: rows start[k]..start[k]+count[k]),
    with each way's length along them: a whole city's roads in a few numpy arrays."""

    def __init__(self, osm: OsmData, ways: list[OsmWay]) -> None:
        sizes = np.fromiter((len(w.node_ids) for w in ways), dtype=np.int64, count=len(ways))
        refs = np.fromiter((n for w in ways for n in w.node_ids), dtype=np.int64, count=int(sizes.sum()))
        owner = np.repeat(np.arange(len(ways)), sizes)
        if isinstance(osm.nodes, NodeTable):
            row = osm.nodes.index_of(refs)
            ok = row >= 0
            self.lon, self.lat = osm.nodes.lon[row[ok]], osm.nodes.lat[row[ok]]
        else:
            ok = present(osm, refs)
            pts = np.array([osm.nodes[int(n)] for n in refs[ok]], dtype=np.float64).reshape(-1, 2)
            self.lon, self.lat = pts[:, 0], pts[:, 1]
        self.refs, owner = refs[ok], owner[ok]
        self.count = np.bincount(owner, minlength=len(ways))
        self.start = np.concatenate(([0], np.cumsum(self.count)[:-1])).astype(np.int64)
        same = owner[1:] == owner[:-1]
        seg = haversine_many_m(self.lon[:-1][same], self.lat[:-1][same], self.lon[1:][same], self.lat[1:][same])
        self.length = np.bincount(owner[:-1][same], weights=seg, minlength=len(ways))


def road_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """One place per distinct road name: the middle vertex of its longest way."""
    by_name: dict[str, list[int]] = defaultdict(list)
    ways = [w for w in osm.ways if way_kind(w) == "road"]
    for k, way in enumerate(ways):
        by_name[way.name].append(k)
    pts = _WayPoints(osm, ways)
    places = []
    for name, ks in sorted(by_name.items()):
        longest = max(ks, key=lambda k: (pts.length[k], -ways[k].id))
        if not pts.count[longest]:
            continue
        mid = int(pts.start[longest] + pts.count[longest] // 2)
        lon, lat = float(pts.lon[mid]), float(pts.lat[mid])
        rows = np.concatenate([np.arange(pts.start[k], pts.start[k] + pts.count[k]) for k in ks])
        bbox = [float(pts.lon[rows].min()), float(pts.lat[rows].min()),
                float(pts.lon[rows].max()), float(pts.lat[rows].max())]
        aliases = sorted({ways[k].tags[t] for k in ks for t in ("alt_name", "old_name", "short_name")
                          if ways[k].tags.get(t) and ways[k].tags[t] != name})
        places.append(Place(name=name, kind="road", lon=lon, lat=lat, admin=list(admin),
                            aliases=aliases, precision="road", source=source,
                            extra={"bbox": [round(v, 6) for v in bbox], "ways": len(ks),
                                   "highway": ways[longest].highway}))
    return places


def present(osm: OsmData, ids: np.ndarray) -> np.ndarray:
    """Which of these node ids the extract has coordinates for (a bool per id)."""
    if isinstance(osm.nodes, NodeTable):
        return osm.nodes.index_of(ids) >= 0
    return np.fromiter((int(n) in osm.nodes for n in ids), dtype=bool, count=len(ids))


def junction_names(osm: OsmData) -> dict[int, list[str]]:
    """node id -> the sorted distinct names of the named roads through it, for every node
    (with coordinates) shared by two or more differently named roads. Arrays, not a set
    per node: a whole city's roads fit."""
    roads = [w for w in osm.ways if way_kind(w) == "road"]
    names = sorted({w.name for w in roads})
    code = {n: i for i, n in enumerate(names)}
    total = sum(len(w.node_ids) for w in roads)
    refs = np.fromiter((n for w in roads for n in w.node_ids), dtype=np.int64, count=total)
    codes = np.fromiter((code[w.name] for w in roads for _ in w.node_ids), dtype=np.int64, count=total)
    order = np.lexsort((codes, refs))
    refs, codes = refs[order], codes[order]
    distinct = np.ones(len(refs), dtype=bool)
    distinct[1:] = (refs[1:] != refs[:-1]) | (codes[1:] != codes[:-1])
    refs, codes = refs[distinct], codes[distinct]
    if not len(refs):
        return {}
    starts = np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]])
    counts = np.diff(np.r_[starts, len(refs)])
    multi = starts[counts >= 2]
    keep = present(osm, refs[multi])
    out: dict[int, list[str]] = {}
    for start, n in zip(multi[keep].tolist(), counts[counts >= 2][keep].tolist()):
        out[int(refs[start])] = [names[c] for c in codes[start:start + n].tolist()]
    return out


def intersection_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """One place per pair of differently named roads that share a node; the shared
    node nearest the centroid of all shared nodes of the pair is its point."""
    shared: dict[tuple[str, str], list[int]] = defaultdict(list)
    for node, ordered in junction_names(osm).items():
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                shared[(a, b)].append(node)
    places = []
    for (a, b), nodes in sorted(shared.items()):
        pts = [osm.nodes[n] for n in nodes]
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        lon, lat = min(pts, key=lambda p: ((p[0] - cx) ** 2 + (p[1] - cy) ** 2, p))
        places.append(Place(name=intersection_name(a, b), kind="intersection", lon=lon,
                            lat=lat, admin=list(admin), aliases=[intersection_name(b, a)],
                            precision="point", source=source,
                            extra={"roads": [a, b], "nodes": len(nodes)}))
    return places


def square_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """One place per distinct square name (ways only; square nodes are named nodes):
    the node of its largest way nearest the centroid of that way's nodes."""
    by_name: dict[str, list[OsmWay]] = defaultdict(list)
    for way in osm.ways:
        if way_kind(way) == "square":
            by_name[way.name].append(way)
    places = []
    for name, ways in sorted(by_name.items()):
        largest = max(ways, key=lambda w: (len(set(w.node_ids)), -w.id))
        pts = [osm.nodes[n] for n in dict.fromkeys(largest.node_ids) if n in osm.nodes]
        if not pts:
            continue
        cx, cy = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        lon, lat = min(pts, key=lambda p: ((p[0] - cx) ** 2 + (p[1] - cy) ** 2, p))
        aliases = sorted({w.tags[k] for w in ways for k in ("alt_name", "old_name", "short_name")
                          if w.tags.get(k) and w.tags[k] != name})
        places.append(Place(name=name, kind="square", lon=lon, lat=lat, admin=list(admin),
                            aliases=aliases, precision="point", source=source,
                            extra={"osm_way": largest.id, "ways": len(ways)}))
    return places


def named_node_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """Named OSM nodes (POIs, stations, landmarks, squares)."""
    places = []
    for node in osm.named_nodes:
        kind = "square" if node.tags.get("place") == "square" else next(
            (k for tag, k in _NODE_KIND_TAGS if tag in node.tags), "poi")
        places.append(Place(name=node.tags["name"], kind=kind, lon=node.lon, lat=node.lat,
                            admin=list(admin), precision="point", source=source,
                            extra={"osm_node": node.id}))
    return places


def osm_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """Every gazetteer entry of an extract: roads, intersections, squares, named nodes."""
    return (road_places(osm, admin, source) + intersection_places(osm, admin, source)
            + square_places(osm, admin, source) + named_node_places(osm, admin, source))


def import_osm_places(session: Session, osm: OsmData, admin: list[str], source: str) -> int:
    """Write roads, intersections, squares and named nodes of `osm` as places; returns
    the count. The caller commits."""
    return write_places(session, osm_places(osm, admin, source))
