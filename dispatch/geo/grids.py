"""网格 (grids): which grid a point lies in, the shapes a grid may have, overlaps between
grids, and the demo lattice of grids.

A grid's shape (GridRow.polygon) is stored in one of three nestings, all WGS-84 (lon, lat):
a closed ring `[[lon, lat], ...]` (a simple polygon: the demo lattice), the coordinates
of a GeoJSON Polygon `[outer, hole, ...]`, or those of a MultiPolygon `[[outer, hole, ...], ...]`.
`polygons_of` reads any of them as a list of polygons (each a list of rings)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Ring = tuple[tuple[float, float], ...]
Polygon = tuple[Ring, ...]  # outer ring, then holes


@dataclass(frozen=True)
class Grid:
    id: str
    name: str
    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]

    @property
    def ring(self) -> Ring:
        """The outer ring of the first polygon."""
        return self.polygons[0][0]


def _depth(coords: Any) -> int:
    d = 0
    while isinstance(coords, (list, tuple)) and coords:
        coords = coords[0]
        d += 1
    return d


def polygons_of(coords: Sequence[Any]) -> list[list[list[list[float]]]]:
    """Any stored nesting (ring, Polygon, MultiPolygon coordinates) as MultiPolygon coordinates."""
    depth = _depth(coords)
    if depth == 2:
        return [[list(coords)]]
    if depth == 3:
        return [list(coords)]
    if depth == 4:
        return [list(p) for p in coords]
    raise ValueError(f"not a polygon nesting (depth {depth})")


def stored_shape(polygons: Sequence[Sequence[Sequence[Sequence[float]]]]) -> list[Any]:
    """What GridRow.polygon keeps: the bare ring for one polygon without holes (as the
    demo lattice and older readers have it), the MultiPolygon coordinates otherwise."""
    if len(polygons) == 1 and len(polygons[0]) == 1:
        return [list(p) for p in polygons[0][0]]
    return [[[list(p) for p in ring] for ring in poly] for poly in polygons]


def grid_geometry(coords: Sequence[Any]) -> dict[str, Any]:
    """A GeoJSON geometry for a stored shape (for the map)."""
    polys = polygons_of(coords)
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def point_in_ring(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Even-odd ray casting."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if x > lon:
                inside = not inside
    return inside


def point_in_polygon(lon: float, lat: float, polygon: Sequence[Sequence[Sequence[float]]]) -> bool:
    """Inside the outer ring and in none of the holes."""
    if not point_in_ring(lon, lat, polygon[0]):
        return False
    return not any(point_in_ring(lon, lat, hole) for hole in polygon[1:])


def ring_area_m2(ring: Sequence[Sequence[float]]) -> float:
    """Unsigned area of a ring in square metres (local equirectangular projection)."""
    if len(ring) < 3:
        return 0.0
    lat0 = math.radians(sum(p[1] for p in ring) / len(ring))
    kx, ky = 111_320.0 * math.cos(lat0), 110_574.0
    s = 0.0
    for i in range(len(ring) - 1):
        s += (ring[i][0] * kx) * (ring[i + 1][1] * ky) - (ring[i + 1][0] * kx) * (ring[i][1] * ky)
    return abs(s) / 2


def _bbox(points: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


class GridIndex:
    """Point -> grid id, by bounding box then polygon test (holes and multipolygons too)."""

    def __init__(self, grids: Sequence[tuple[str, str, Sequence[Any]]]) -> None:
        self._grids: list[Grid] = []
        for gid, name, coords in grids:
            polys = tuple(tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in poly)
                          for poly in polygons_of(coords))
            outer = [p for poly in polys for p in poly[0]]
            self._grids.append(Grid(gid, name, polys, _bbox(outer)))

    def __len__(self) -> int:
        return len(self._grids)

    def bounds(self) -> tuple[float, float, float, float] | None:
        if not self._grids:
            return None
        return (min(g.bbox[0] for g in self._grids), min(g.bbox[1] for g in self._grids),
                max(g.bbox[2] for g in self._grids), max(g.bbox[3] for g in self._grids))

    def grid_at(self, lon: float, lat: float) -> str | None:
        for g in self._grids:
            x0, y0, x1, y1 = g.bbox
            if x0 <= lon <= x1 and y0 <= lat <= y1 and any(point_in_polygon(lon, lat, p) for p in g.polygons):
                return g.id
        return None


# ------------------------------------------------------------------ overlaps and ring checks

_EPS = 1e-10


def _orient(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _cross_properly(a: Sequence[float], b: Sequence[float], c: Sequence[float], d: Sequence[float]) -> bool:
    """Segments ab and cd cross at a point inside both (touching or collinear: no)."""
    d1, d2 = _orient(c, d, a), _orient(c, d, b)
    d3, d4 = _orient(a, b, c), _orient(a, b, d)
    return ((d1 > _EPS and d2 < -_EPS) or (d1 < -_EPS and d2 > _EPS)) and \
           ((d3 > _EPS and d4 < -_EPS) or (d3 < -_EPS and d4 > _EPS))


def _segments(rings: Sequence[Sequence[Sequence[float]]],
              window: tuple[float, float, float, float] | None = None) -> list[tuple[float, tuple[Any, Any]]]:
    """Edges of the rings (those meeting `window`, if given) sorted by their west end (for a sweep)."""
    out = []
    for ring in rings:
        for i in range(len(ring) - 1):
            a, b = ring[i], ring[i + 1]
            if window is not None and (max(a[0], b[0]) < window[0] or min(a[0], b[0]) > window[2]
                                       or max(a[1], b[1]) < window[1] or min(a[1], b[1]) > window[3]):
                continue
            out.append((min(a[0], b[0]), (a, b)))
    out.sort(key=lambda t: t[0])
    return out


def _any_crossing(edges_a: list[tuple[float, tuple[Any, Any]]],
                  edges_b: list[tuple[float, tuple[Any, Any]]] | None = None) -> bool:
    """Any proper crossing between the edges of a and b (or among a's own edges)."""
    same = edges_b is None
    tagged = [(x, 0, e) for x, e in edges_a] + ([] if same else [(x, 1, e) for x, e in edges_b or []])
    tagged.sort(key=lambda t: t[0])
    active: list[tuple[float, int, tuple[Any, Any]]] = []
    for x, tag, (a, b) in tagged:
        active = [t for t in active if max(t[2][0][0], t[2][1][0]) >= x - _EPS]
        y0, y1 = min(a[1], b[1]), max(a[1], b[1])
        for _, other_tag, (c, d) in active:
            if not same and other_tag == tag:
                continue
            if max(c[1], d[1]) < y0 or min(c[1], d[1]) > y1:
                continue
            if _cross_properly(a, b, c, d):
                return True
        active.append((x, tag, (a, b)))
    return False


def ring_self_crosses(ring: Sequence[Sequence[float]]) -> bool:
    """Two edges of the ring cross each other (a bow tie)."""
    return _any_crossing(_segments([ring]))


def _interior_point(polygon: Sequence[Sequence[Sequence[float]]]) -> tuple[float, float] | None:
    """A point strictly inside the polygon: the middle of the widest inside stretch of
    the horizontal line through the middle of its outer ring's height."""
    outer = polygon[0]
    ys = sorted({p[1] for p in outer})
    if len(ys) < 2:
        return None
    y = (ys[0] + ys[-1]) / 2
    if y in ys:  # a vertex on the line: move between two vertex heights
        k = ys.index(y)
        y = (ys[k] + ys[k + 1]) / 2 if k + 1 < len(ys) else (ys[k] + ys[k - 1]) / 2
    xs: list[float] = []
    for ring in polygon:
        for i in range(len(ring) - 1):
            (x1, y1), (x2, y2) = ring[i][:2], ring[i + 1][:2]
            if (y1 > y) != (y2 > y):
                xs.append(x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    xs.sort()
    best = max(((xs[i + 1] - xs[i], (xs[i] + xs[i + 1]) / 2) for i in range(0, len(xs) - 1, 2)), default=None)
    return (best[1], y) if best and best[0] > 0 else None


def polygons_overlap(a: Sequence[Sequence[Sequence[Sequence[float]]]],
                     b: Sequence[Sequence[Sequence[Sequence[float]]]]) -> bool:
    """Two shapes (MultiPolygon coordinates) share some area. Grids that only touch
    (a shared street edge) do not overlap."""
    box_a = _bbox([p for poly in a for p in poly[0]])
    box_b = _bbox([p for poly in b for p in poly[0]])
    window = (max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3]))
    if window[2] - window[0] <= _EPS or window[3] - window[1] <= _EPS:
        return False  # the boxes at most touch: so do the shapes
    edges_a = _segments([ring for poly in a for ring in poly], window)
    edges_b = _segments([ring for poly in b for ring in poly], window)
    if _any_crossing(edges_a, edges_b):
        return True
    for first, second in ((a, b), (b, a)):  # one inside the other, or the same shape twice
        for poly in first:
            p = _interior_point(poly)
            if p is not None and any(point_in_polygon(p[0], p[1], q) for q in second):
                return True
    return False


