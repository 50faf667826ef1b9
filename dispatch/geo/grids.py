"""网格 (grids): which grid a point lies in, and the demo lattice of grids."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Grid:
    id: str
    name: str
    ring: tuple[tuple[float, float], ...]  # closed ring of (lon, lat)
    bbox: tuple[float, float, float, float]


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


class GridIndex:
    """Point -> grid id, by bounding box then polygon test."""

    def __init__(self, grids: Sequence[tuple[str, str, Sequence[Sequence[float]]]]) -> None:
        self._grids = []
        for gid, name, ring in grids:
            xs = [p[0] for p in ring]
            ys = [p[1] for p in ring]
            self._grids.append(Grid(gid, name, tuple((p[0], p[1]) for p in ring),
                                    (min(xs), min(ys), max(xs), max(ys))))

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
            if x0 <= lon <= x1 and y0 <= lat <= y1 and point_in_ring(lon, lat, g.ring):
                return g.id
        return None


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
