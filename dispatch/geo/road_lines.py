"""Roads as polylines for drawing: flat arrays, one line per way (or per chain of road
segments), with its drawing rank, one-way flag and name.

Two sources: the basemap's GeoJSON (an OSM extract, ``lines_from_basemap``) and a road
graph without way geometry (``lines_from_graph``, e.g. the generated benchmark city),
whose segments are chained into lines where a road goes straight on through a junction.
The map's tiles (dispatch.geo.road_tiles) are cut from these lines.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dispatch.domain.units import Travel
from dispatch.geo.coords import haversine_many_m

# Graph edges have no road class, only a travel speed: the rank (basemap.HIGHWAY_RANK's
# styling class) of the fastest class at or below each speed (km/h).
_RANK_BY_SPEED: tuple[tuple[float, int], ...] = (
    (55.0, 6), (38.0, 5), (33.0, 4), (28.0, 3), (22.0, 2), (18.0, 1))
_STRAIGHT_ON_RAD = math.radians(60)  # two segments continue one road if this close to a line


@dataclass(frozen=True)
class RoadLines:
    """Polylines in flat arrays: line ``i`` is points ``starts[i]:starts[i+1]``; its
    coordinates run in the permitted direction when it is one-way. ``name`` indexes
    ``names`` (-1: unnamed). ``labels`` are the road-name label points of
    dispatch.geo.basemap ({name, lon, lat, angle, rank})."""

    lon: np.ndarray
    lat: np.ndarray
    starts: np.ndarray
    rank: np.ndarray
    oneway: np.ndarray
    name: np.ndarray
    names: list[str] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rank)

    def digest(self) -> str:
        """A hash of everything drawn (tiles cut from equal lines are equal)."""
        h = hashlib.sha1()
        for a in (self.lon, self.lat, self.starts, self.rank, self.oneway, self.name):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps([self.names, self.labels], ensure_ascii=False, sort_keys=True).encode())
        return h.hexdigest()


def lines_from_basemap(basemap: dict[str, Any]) -> RoadLines:
    """The basemap's road features (dispatch.geo.basemap.build_basemap) as RoadLines."""
    lon: list[float] = []
    lat: list[float] = []
    starts = [0]
    rank: list[int] = []
    oneway: list[bool] = []
    name: list[int] = []
    names: dict[str, int] = {}
    for f in basemap.get("roads", {}).get("features", []):
        coords = f["geometry"]["coordinates"]
        if len(coords) < 2:
            continue
        for c in coords:
            lon.append(c[0])
            lat.append(c[1])
        starts.append(len(lon))
        p = f.get("properties", {})
        rank.append(int(p.get("rank", 1)))
        oneway.append(bool(p.get("oneway", False)))
        n = p.get("name") or ""
        name.append(names.setdefault(n, len(names)) if n else -1)
    labels = [{"name": lab["name"], "lon": lab["lon"], "lat": lab["lat"], "angle": lab["angle"],
               "rank": lab["rank"]} for lab in basemap.get("labels", [])]
    for lab in labels:
        names.setdefault(lab["name"], len(names))
    return RoadLines(np.array(lon, np.float64), np.array(lat, np.float64), np.array(starts, np.int64),
                     np.array(rank, np.int8), np.array(oneway, bool), np.array(name, np.int32),
                     list(names), labels)


def rank_of_speed(kmh: np.ndarray) -> np.ndarray:
    """Drawing rank (0..6) of graph edges from their car speed."""
    out = np.zeros(len(kmh), np.int8)
    for speed, rank in reversed(_RANK_BY_SPEED):
        out[kmh >= speed - 1e-6] = rank
    return out


