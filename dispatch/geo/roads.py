"""The road graph: a directed graph in CSR arrays weighted by travel seconds.

Built from the drivable ways of an OSM file (`RoadGraph.from_osm`) or from plain edge
arrays (`RoadGraph.from_edges`, used by the synthetic city of the benchmark).

Speeds (km/h) are typical *urban travel* speeds by road class, signals and traffic
included, not speed limits::

    motorway 60   motorway_link 40   trunk 50   trunk_link 35
    primary 40    primary_link 30    secondary 35   secondary_link 25
    tertiary 30   tertiary_link 25   unclassified 25   residential 20
    road 20       service 15         living_street 10

Elevated roads: a trunk with ``bridge=yes`` (Shanghai's 延安高架 / 南北高架 are tagged so)
is an elevated expressway without signals: 60 km/h, its ramps (trunk_link bridges)
40 km/h. Where ``maxspeed`` is tagged the travel speed is 80 % of it (a car rarely holds
the limit in town). One-way: dispatch.geo.roads_osm.oneway_of (the map's arrows use the same rule):
``oneway=yes/true/1`` forward only, ``oneway=-1/reverse`` reversed; motorways, motorway
links and roundabouts (``junction=roundabout|circular``) are one-way unless ``oneway=no``.

Travel modes (`Travel` of the unit kind):
  * CAR: the speeds above, one-way respected.
  * EBIKE: min(car speed, 20 km/h), one-way respected; not on motorways, elevated or
    tunnelled trunks, nor in the tunnels of arterial roads (non-motor vehicles are
    banned there: roads_osm._car_only).
  * FOOT: 5 km/h, one-way ignored; not on those roads either.
An incident is on the ground: it is snapped, in every mode, to a node of a road at
ground level (the foot graph's), never into a tunnel or onto an elevated road above it.

Only the largest strongly connected component of the car graph is kept; the bike and
foot graphs are the largest strongly connected component of their own edges inside it
(ground-level roads). Each mode snaps points to its own nodes with a cKDTree on a local
equirectangular projection in metres. The snap distance (point to nearest node) is
counted in an ETA at an approach speed: car 10 km/h (creeping through a compound or a
side lane), e-bike 10 km/h, foot 5 km/h.

The arrays stored per mode are the *reversed* graph (row = head of the edge): one
Dijkstra from the incident on it gives every node's travel time *to* the incident, and
its predecessors chain from a unit's node toward the incident, i.e. the unit's route in
driving order. Nodes are numbered along a Z-order curve (neighbours close in memory).
The car graph also carries landmark times (ALT lower bounds, dispatch.geo.routing.
landmark_times), and a contraction hierarchy when one was built for it (dispatch.geo.
contraction: its own cache file, attached by ensure_hierarchy / load_hierarchy, never
built here; load_or_build attaches it when cached). The searches
themselves are in dispatch.geo.routing (resumable Dijkstra / A* in
dispatch.geo.routing_kernel, the hierarchy's in dispatch.geo.contraction_query).
"""
from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from dispatch.domain.errors import DispatchError
from dispatch.domain.units import Travel
from dispatch.geo.contraction import Hierarchy, load_hierarchy
from dispatch.geo.coords import EARTH_RADIUS_M, haversine_many_m
from dispatch.geo.roads_osm import (  # noqa: F401  (re-exported: the speed rules)
    ELEVATED_SPEED_KMH, EBIKE_MAX_KMH, FOOT_KMH, MAXSPEED_FACTOR, SPEED_KMH, _car_only, _way_speed,
    oneway_of, parse_maxspeed)

FORMAT_VERSION = 7  # 5 held the hierarchy; 6 is 4 again (its own file); 7: arterial tunnels car-only

APPROACH_KMH: dict[Travel, float] = {Travel.CAR: 10.0, Travel.EBIKE: 10.0, Travel.FOOT: 5.0}
MODES: tuple[Travel, ...] = (Travel.CAR, Travel.EBIKE, Travel.FOOT)
_MIN_EDGE_S = 1e-3  # csgraph must not see zero weights


@dataclass(frozen=True, slots=True)
class Route:
    """A route from a start point to an end point along the roads.

    `coords` run from the start point through the road nodes to the end point.
    `seconds` and `meters` include the snap legs at both ends (at the approach speed);
    `road_seconds`/`road_meters` are the on-road part only."""

    coords: list[tuple[float, float]]
    seconds: float
    meters: float
    road_seconds: float
    road_meters: float
    nodes: list[int]


