"""Gazetteer entries from an OpenStreetMap extract: every named road once (pedestrian
streets, footways and living streets included: 南京东路 is a pedestrian street), every
intersection of two differently named roads, every named square (place=square, or a
pedestrian area) and named nodes."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from dispatch.geo.coords import haversine_m
from dispatch.geo.gazetteer import Place, write_places
from dispatch.geo.osm import OsmData, OsmWay

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


def _way_length(osm: OsmData, node_ids: tuple[int, ...]) -> float:
    pts = [osm.nodes[n] for n in node_ids if n in osm.nodes]
    return sum(haversine_m(*p, *q) for p, q in zip(pts, pts[1:]))


def road_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """One place per distinct road name: the middle vertex of its longest way."""
    by_name: dict[str, list] = defaultdict(list)
    for way in osm.ways:
        if way_kind(way) == "road":
            by_name[way.name].append(way)
    places = []
    for name, ways in sorted(by_name.items()):
        longest = max(ways, key=lambda w: (_way_length(osm, w.node_ids), -w.id))
        ids = [n for n in longest.node_ids if n in osm.nodes]
        if not ids:
            continue
        lon, lat = osm.nodes[ids[len(ids) // 2]]
        pts = [osm.nodes[n] for w in ways for n in w.node_ids if n in osm.nodes]
        bbox = [min(p[0] for p in pts), min(p[1] for p in pts),
                max(p[0] for p in pts), max(p[1] for p in pts)]
        aliases = sorted({w.tags[k] for w in ways for k in ("alt_name", "old_name", "short_name")
                          if w.tags.get(k) and w.tags[k] != name})
        places.append(Place(name=name, kind="road", lon=lon, lat=lat, admin=list(admin),
                            aliases=aliases, precision="road", source=source,
                            extra={"bbox": [round(v, 6) for v in bbox], "ways": len(ways),
                                   "highway": longest.highway}))
    return places


def intersection_places(osm: OsmData, admin: list[str], source: str) -> list[Place]:
    """One place per pair of differently named roads that share a node; the shared
    node nearest the centroid of all shared nodes of the pair is its point."""
    names_at: dict[int, set[str]] = defaultdict(set)
    for way in osm.ways:
        if way_kind(way) == "road":
            for n in way.node_ids:
                names_at[n].add(way.name)
    shared: dict[tuple[str, str], list[int]] = defaultdict(list)
    for node, names in names_at.items():
        if len(names) < 2 or node not in osm.nodes:
            continue
        ordered = sorted(names)
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


def import_osm_places(session: Session, osm: OsmData, admin: list[str], source: str) -> int:
    """Write roads, intersections, squares and named nodes of `osm` as places; returns
    the count. The caller commits."""
    places = (road_places(osm, admin, source) + intersection_places(osm, admin, source)
              + square_places(osm, admin, source) + named_node_places(osm, admin, source))
    return write_places(session, places)