def graph_edges(graph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """The car graph's roads once each: (tail, head, rank, one-way); a two-way road is
    the edge with tail < head."""
    rev = graph.modes[Travel.CAR].rev.tocoo()  # reversed graph: row = head, col = tail
    head, tail, secs = rev.row.astype(np.int64), rev.col.astype(np.int64), rev.data
    n = graph.node_count
    # rows sorted, columns sorted within a row: head * n + tail is sorted, so the
    # reverse of each edge is found by binary search
    have = head * n + tail
    back = tail * n + head
    at = np.minimum(np.searchsorted(have, back), len(have) - 1)
    two = have[at] == back
    keep = ~two | (tail < head)
    tail, head, secs, two = tail[keep], head[keep], secs[keep], two[keep]
    length = haversine_many_m(graph.lon[tail], graph.lat[tail], graph.lon[head], graph.lat[head])
    return tail, head, rank_of_speed(length / secs * 3.6), ~two


def _pair_ends(graph, tail, head, rank, oneway) -> np.ndarray:  # noqa: ANN001
    """For each edge end (2e: tail end, 2e+1: head end) the end of another edge it
    continues straight into at their junction (-1: none). Pairs are mutual: same rank
    and one-way flag, nearly opposite directions, and a one-way road only runs on
    head to tail."""
    e = len(tail)
    node = np.empty(2 * e, np.int64)
    node[0::2], node[1::2] = tail, head
    other = np.empty(2 * e, np.int64)
    other[0::2], other[1::2] = head, tail
    coslat = math.cos(math.radians(float(graph.lat.mean())))
    ang = np.arctan2(graph.lat[other] - graph.lat[node], (graph.lon[other] - graph.lon[node]) * coslat)
    is_head = np.tile(np.array([False, True]), e)
    erank, eone = np.repeat(rank, 2).astype(np.int64), np.repeat(oneway, 2)
    group = (node * 8 + erank) * 2 + eone
    order = np.lexsort((ang, group))
    g, a, h, one = group[order], ang[order], is_head[order], eone[order]
    best = np.full(2 * e, np.inf)
    partner = np.full(2 * e, -1, np.int64)
    for k in range(1, 8):
        i = np.arange(2 * e - k)
        j = i + k
        same = g[i] == g[j]
        if not same.any():
            break
        d = np.abs(a[i] - a[j])
        score = np.abs(math.pi - d)
        ok = same & (~one[i] | (h[i] != h[j]))
        for x, y in ((i, j), (j, i)):
            better = ok & (score < best[x])
            best[x[better]] = score[better]
            partner[x[better]] = y[better]
    mutual = (partner >= 0) & (best < _STRAIGHT_ON_RAD)
    mutual[mutual] &= partner[partner[mutual]] == np.flatnonzero(mutual)
    out = np.full(2 * e, -1, np.int64)
    out[order[mutual]] = order[partner[mutual]]
    return out


def lines_from_graph(graph) -> RoadLines:  # noqa: ANN001 (dispatch.geo.roads.RoadGraph)
    """A road graph's car roads as lines (no names: a graph has none). Segments are
    chained where a road of one rank goes straight on through a junction, so a street of
    a grid city is one line, not a thousand segments (what simplification needs)."""
    tail, head, rank, oneway = graph_edges(graph)
    partner = _pair_ends(graph, tail, head, rank, oneway).tolist()
    ends = np.empty(2 * len(tail), np.int64)
    ends[0::2], ends[1::2] = tail, head
    node = ends.tolist()
    seen = bytearray(len(tail))
    lines: list[list[int]] = []
    line_edge: list[int] = []

    def walk(edge: int, enter: int) -> None:
        pts = [node[2 * edge + enter]]
        first_enter = enter
        while True:
            seen[edge] = 1
            out = 2 * edge + 1 - enter
            pts.append(node[out])
            nxt = partner[out]
            if nxt < 0 or seen[nxt >> 1]:
                break
            edge, enter = nxt >> 1, nxt & 1
        if first_enter == 1:  # walked against the edge: a one-way line must run its way
            pts.reverse()
        lines.append(pts)

    for start_pass in (True, False):  # open chains from their ends, then closed loops
        for edge in range(len(tail)):
            if seen[edge]:
                continue
            if partner[2 * edge] < 0:
                walk(edge, 0)
            elif partner[2 * edge + 1] < 0:
                walk(edge, 1)
            elif not start_pass:
                walk(edge, 0)
            else:
                continue
            line_edge.append(edge)
    idx = np.fromiter((p for pts in lines for p in pts), np.int64)
    starts = np.zeros(len(lines) + 1, np.int64)
    np.cumsum([len(pts) for pts in lines], out=starts[1:])
    first = np.array(line_edge, np.int64)
    return RoadLines(graph.lon[idx], graph.lat[idx], starts, rank[first], oneway[first],
                     np.full(len(lines), -1, np.int32), [], [])