@dataclass(slots=True)
class ModeGraph:
    """One travel mode: reversed CSR graph in seconds, its snappable nodes and tree."""

    rev: sp.csr_matrix
    nodes: np.ndarray          # node indices this mode can snap to (its largest SCC)
    tree: cKDTree
    approach_mps: float
    typical_mps: float         # length-weighted mean speed (information)
    max_mps: float = 40.0      # fastest edge: straight-line lower bounds of times
    ws: object = None          # search workspace, created on first search
    # landmark times (ALT lower bounds, car only; shape (n, 0) without): to_lm[v, j] the
    # time from node v to landmark j, from_lm[v, j] the time from landmark j to v
    to_lm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    from_lm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    ch: Hierarchy | None = None  # contraction hierarchy (car only, when attached)
    up: object = None          # its search workspace, created on first search


def _reversed_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, both: np.ndarray, n: int,
                  sel: np.ndarray | None = None) -> sp.csr_matrix:
    """The reversed graph (row = head) of the segments u->v (those of `sel`, all when
    None) weighted `w`, each also v->u where `both`: CSR keeping the smallest weight of
    parallel edges (scipy would sum them), without self-loops. One argsort of one int64
    key per edge (head * n + tail), not a lexsort of three arrays, and the work arrays
    dropped as soon as they are used: the import of a 1,000,000-node city peaks lower."""
    back = both if sel is None else both & sel
    key = v * n + u
    w_back, key_back = w[back], (u * n + v)[back]
    if sel is not None:
        key, w = key[sel], w[sel]
    key, w = np.concatenate([key, key_back]), np.concatenate([w, w_back])
    del back, w_back, key_back
    loop = key % (n + 1) == 0  # head == tail (key = r * n + c is r (n + 1) - r + c)
    if loop.any():
        key, w = key[~loop], w[~loop]
    del loop
    order = np.argsort(key)
    key, w = key[order], w[order]
    del order
    if len(key):
        first = np.ones(len(key), bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        del first
        w = np.fmin.reduceat(w, starts)  # the smallest of each run (NaN only when all are)
        key = key[starts]
    rows = key // n
    cols = (key - rows * n).astype(np.int32)
    del key
    indptr = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((np.maximum(w, _MIN_EDGE_S), cols, indptr), shape=(n, n))
    m.has_sorted_indices = True
    return m


def _morton_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Permutation sorting points along a Z-order curve (neighbours stay close in memory)."""
    def spread(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.uint64) & np.uint64(0xFFFF)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    def scale(a: np.ndarray) -> np.ndarray:
        span = float(a.max() - a.min()) or 1.0
        return ((a - a.min()) / span * 65535).astype(np.uint64)

    code = spread(scale(lon)) | (spread(scale(lat)) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _largest_scc(m: sp.csr_matrix, mask: np.ndarray | None = None) -> np.ndarray:
    """Node indices of the largest strongly connected component (among masked nodes)."""
    _n, labels = connected_components(m, directed=True, connection="strong")
    if mask is not None:
        counts = np.bincount(labels[mask], minlength=labels.max() + 1)
    else:
        counts = np.bincount(labels)
    return np.flatnonzero(labels == int(np.argmax(counts)))


def osm_segments(osm) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                              np.ndarray]:
    """The road segments of `OsmData`'s drivable ways as RoadGraph.from_edges takes them:
    (lon, lat, u, v, speed km/h, one-way, car-only). The node references of all the
    ways are read into one array and the rest is numpy over it (no Python object per
    node or segment): a way's references without coordinates are dropped (the way joins
    across the gap), a way left with fewer than 2 is skipped, nodes are numbered in order
    of first use, a reversed one-way's segments run backwards."""
    from dispatch.geo.osm import NodeTable
    ways = osm.drivable_ways()
    table = osm.nodes if isinstance(osm.nodes, NodeTable) else NodeTable(
        np.fromiter(osm.nodes.keys(), np.int64, len(osm.nodes)),
        *(np.array(list(osm.nodes.values()), np.float64).reshape(len(osm.nodes), 2).T))
    sizes = np.fromiter(map(len, map(attrgetter("node_ids"), ways)), np.int64, len(ways))
    refs = np.fromiter(chain.from_iterable(map(attrgetter("node_ids"), ways)), np.int64, int(sizes.sum()))
    rows = table.index_of(refs)
    del refs
    found = rows >= 0
    way_of = np.repeat(np.arange(len(ways)), sizes)[found]
    rows = rows[found]
    del found
    left = np.bincount(way_of, minlength=len(ways))
    kept = left[way_of] >= 2
    way_of, rows = way_of[kept], rows[kept]
    del kept
    if not len(rows):
        raise DispatchError("OSM 文件中没有可通行的道路")
    # node index: the rank of each node's first use
    table_rows, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    del rows
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(len(first), np.int64)
    rank[by_first] = np.arange(len(first))
    ids = rank[inverse.reshape(-1)]
    node_rows = table_rows[by_first]
    del table_rows, first, inverse, by_first, rank
    # segments: consecutive references of one way
    same = way_of[1:] == way_of[:-1]
    seg_way = way_of[:-1][same]
    a, b = ids[:-1][same], ids[1:][same]
    del same, ids, way_of
    speed = np.zeros(len(ways))
    oneway = np.zeros(len(ways), np.int64)
    car_only = np.zeros(len(ways), bool)
    for k in np.flatnonzero(left >= 2).tolist():
        w = ways[k]
        hw, tags = w.highway, w.tags
        speed[k], oneway[k], car_only[k] = _way_speed(hw, tags), oneway_of(hw, tags), _car_only(hw, tags)
    back = oneway[seg_way] == -1
    u, v = np.where(back, b, a), np.where(back, a, b)
    del a, b, back
    return (table.lon[node_rows], table.lat[node_rows], u, v, speed[seg_way], oneway[seg_way] != 0,
            car_only[seg_way])


