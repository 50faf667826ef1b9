"""Name a point (reverse geocoding): the nearest junction of two named roads, else the
nearest named road, else nothing, with the distance and the compass direction of the
point from it, the administrative path and the grid.

Built from the OSM file the console routes on (its drivable named ways): junctions are
the nodes two differently named ways share (a point on a road, within ON_ROAD_M, is named
from a junction of that road when one is near, as a caller would); a road's distance is the distance from the
point to its nearest segment (not to its nearest node). A police post (派出所, 警务室,
岗亭) within POST_M of the point names it first. Lookups use KD-trees on a local
equirectangular projection: a call costs well under a millisecond.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from dispatch.geo.coords import EARTH_RADIUS_M

JUNCTION_M = 150.0   # a junction of two named roads this near names the point
ROAD_M = 1000.0      # no named road this near: the point has no name
POST_M = 30.0        # a post this near names the point
PIECE_M = 20.0       # segments are cut into pieces at most this long for the KD-tree
ON_ROAD_M = 30.0     # the point is on the nearest road: its own junctions come first
SAME_M = 5.0         # nearer than this: the name alone, no direction

DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


def junction_name(a: str, b: str) -> str:
    """'A与B交叉口' (the gazetteer's form of an intersection name)."""
    return f"{a}与{b}交叉口"


def direction_of(dx: float, dy: float) -> str:
    """Compass direction (8 points, Chinese) of an offset east `dx`, north `dy`."""
    angle = math.degrees(math.atan2(dy, dx)) % 360.0
    return DIRECTIONS[int((angle + 22.5) // 45.0) % 8]


@dataclass(frozen=True, slots=True)
class PointName:
    """What a point is called: `name` of the junction, road or post it is referred to,
    `distance_m` from it (to the road: perpendicular), `direction` of the point seen
    from it ("" when nearer than SAME_M), the admin path and the grid id."""

    name: str
    kind: str                      # "intersection" | "road" | "post"
    distance_m: float
    direction: str
    lon: float
    lat: float
    admin: list[str] = field(default_factory=list)
    grid_id: str | None = None

    @property
    def label(self) -> str:
        """'福州路与西藏中路交叉口 东40米', '福州路 北15米', or the name alone when on it."""
        if not self.direction:
            return self.name
        return f"{self.name} {self.direction}{round(self.distance_m)}米"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "distance_m": round(self.distance_m, 1),
                "direction": self.direction, "label": self.label, "admin": list(self.admin),
                "grid": self.grid_id, "lon": self.lon, "lat": self.lat}


class ReverseGeocoder:
    """Point -> PointName over the named roads of an OSM extract (see the module doc)."""

    def __init__(self, osm, admin: Sequence[str] = (),
                 grid_of: Callable[[float, float], str | None] | None = None,
                 posts: Sequence[tuple[str, float, float]] = (),
                 admin_of: dict[str, list[str]] | None = None) -> None:
        """`osm`: OsmData (dispatch.geo.osm); `admin`: the admin path of the
        area; `admin_of`: a narrower path per road name where known; `grid_of`: the
        grid id at a point; `posts`: (name, lon, lat) of police posts."""
        self.admin = list(admin)
        self.admin_of = admin_of or {}
        self.grid_of = grid_of
        lons = np.array([p[0] for p in osm.nodes.values()]) if osm.nodes else np.zeros(1)
        lats = np.array([p[1] for p in osm.nodes.values()]) if osm.nodes else np.zeros(1)
        self._origin = (float((lons.min() + lons.max()) / 2), float((lats.min() + lats.max()) / 2))
        self._kx = math.pi / 180 * EARTH_RADIUS_M * math.cos(math.radians(self._origin[1]))
        self._ky = math.pi / 180 * EARTH_RADIUS_M
        names: list[str] = []
        name_ix: dict[str, int] = {}
        seg_a: list[tuple[float, float]] = []
        seg_b: list[tuple[float, float]] = []
        seg_name: list[int] = []
        names_at: dict[int, set[int]] = {}
        for way in osm.drivable_ways():
            if not way.name:
                continue
            k = name_ix.setdefault(way.name, len(names))
            if k == len(names):
                names.append(way.name)
            refs = [r for r in way.node_ids if r in osm.nodes]
            for r in refs:
                names_at.setdefault(r, set()).add(k)
            for p, q in zip(refs, refs[1:]):
                seg_a.append(osm.nodes[p])
                seg_b.append(osm.nodes[q])
                seg_name.append(k)
        self._names = names
        self._build_roads(np.array(seg_a).reshape(-1, 2), np.array(seg_b).reshape(-1, 2),
                          np.array(seg_name, np.int64))
        jpts, jnames, jroads = [], [], []
        for node, ks in names_at.items():
            if len(ks) >= 2:
                a, b = sorted(names[k] for k in ks)[:2]
                jpts.append(osm.nodes[node])
                jnames.append(junction_name(a, b))
                jroads.append(frozenset(ks))
        self._junction_names = jnames
        self._junction_roads = jroads
        self._junctions = cKDTree(self._xy(np.array(jpts).reshape(-1, 2))) if jpts else None
        self._post_names = [p[0] for p in posts]
        self._posts = cKDTree(self._xy(np.array([(p[1], p[2]) for p in posts]).reshape(-1, 2))) \
            if posts else None

    def _xy(self, lonlat: np.ndarray) -> np.ndarray:
        return np.column_stack([(lonlat[:, 0] - self._origin[0]) * self._kx,
                                (lonlat[:, 1] - self._origin[1]) * self._ky])

    def _build_roads(self, a: np.ndarray, b: np.ndarray, name: np.ndarray) -> None:
        """Segments in metres, cut into pieces of at most PIECE_M; a KD-tree on the
        pieces' midpoints finds the candidates of the nearest segment exactly."""
        if not len(a):
            self._pa = self._pb = np.zeros((0, 2))
            self._pname = name
            self._pieces = None
            return
        pa, pb = self._xy(a), self._xy(b)
        length = np.hypot(*(pb - pa).T)
        cuts = np.maximum(1, np.ceil(length / PIECE_M)).astype(np.int64)
        seg = np.repeat(np.arange(len(pa)), cuts)
        first = np.repeat(np.cumsum(cuts) - cuts, cuts)
        k = np.arange(len(seg)) - first
        t0, t1 = k / cuts[seg], (k + 1) / cuts[seg]
        d = pb[seg] - pa[seg]
        self._pa = pa[seg] + d * t0[:, None]
        self._pb = pa[seg] + d * t1[:, None]
        self._pname = name[seg]
        self._pieces = cKDTree((self._pa + self._pb) / 2)
        self._half = float(np.hypot(*(self._pb - self._pa).T).max()) / 2

    def _nearest_road(self, p: np.ndarray) -> tuple[int, float, np.ndarray] | None:
        """(name index, distance, nearest point) of the nearest road segment."""
        if self._pieces is None:
            return None
        d0, _i = self._pieces.query(p)
        if d0 - self._half > ROAD_M:
            return None
        cand = np.asarray(self._pieces.query_ball_point(p, d0 + self._half + 1e-6), np.int64)
        a, b = self._pa[cand], self._pb[cand]
        ab = b - a
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1)
        foot = a + ab * t[:, None]
        dist = np.hypot(*(p - foot).T)
        j = int(np.argmin(dist))
        if dist[j] > ROAD_M:
            return None
        return int(self._pname[cand[j]]), float(dist[j]), foot[j]

    def _junction_near(self, p: np.ndarray, road: int) -> int:
        """Index of the junction naming the point, -1 if none within JUNCTION_M: the
        nearest junction on `road` (the road the point is on; -1: none), else the
        nearest junction."""
        assert self._junctions is not None
        near = self._junctions.query_ball_point(p, JUNCTION_M)
        if not near:
            return -1
        near = np.asarray(near, np.int64)
        d = np.hypot(*(self._junctions.data[near] - p).T)
        if road >= 0:
            on = np.fromiter((road in self._junction_roads[j] for j in near), bool, len(near))
            if on.any():
                return int(near[on][np.argmin(d[on])])
        return int(near[np.argmin(d)])

    def describe(self, lon: float, lat: float) -> PointName | None:
        """Name the point (lon, lat): a post within POST_M, else the nearest junction
        of two named roads within JUNCTION_M, else the nearest named road within
        ROAD_M; None when no named road is that near."""
        p = self._xy(np.array([[lon, lat]], np.float64))[0]
        ref: tuple[str, str, np.ndarray, list[str]] | None = None
        if self._posts is not None:
            d, i = self._posts.query(p)
            if d <= POST_M:
                ref = (self._post_names[i], "post", self._posts.data[i], self.admin)
        road = self._nearest_road(p) if ref is None else None
        if ref is None and self._junctions is not None:
            i = self._junction_near(p, road[0] if road is not None and road[1] <= ON_ROAD_M else -1)
            if i >= 0:
                first = self._names[min(self._junction_roads[i], key=lambda k: self._names[k])]
                ref = (self._junction_names[i], "intersection", self._junctions.data[i],
                       self.admin_of.get(first, self.admin))
        if ref is None:
            if road is None:
                return None
            k, _d, foot = road
            name = self._names[k]
            ref = (name, "road", foot, self.admin_of.get(name, self.admin))
        name, kind, at, admin = ref
        dx, dy = float(p[0] - at[0]), float(p[1] - at[1])
        dist = math.hypot(dx, dy)
        direction = direction_of(dx, dy) if dist >= SAME_M else ""
        grid = self.grid_of(lon, lat) if self.grid_of else None
        return PointName(name, kind, dist, direction, float(lon), float(lat), list(admin), grid)