def overlapping_pairs(shapes: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[str, str]]:
    """The pairs of ids whose shapes overlap (bounding boxes swept first)."""
    boxes = []
    for gid, coords in shapes:
        polys = polygons_of(coords)
        boxes.append((_bbox([p for poly in polys for p in poly[0]]), gid, polys))
    boxes.sort(key=lambda t: t[0][0])
    out: list[tuple[str, str]] = []
    for i, (box, gid, polys) in enumerate(boxes):
        for box2, gid2, polys2 in boxes[i + 1:]:
            if box2[0] > box[2]:
                break
            if box2[1] > box[3] or box2[3] < box[1]:
                continue
            if polygons_overlap(polys, polys2):
                out.append((gid, gid2) if gid < gid2 else (gid2, gid))
    return sorted(out)


def lattice(bounds: tuple[float, float, float, float], cell_m: float) -> list[tuple[str, list[list[float]]]]:
    """Cut a bounding box into square-ish cells about cell_m wide: (id, ring) each,
    ids like 'A01' (row letter from south, column number from west)."""
    min_lon, min_lat, max_lon, max_lat = bounds
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = 111_320.0 * math.cos(math.radians((min_lat + max_lat) / 2))
    cols = max(1, round((max_lon - min_lon) * m_per_deg_lon / cell_m))
    rows = max(1, round((max_lat - min_lat) * m_per_deg_lat / cell_m))
    dx, dy = (max_lon - min_lon) / cols, (max_lat - min_lat) / rows
    out = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = min_lon + c * dx, min_lat + r * dy
            ring = [[x0, y0], [x0 + dx, y0], [x0 + dx, y0 + dy], [x0, y0 + dy], [x0, y0]]
            out.append((f"{chr(ord('A') + r)}{c + 1:02d}", [[round(x, 7), round(y, 7)] for x, y in ring]))
    return out
