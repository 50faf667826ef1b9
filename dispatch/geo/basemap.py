"""The basemap of the map pane as plain data: drivable roads as GeoJSON, the
bounds, road-name label points and the OpenStreetMap attribution.

Qt-free and folium-free: the map page (ui/map/) serialises this dict into the page
and draws it itself, so the console needs no online tiles.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dispatch.geo.coords import haversine_m
from dispatch.geo.roads_osm import oneway_of
from dispatch.geo.osm import OsmData, OsmWay

ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
# Names the road tiles cut from a basemap (dispatch.geo.road_tiles.tiles_for_osm): raise
# it when what build_basemap draws changes (ranks, labels), so cached tiles are cut again.
BASEMAP_VERSION = 1

# Drawing order and styling class: higher ranks are wider, brighter, drawn on top.
HIGHWAY_RANK: dict[str, int] = {
    "motorway": 6, "trunk": 6,
    "motorway_link": 5, "trunk_link": 5, "primary": 5,
    "primary_link": 4, "secondary": 4,
    "secondary_link": 3, "tertiary": 3,
    "tertiary_link": 2, "unclassified": 2, "road": 2,
    "residential": 1, "living_street": 1, "service": 0,
}

_COORD_DIGITS = 6  # ~0.1 m, plenty for drawing
LABEL_SPACING_M = 700.0  # repeat a road's name label at most this often


def _way_coords(osm: OsmData, way: OsmWay) -> list[list[float]]:
    coords: list[list[float]] = []
    for nid in way.node_ids:
        pt = osm.nodes.get(nid)
        if pt is None:
            continue
        c = [round(pt[0], _COORD_DIGITS), round(pt[1], _COORD_DIGITS)]
        if not coords or coords[-1] != c:
            coords.append(c)
    return coords


def _length_m(coords: list[list[float]]) -> float:
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in zip(coords, coords[1:]))


def _midpoint_and_angle(coords: list[list[float]]) -> tuple[float, float, float]:
    """The point halfway along a line and the screen angle (degrees, clockwise
    from east, kept within ±90 so text is never upside down) of its segment."""
    total = _length_m(coords)
    walked = 0.0
    for a, b in zip(coords, coords[1:]):
        seg = haversine_m(a[0], a[1], b[0], b[1])
        if seg > 0 and walked + seg >= total / 2:
            t = (total / 2 - walked) / seg
            lon = a[0] + (b[0] - a[0]) * t
            lat = a[1] + (b[1] - a[1]) * t
            dx = (b[0] - a[0]) * math.cos(math.radians(lat))
            dy = b[1] - a[1]
            angle = -math.degrees(math.atan2(dy, dx))
            if angle > 90:
                angle -= 180
            elif angle < -90:
                angle += 180
            return lon, lat, round(angle, 1)
        walked += seg
    return coords[0][0], coords[0][1], 0.0


def _road_labels(named: list[tuple[str, int, list[list[float]]]]) -> list[dict[str, Any]]:
    """Label points for named roads: the middle of the longest pieces of each
    name, at least LABEL_SPACING_M apart, longest first."""
    by_name: dict[str, list[tuple[float, int, list[list[float]]]]] = {}
    for name, rank, coords in named:
        by_name.setdefault(name, []).append((_length_m(coords), rank, coords))
    labels: list[dict[str, Any]] = []
    for name, pieces in by_name.items():
        pieces.sort(key=lambda p: -p[0])
        placed: list[tuple[float, float]] = []
        for length, rank, coords in pieces:
            if length < 60:  # too short to carry a readable label
                break
            lon, lat, angle = _midpoint_and_angle(coords)
            if any(haversine_m(lon, lat, p[0], p[1]) < LABEL_SPACING_M for p in placed):
                continue
            placed.append((lon, lat))
            labels.append({"name": name, "lon": round(lon, _COORD_DIGITS),
                           "lat": round(lat, _COORD_DIGITS), "angle": angle,
                           "rank": rank, "length_m": round(length)})
    labels.sort(key=lambda lab: (-lab["rank"], -lab["length_m"]))
    return labels


def build_basemap(osm: OsmData) -> dict[str, Any]:
    """Build the map pane's basemap from OSM data.

    Returns a JSON-serialisable dict:
    - ``roads``: GeoJSON FeatureCollection of LineStrings, one per drivable way,
      with properties ``id``, ``name``, ``highway``, ``oneway`` (bool; coordinates
      run in the permitted direction) and ``rank`` (0..6, styling class);
      features are ordered by rank so arterials are drawn last (on top);
    - ``bounds``: ``[min_lon, min_lat, max_lon, max_lat]`` (the file's bounds,
      else the extent of the roads);
    - ``labels``: road-name label points ``{name, lon, lat, angle, rank, length_m}``;
    - ``attribution`` / ``attribution_url``: the OpenStreetMap credit.
    """
    features: list[dict[str, Any]] = []
    named: list[tuple[str, int, list[list[float]]]] = []
    min_lon = min_lat = math.inf
    max_lon = max_lat = -math.inf
    for way in osm.drivable_ways():
        coords = _way_coords(osm, way)
        if len(coords) < 2:
            continue
        direction = oneway_of(way.highway, way.tags)  # the routing graph's rule
        if direction == -1:
            coords.reverse()
        rank = HIGHWAY_RANK.get(way.highway, 1)
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"id": way.id, "name": way.name, "highway": way.highway,
                           "oneway": direction != 0, "rank": rank},
        })
        if way.name:
            named.append((way.name, rank, coords))
        for lon, lat in coords:
            min_lon, max_lon = min(min_lon, lon), max(max_lon, lon)
            min_lat, max_lat = min(min_lat, lat), max(max_lat, lat)
    features.sort(key=lambda f: f["properties"]["rank"])
    if osm.bounds is not None:
        bounds = list(osm.bounds)
    elif features:
        bounds = [min_lon, min_lat, max_lon, max_lat]
    else:
        lons = [p[0] for p in osm.nodes.values()]
        lats = [p[1] for p in osm.nodes.values()]
        bounds = [min(lons), min(lats), max(lons), max(lats)]
    return {
        "roads": {"type": "FeatureCollection", "features": features},
        "bounds": bounds,
        "labels": _road_labels(named),
        "attribution": ATTRIBUTION,
        "attribution_url": ATTRIBUTION_URL,
    }


def tile_basemap(tiles: Any) -> dict[str, Any]:
    """The map pane's basemap from a road tile set (dispatch.geo.road_tiles.TileSet):
    its bounds, the tiles and the OpenStreetMap credit; no GeoJSON."""
    return {"bounds": list(tiles.bounds), "road_tiles": tiles, "attribution": ATTRIBUTION,
            "attribution_url": ATTRIBUTION_URL}


def cached_basemap(osm_path: Path, cache_dir: Path) -> dict[str, Any]:
    """The map pane's basemap of an OSM file without reading the file at each start: its
    road tiles from ``cache_dir / "road-tiles"``, keyed by the file's SHA-256 (cut the
    first time). ``grids`` and ``stations`` are the caller's to add."""
    from dispatch.geo.road_tiles import tiles_for_osm
    return tile_basemap(tiles_for_osm(Path(osm_path), Path(cache_dir) / "road-tiles"))