class RoadGraph:
    """Directed road graph with per-mode reversed CSR graphs and KD-trees."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, modes: dict[Travel, ModeGraph],
                 source: str = "") -> None:
        self.lon = lon
        self.lat = lat
        self.modes = modes
        self.source = source
        self.lock = threading.RLock()
        self.snaps = None  # dispatch.geo.routing.SnapCache, created by the first search
        self._origin = (float((lon.min() + lon.max()) / 2), float((lat.min() + lat.max()) / 2))
        xy = self.project(lon, lat)
        self.x, self.y = xy[:, 0].copy(), xy[:, 1].copy()
        self._member: dict[Travel, np.ndarray] = {}
        for mode, mg in modes.items():
            if len(mg.nodes) < len(lon):
                member = np.zeros(len(lon), bool)
                member[mg.nodes] = True
                self._member[mode] = member

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_osm(cls, osm) -> "RoadGraph":
        """Build from `OsmData` (its drivable ways); see the module docstring and
        osm_segments."""
        lon, lat, u, v, speed_kmh, oneway, car_only = osm_segments(osm)
        return cls.from_edges(lon, lat, u, v, speed_kmh, oneway, car_only, source="osm")

    @classmethod
    def from_edges(cls, lon, lat, u, v, speed_kmh, oneway, car_only, source: str = "") -> "RoadGraph":
        """Build from road segments u->v (node indices into lon/lat) with the car speed
        of each, whether it is one-way (u->v only) and whether it is car-only."""
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
        speed_kmh = np.asarray(speed_kmh, np.float64)
        oneway, car_only = np.asarray(oneway, bool), np.asarray(car_only, bool)
        n = len(lon)
        length = haversine_many_m(lon[u], lat[u], lon[v], lat[v])
        # the car graph's largest strongly connected component, in spatial order (cache locality)
        keep = _largest_scc(_reversed_csr(u, v, length / (speed_kmh / 3.6), ~oneway, n))
        keep = keep[_morton_order(lon[keep], lat[keep])]
        # re-index to the kept nodes
        new = np.full(n, -1, np.int64)
        new[keep] = np.arange(len(keep))
        ok = (new[u] >= 0) & (new[v] >= 0)
        u, v, length, speed_kmh = new[u[ok]], new[v[ok]], length[ok], speed_kmh[ok]
        oneway, car_only = oneway[ok], car_only[ok]
        lon, lat, n = lon[keep], lat[keep], len(keep)
        two = ~oneway
        xy = cls._project_static(lon, lat)
        modes: dict[Travel, ModeGraph] = {}
        trees: list = []
        for mode in MODES:
            if mode is Travel.CAR:
                sel, kmh, both = np.ones(len(u), bool), speed_kmh, two
            elif mode is Travel.EBIKE:
                sel, kmh, both = ~car_only, np.minimum(speed_kmh, EBIKE_MAX_KMH), two
            else:
                sel, kmh, both = ~car_only, np.full(len(u), FOOT_KMH), np.ones(len(u), bool)
            secs = length / (kmh / 3.6)
            rev = _reversed_csr(u, v, secs, both, n, None if mode is Travel.CAR else sel)
            if mode is Travel.CAR:
                nodes = np.arange(n, dtype=np.int32)
            else:
                nodes = _largest_scc(rev).astype(np.int32)
            typical = float(length[sel].sum() / max(secs[sel].sum(), 1e-9))
            modes[mode] = cls._mode(rev, nodes, xy, trees, mode, typical)
            modes[mode].max_mps = float(kmh[sel].max() / 3.6) if sel.any() else 1.0
            if mode is Travel.CAR:
                from dispatch.geo.routing import landmark_times
                modes[mode].to_lm, modes[mode].from_lm = landmark_times(rev, xy[:, 0], xy[:, 1])
        return cls(lon, lat, modes, source=source)

    @staticmethod
    def _mode(rev, nodes, xy, trees: list, mode: Travel, typical: float) -> ModeGraph:
        """Wrap one mode; modes snapping to the same node set share one KD-tree."""
        tree = next((t for ns, t in trees if len(ns) == len(nodes) and np.array_equal(ns, nodes)), None)
        if tree is None:
            tree = cKDTree(xy[nodes], balanced_tree=False, compact_nodes=False)
            trees.append((nodes, tree))
        return ModeGraph(rev, nodes, tree, APPROACH_KMH[mode] / 3.6, typical)

    # ---- projection and snapping ----------------------------------------------------
    @staticmethod
    def _project_static(lon, lat, origin=None) -> np.ndarray:
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        if origin is None:
            origin = ((lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2)
        k = math.pi / 180 * EARTH_RADIUS_M
        return np.column_stack([(lon - origin[0]) * k * math.cos(math.radians(origin[1])),
                                (lat - origin[1]) * k])

    def project(self, lon, lat) -> np.ndarray:
        """WGS-84 -> local metres (N, 2) on the graph's equirectangular projection."""
        return self._project_static(np.atleast_1d(lon), np.atleast_1d(lat), self._origin)

    def snap_many(self, mode: Travel, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised snap: (node indices, distances in metres) for the mode."""
        mg = self.modes[mode]
        dist, idx = mg.tree.query(self.project(lon, lat))
        return mg.nodes[idx], dist

    def snap_modes(self, codes: np.ndarray, lon, lat,
                   ground: np.ndarray | bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised snap of points each with its own mode (`codes`: index in MODES,
        car 0, e-bike 1, foot 2): one query on the car tree
        (all nodes); a point whose nearest node its mode cannot use (elevated road,
        tunnel, outside the mode's component) is queried again in its mode's tree.
        `ground` (a mask, or True for all): points on the ground, as an incident is —
        a car point of them is snapped to the nearest node of a road at ground level
        (the foot graph's: never into a tunnel or onto an elevated road running
        above or below the place, which would route the car to the other level)."""
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        nodes, dist = self.snap_many(Travel.CAR, lon, lat)
        if not self._member or not len(nodes):
            return nodes, dist
        codes = np.asarray(codes)
        for mode, member in self._member.items():
            bad = codes == MODES.index(mode)
            bad[bad] = ~member[nodes[bad]]
            if bad.any():
                nodes[bad], dist[bad] = self.snap_many(mode, lon[bad], lat[bad])
        ground_member = self._member.get(Travel.FOOT)
        if ground_member is not None and np.any(ground):
            low = (codes == MODES.index(Travel.CAR)) & np.broadcast_to(np.asarray(ground, bool), codes.shape)
            low[low] = ~ground_member[nodes[low]]
            if low.any():
                nodes[low], dist[low] = self.snap_many(Travel.FOOT, lon[low], lat[low])
        return nodes, dist

    def snap_ground(self, mode: Travel, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """snap_many for points on the ground (an incident): see snap_modes."""
        lon, lat = np.atleast_1d(np.asarray(lon, np.float64)), np.atleast_1d(np.asarray(lat, np.float64))
        return self.snap_modes(np.full(len(lon), MODES.index(mode)), lon, lat, ground=True)

    def snap(self, lon: float, lat: float, mode: Travel = Travel.CAR) -> tuple[int, float]:
        """Nearest graph node of the mode to a point: (node, distance in metres)."""
        nodes, dist = self.snap_many(mode, lon, lat)
        return int(nodes[0]), float(dist[0])

    # ---- info ----------------------------------------------------------------------
    @property
    def node_count(self) -> int:
        return len(self.lon)

    def edge_count(self, mode: Travel = Travel.CAR) -> int:
        return int(self.modes[mode].rev.nnz)

    @property
    def lonlat(self) -> np.ndarray:
        """(N, 2) array of node coordinates (lon, lat)."""
        return np.column_stack([self.lon, self.lat])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (float(self.lon.min()), float(self.lat.min()), float(self.lon.max()), float(self.lat.max()))

    # ---- routes ----------------------------------------------------------------------
    def path_meters(self, nodes: list[int] | np.ndarray) -> float:
        if len(nodes) < 2:
            return 0.0
        idx = np.asarray(nodes)
        return float(haversine_many_m(self.lon[idx[:-1]], self.lat[idx[:-1]],
                                   self.lon[idx[1:]], self.lat[idx[1:]]).sum())

    def route(self, mode: Travel, from_lonlat: tuple[float, float],
              to_lonlat: tuple[float, float]) -> Route:
        """Fastest route for the mode from a point to a point (for drawing a unit's route)."""
        from dispatch.geo.routing import route_search
        mg = self.modes[mode]
        (a,), (da,) = self.snap_many(mode, from_lonlat[0], from_lonlat[1])
        (b,), (db,) = self.snap_ground(mode, to_lonlat[0], to_lonlat[1])
        seconds, nodes = route_search(self, mode, int(b), int(a))
        if not nodes:
            raise DispatchError("两点之间没有可通行的道路")
        road_m = self.path_meters(nodes)
        snap_s = (float(da) + float(db)) / mg.approach_mps
        coords = [(float(from_lonlat[0]), float(from_lonlat[1]))]
        coords += [(float(self.lon[i]), float(self.lat[i])) for i in nodes]
        coords.append((float(to_lonlat[0]), float(to_lonlat[1])))
        return Route(coords, seconds + snap_s, road_m + float(da) + float(db),
                     seconds, road_m, nodes)

    # ---- cache -----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the graph to an .npz file (uncompressed: loading is a memcpy)."""
        arrays: dict[str, np.ndarray] = {"version": np.array([FORMAT_VERSION]),
                                          "lon": self.lon, "lat": self.lat,
                                          "source": np.array([self.source])}
        for mode, mg in self.modes.items():
            p = mode.value
            arrays[f"{p}_indptr"] = mg.rev.indptr
            arrays[f"{p}_indices"] = mg.rev.indices
            arrays[f"{p}_data"] = mg.rev.data
            arrays[f"{p}_nodes"] = mg.nodes
            arrays[f"{p}_meta"] = np.array([mg.approach_mps, mg.typical_mps, mg.max_mps])
            arrays[f"{p}_to_lm"] = mg.to_lm
            arrays[f"{p}_from_lm"] = mg.from_lm
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, allow_pickle=False, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> "RoadGraph":
        """Read a graph written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"][0]) != FORMAT_VERSION:
                    raise DispatchError(f"道路缓存版本不符: {path}")
                lon, lat = z["lon"], z["lat"]
                n = len(lon)
                raw = {m: (z[f"{m.value}_indptr"], z[f"{m.value}_indices"], z[f"{m.value}_data"],
                           z[f"{m.value}_nodes"], z[f"{m.value}_meta"],
                           z[f"{m.value}_to_lm"], z[f"{m.value}_from_lm"]) for m in MODES}
                source = str(z["source"][0])
        except (OSError, KeyError, ValueError) as exc:
            raise DispatchError(f"无法读取道路缓存 {path}: {exc}") from None
        xy = cls._project_static(lon, lat)
        trees: list = []
        modes = {}
        for m, (indptr, indices, data, nodes, meta, to_lm, from_lm) in raw.items():
            rev = sp.csr_matrix((data, indices, indptr), shape=(n, n))
            rev.has_sorted_indices = True
            mg = cls._mode(rev, nodes, xy, trees, m, float(meta[1]))
            mg.approach_mps = float(meta[0])
            mg.max_mps = float(meta[2])
            mg.to_lm, mg.from_lm = to_lm, from_lm
            modes[m] = mg
        return cls(lon, lat, modes, source=source)


def cache_key(osm_path: str | Path) -> str:
    """Cache file name for an OSM file: its name, size, mtime and the format version."""
    st = Path(osm_path).stat()
    return f"{Path(osm_path).stem}-{st.st_size}-{int(st.st_mtime_ns)}-v{FORMAT_VERSION}.roads.npz"


def load_or_build(osm_path: str | Path, cache_dir: str | Path, rebuild: bool = False) -> RoadGraph:
    """The road graph of an OSM file, from the cache when it is still valid, with its
    contraction hierarchy attached when that is cached too (never built here)."""
    from dispatch.geo.osm import read_osm
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        raise DispatchError(f"找不到 OSM 文件: {osm_path}")
    cache = Path(cache_dir) / cache_key(osm_path)
    graph = None
    if cache.is_file() and not rebuild:
        try:
            graph = RoadGraph.load(cache)
        except DispatchError:
            pass
    if graph is None:
        graph = RoadGraph.from_osm(read_osm(osm_path))
        cache.parent.mkdir(parents=True, exist_ok=True)
        graph.save(cache)
    load_hierarchy(graph, cache_dir)
    return graph
