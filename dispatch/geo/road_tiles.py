"""Vector road tiles for the map: per zoom the road classes worth drawing, simplified
(Douglas–Peucker in pixels of that zoom) and cut into 256-pixel web-mercator tiles.

A tile is two int16 streams (little-endian), coordinates in 1/EXTENT pixel relative to
the tile's top-left corner:
  roads:  runs of [style, name_hi, name_lo, n, x0, y0, ..., x(n-1), y(n-1)]
          style = rank * 2 + one-way; name = name_hi * 32768 + name_lo - 1 (-1: none);
          runs sorted by rank (arterials last, drawn on top); a one-way run points its way
  labels: [name_hi, name_lo, x, y, angle * 10, rank + 8 * zooms] per road-name label whose
          text may reach into the tile (so a label crossing tile edges is drawn whole);
          zooms: bit z - 15 set where the label is drawn at display zoom z (decluttered
          here, once: no two labels' letters overlap, the more important road wins)
Tiles exist for zooms DATA_MIN_ZOOM..DATA_MAX_ZOOM; deeper zooms draw their
DATA_MAX_ZOOM ancestor scaled (vector data: still sharp). A tile set is one .npz file in
the cache directory named by the hash of the lines (or of the road file, tiles_for_osm; or
of the road graph, tiles_for_graph), so it is built once per road data.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dispatch.domain.errors import DispatchError
from dispatch.geo.road_lines import RoadLines

if TYPE_CHECKING:
    from dispatch.geo.osm import OsmData

TILE_FORMAT = 5
TILE_PX = 256
EXTENT = 16                  # tile units per pixel
BUFFER_PX = 12               # roads are cut a little outside the tile (line widths, caps)
DATA_MIN_ZOOM, DATA_MAX_ZOOM = 8, 16
# Douglas–Peucker tolerance in pixels of the tile's zoom; finer at the deepest data zoom,
# which is drawn magnified up to 8 times (zoom 19).
SIMPLIFY_PX, SIMPLIFY_DEEPEST_PX = 0.75, 0.2
# The least zoom at which each rank (basemap.HIGHWAY_RANK) is drawn.
# Secondary and tertiary roads from 14 (at 12-13 a grid city's are a grey texture, and a
# whole view of them costs more than a frame), residential and service from 15; the demo
# is never shown below 15.
RANK_MIN_ZOOM = np.array([15, 15, 14, 14, 14, 0, 0])
LABEL_MIN_ZOOM = 15          # road names from zoom 15
# The least rank named at each display zoom (the map goes to 19; deeper than the data's
# DATA_MAX_ZOOM the page draws its ancestor tile): arterials from 15, secondary from 16,
# every named road from 17.
LABEL_MIN_RANK = {15: 5, 16: 3, 17: 0, 18: 0, 19: 0}
_LABEL_CHAR_PX, _LABEL_PAD_PX = 14.0, 8.0  # the page's 12-13 px CJK letters and 1 px spacing
_LABEL_GAP_PX = 18.0         # letters of two labels closer than this (centre to centre) collide


def _key(z: int | np.ndarray, x: Any, y: Any) -> Any:
    return (np.int64(z) << 50) | (np.asarray(x, np.int64) << 25) | np.asarray(y, np.int64)


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> web-mercator unit square (x right, y down), as Leaflet's tiles."""
    lat = np.clip(lat, -85.05112878, 85.05112878)
    x = (np.asarray(lon, np.float64) + 180.0) / 360.0
    y = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0
    return x, y


def simplify_keep(x: np.ndarray, y: np.ndarray, starts: np.ndarray, tol: float) -> np.ndarray:
    """Douglas–Peucker over many polylines at once: the mask of points kept."""
    keep = np.zeros(len(x), bool)
    if len(x) == 0:
        return keep
    keep[starts[:-1]] = True
    keep[starts[1:] - 1] = True
    s, e = starts[:-1].copy(), starts[1:] - 1
    long = e - s >= 2
    s, e = s[long], e[long]
    while len(s):
        inner = e - s - 1
        seg = np.repeat(np.arange(len(s)), inner)
        first = np.zeros(len(s), np.int64)
        np.cumsum(inner[:-1], out=first[1:])
        idx = s[seg] + 1 + (np.arange(len(seg)) - first[seg])
        ax, ay, bx, by = x[s][seg], y[s][seg], x[e][seg], y[e][seg]
        dx, dy = bx - ax, by - ay
        norm = np.hypot(dx, dy)
        cross = np.abs(dx * (y[idx] - ay) - dy * (x[idx] - ax))
        dist = np.where(norm > 0, cross / np.where(norm > 0, norm, 1), np.hypot(x[idx] - ax, y[idx] - ay))
        dmax = np.maximum.reduceat(dist, first)
        at = np.flatnonzero(dist == dmax[seg])
        at = at[np.unique(seg[at], return_index=True)[1]]  # the first point at the max of each
        split = dmax > tol
        mid = idx[at][split]
        keep[mid] = True
        s2 = np.concatenate([s[split], mid])
        e2 = np.concatenate([mid, e[split]])
        more = e2 - s2 >= 2
        s, e = s2[more], e2[more]
    return keep


def _clip(x1, y1, x2, y2, xmin, ymin, xmax, ymax):  # noqa: ANN001, ANN202
    """Liang–Barsky for many segments: (t0, t1, inside)."""
    dx, dy = x2 - x1, y2 - y1
    t0, t1 = np.zeros(len(x1)), np.ones(len(x1))
    ok = np.ones(len(x1), bool)
    for p, q in ((-dx, x1 - xmin), (dx, xmax - x1), (-dy, y1 - ymin), (dy, ymax - y1)):
        par = p == 0
        ok &= ~(par & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(par, 0.0, q / np.where(par, 1.0, p))
        t0 = np.where(~par & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~par & (p > 0), np.minimum(t1, r), t1)
    return t0, t1, ok & (t0 <= t1)


def _split_name(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = ids.astype(np.int64) + 1
    return v >> 15, v & 0x7FFF


def _level_roads(lines: RoadLines, mx: np.ndarray, my: np.ndarray, z: int):
    """(tile keys, offsets, int16 stream) of the roads at zoom z."""
    sel = np.flatnonzero(RANK_MIN_ZOOM[lines.rank] <= z)
    empty = (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int16))
    if not len(sel):
        return empty
    lo, hi = lines.starts[sel], lines.starts[sel + 1]
    n = hi - lo
    starts = np.zeros(len(sel) + 1, np.int64)
    np.cumsum(n, out=starts[1:])
    line_pos = np.repeat(np.arange(len(sel)), n)
    line = sel[line_pos]
    idx = lo[line_pos] + (np.arange(starts[-1]) - starts[line_pos])
    scale = TILE_PX * 2.0 ** z
    x, y = mx[idx] * scale, my[idx] * scale
    keep = simplify_keep(x, y, starts, SIMPLIFY_DEEPEST_PX if z >= DATA_MAX_ZOOM else SIMPLIFY_PX)
    x, y, line = x[keep], y[keep], line[keep]
    a = np.flatnonzero(line[:-1] == line[1:])  # a segment: kept point a to a + 1 of one line
    x1, y1, x2, y2, sl, so = x[a], y[a], x[a + 1], y[a + 1], line[a], a
    b = BUFFER_PX
    tx0 = np.floor((np.minimum(x1, x2) - b) / TILE_PX).astype(np.int64)
    tx1 = np.floor((np.maximum(x1, x2) + b) / TILE_PX).astype(np.int64)
    ty0 = np.floor((np.minimum(y1, y2) - b) / TILE_PX).astype(np.int64)
    ty1 = np.floor((np.maximum(y1, y2) + b) / TILE_PX).astype(np.int64)
    nx, ny = tx1 - tx0 + 1, ty1 - ty0 + 1
    cnt = nx * ny
    rep = np.repeat(np.arange(len(x1)), cnt)
    off = np.zeros(len(cnt), np.int64)
    np.cumsum(cnt[:-1], out=off[1:])
    k = np.arange(len(rep)) - off[rep]
    tx, ty = tx0[rep] + k % nx[rep], ty0[rep] + k // nx[rep]
    x1, y1, x2, y2, sl, so = x1[rep], y1[rep], x2[rep], y2[rep], sl[rep], so[rep]
    ox, oy = tx * TILE_PX, ty * TILE_PX
    t0, t1, ok = _clip(x1, y1, x2, y2, ox - b, oy - b, ox + TILE_PX + b, oy + TILE_PX + b)
    dx, dy = x2 - x1, y2 - y1
    p1x = np.rint((x1 + t0 * dx - ox) * EXTENT).astype(np.int64)
    p1y = np.rint((y1 + t0 * dy - oy) * EXTENT).astype(np.int64)
    p2x = np.rint((x1 + t1 * dx - ox) * EXTENT).astype(np.int64)
    p2y = np.rint((y1 + t1 * dy - oy) * EXTENT).astype(np.int64)
    ok &= (p1x != p2x) | (p1y != p2y)
    tkey = _key(z, tx, ty)
    f = np.flatnonzero(ok)
    f = f[np.lexsort((so[f], sl[f], lines.rank[sl[f]], tkey[f]))]
    tkey, sl, so, p1x, p1y, p2x, p2y = tkey[f], sl[f], so[f], p1x[f], p1y[f], p2x[f], p2y[f]
    if not len(f):
        return empty
    new = np.ones(len(f), bool)
    new[1:] = ((tkey[1:] != tkey[:-1]) | (sl[1:] != sl[:-1]) | (so[1:] != so[:-1] + 1)
               | (p1x[1:] != p2x[:-1]) | (p1y[1:] != p2y[:-1]))
    run_first = np.flatnonzero(new)
    run_of = np.cumsum(new) - 1
    nseg = np.diff(np.append(run_first, len(f)))
    rec = 4 + 2 * (nseg + 1)
    roff = np.zeros(len(rec) + 1, np.int64)
    np.cumsum(rec, out=roff[1:])
    out = np.zeros(roff[-1], np.int64)
    rl = sl[run_first]
    hi_, lo_ = _split_name(lines.name[rl])
    base = roff[:-1]
    out[base] = lines.rank[rl].astype(np.int64) * 2 + lines.oneway[rl]
    out[base + 1], out[base + 2], out[base + 3] = hi_, lo_, nseg + 1
    out[base + 4], out[base + 5] = p1x[run_first], p1y[run_first]
    j = np.arange(len(f)) - run_first[run_of]
    pos = base[run_of] + 6 + 2 * j
    out[pos], out[pos + 1] = p2x, p2y
    tile_first = np.flatnonzero(np.r_[True, tkey[run_first][1:] != tkey[run_first][:-1]])
    keys = tkey[run_first][tile_first]
    offs = np.append(roff[tile_first], roff[-1])
    return keys, offs, out.astype(np.int16)


def label_zoom_masks(labels: list[dict[str, Any]]) -> np.ndarray:
    """Per label, the display zooms at which it is drawn (bit z - 15 for z in
    LABEL_MIN_RANK). At each zoom the labels are placed in their order (most important
    first: dispatch.geo.basemap sorts them by rank, then length): a label is drawn if its
    rank is named at that zoom and none of its letters, laid along its angle, comes within
    _LABEL_GAP_PX of a letter of a label already drawn."""
    masks = np.zeros(len(labels), np.int64)
    if not labels:
        return masks
    mx, my = mercator(np.array([lab["lon"] for lab in labels]), np.array([lab["lat"] for lab in labels]))
    gap, gap2 = _LABEL_GAP_PX, _LABEL_GAP_PX ** 2
    for z, min_rank in LABEL_MIN_RANK.items():
        scale = TILE_PX * 2.0 ** z
        cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for i, lab in enumerate(labels):
            if lab["rank"] < min_rank:
                continue
            n, a = len(lab["name"]), math.radians(lab["angle"])  # clockwise from east, y down
            dx, dy = math.cos(a) * _LABEL_CHAR_PX, math.sin(a) * _LABEL_CHAR_PX
            cx, cy = mx[i] * scale, my[i] * scale
            letters = [(cx + (k - (n - 1) / 2) * dx, cy + (k - (n - 1) / 2) * dy) for k in range(n)]
            if any((px - qx) ** 2 + (py - qy) ** 2 < gap2
                   for px, py in letters
                   for gx in (int(px // gap) - 1, int(px // gap), int(px // gap) + 1)
                   for gy in (int(py // gap) - 1, int(py // gap), int(py // gap) + 1)
                   for qx, qy in cells.get((gx, gy), ())):
                continue
            for px, py in letters:
                cells.setdefault((int(px // gap), int(py // gap)), []).append((px, py))
            masks[i] |= 1 << (z - LABEL_MIN_ZOOM)
    return masks


def _level_labels(lines: RoadLines, z: int, names: dict[str, int], masks: np.ndarray):
    """(tile keys, offsets, int16 stream) of the road-name labels at data zoom z: those
    drawn at some display zoom this level serves (z, or every zoom from z when it is the
    deepest data zoom)."""
    if z < LABEL_MIN_ZOOM or not lines.labels:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int16)
    serves = 0
    for dz in LABEL_MIN_RANK:
        if dz == z or (z == DATA_MAX_ZOOM and dz > z):
            serves |= 1 << (dz - LABEL_MIN_ZOOM)
    labs = lines.labels
    lx, ly = mercator(np.array([lab["lon"] for lab in labs]), np.array([lab["lat"] for lab in labs]))
    scale = TILE_PX * 2.0 ** z
    lx, ly = lx * scale, ly * scale
    half = np.array([len(lab["name"]) * _LABEL_CHAR_PX / 2 + _LABEL_PAD_PX for lab in labs])
    recs: dict[int, list[int]] = {}
    for i, lab in enumerate(labs):
        if not masks[i] & serves:
            continue
        hi_, lo_ = _split_name(np.array([names[lab["name"]]]))
        for tx in range(int((lx[i] - half[i]) // TILE_PX), int((lx[i] + half[i]) // TILE_PX) + 1):
            for ty in range(int((ly[i] - half[i]) // TILE_PX), int((ly[i] + half[i]) // TILE_PX) + 1):
                recs.setdefault(int(_key(z, tx, ty)), []).extend([
                    int(hi_[0]), int(lo_[0]), round((lx[i] - tx * TILE_PX) * EXTENT),
                    round((ly[i] - ty * TILE_PX) * EXTENT), round(lab["angle"] * 10),
                    int(lab["rank"]) + 8 * int(masks[i])])
    keys = np.array(sorted(recs), np.int64)
    offs = np.zeros(len(keys) + 1, np.int64)
    np.cumsum([len(recs[int(k)]) for k in keys], out=offs[1:])
    stream = np.array([v for k in keys for v in recs[int(k)]], np.int16)
    return keys, offs, stream


def _merge(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (len(keys)+1) into the concatenated streams of ``parts`` for ``keys``."""
    stream = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int16)
    all_keys = np.concatenate([p[0] for p in parts])
    lengths = np.concatenate([np.diff(p[1]) for p in parts])
    size = np.zeros(len(keys), np.int64)
    size[np.searchsorted(keys, all_keys)] = lengths
    offs = np.zeros(len(keys) + 1, np.int64)
    np.cumsum(size, out=offs[1:])
    return offs, stream


@dataclass
class TileSet:
    """Built road tiles: sorted tile keys, per-tile offsets into the road and label
    streams, the name table and the lines' bounds [min_lon, min_lat, max_lon, max_lat]."""

    keys: np.ndarray
    road_off: np.ndarray
    roads: np.ndarray
    label_off: np.ndarray
    labels: np.ndarray
    names: list[str]
    bounds: list[float]
    digest: str = ""
    path: Path | None = None

    @property
    def tile_count(self) -> int:
        return len(self.keys)

    def tile(self, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
        """The (roads, labels) int16 streams of one tile (empty where nothing is drawn)."""
        i = int(np.searchsorted(self.keys, _key(z, x, y)))
        if i >= len(self.keys) or self.keys[i] != _key(z, x, y):
            return self.roads[:0], self.labels[:0]
        return (self.roads[self.road_off[i]:self.road_off[i + 1]],
                self.labels[self.label_off[i]:self.label_off[i + 1]])

    def payload(self, key: str) -> list[str]:
        """A tile named "z/x/y" for the page: [roads, labels], each base64 of its stream."""
        try:
            z, x, y = (int(v) for v in key.split("/"))
        except ValueError:
            return ["", ""]
        if not DATA_MIN_ZOOM <= z <= DATA_MAX_ZOOM:
            return ["", ""]
        roads, labels = self.tile(z, x, y)
        return [base64.b64encode(roads.astype("<i2").tobytes()).decode("ascii"),
                base64.b64encode(labels.astype("<i2").tobytes()).decode("ascii")]

    def preload(self, budget_bytes: int) -> tuple[dict[str, list[str]], int]:
        """The tiles written into the page ("z/x/y": payload), whole zooms from the least
        while their streams fit ``budget_bytes``, and the deepest zoom written whole
        (DATA_MIN_ZOOM - 1: none). A small set (the demo's) goes in whole; a city's low
        zooms, its first view at start, are drawn without a round trip to Python, which
        is busy loading then."""
        z = self.keys >> 50
        sizes = 2 * (np.diff(self.road_off) + np.diff(self.label_off))
        out: dict[str, list[str]] = {}
        used, full = 0, DATA_MIN_ZOOM - 1
        for level in range(DATA_MIN_ZOOM, DATA_MAX_ZOOM + 1):
            at = z == level
            used += int(sizes[at].sum())
            if used > budget_bytes:
                break
            for key in self.keys[at].tolist():
                name = f"{key >> 50}/{(key >> 25) & 0x1FFFFFF}/{key & 0x1FFFFFF}"
                out[name] = self.payload(name)
            full = level
        return out, full

    @property
    def nbytes(self) -> int:
        return int(self.roads.nbytes + self.labels.nbytes)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, format=np.array([TILE_FORMAT]), keys=self.keys, road_off=self.road_off,
                 roads=self.roads, label_off=self.label_off, labels=self.labels,
                 names=np.array(self.names, dtype=str), bounds=np.array(self.bounds),
                 digest=np.array([self.digest]))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "TileSet":
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"][0]) != TILE_FORMAT:
                    raise DispatchError(f"地图瓦片缓存版本不符: {path}")
                return cls(z["keys"], z["road_off"], z["roads"], z["label_off"], z["labels"],
                           [str(s) for s in z["names"]], [float(v) for v in z["bounds"]],
                           str(z["digest"][0]), Path(path))
        except (OSError, KeyError, ValueError) as exc:
            raise DispatchError(f"无法读取地图瓦片缓存 {path}: {exc}") from None


def build_tiles(lines: RoadLines, zooms: range = range(DATA_MIN_ZOOM, DATA_MAX_ZOOM + 1)) -> TileSet:
    """Cut the lines into tiles at every zoom of ``zooms``."""
    mx, my = mercator(lines.lon, lines.lat)
    names = {n: i for i, n in enumerate(lines.names)}
    masks = label_zoom_masks(lines.labels)
    road_parts, label_parts = [], []
    for z in zooms:
        road_parts.append(_level_roads(lines, mx, my, z))
        label_parts.append(_level_labels(lines, z, names, masks))
    keys = np.union1d(np.concatenate([p[0] for p in road_parts]),
                      np.concatenate([p[0] for p in label_parts]))
    road_off, roads = _merge(road_parts, keys)
    label_off, labels = _merge(label_parts, keys)
    if len(lines.lon):
        bounds = [float(lines.lon.min()), float(lines.lat.min()), float(lines.lon.max()), float(lines.lat.max())]
    else:
        bounds = [0.0, 0.0, 0.0, 0.0]
    return TileSet(keys, road_off, roads, label_off, labels, list(lines.names), bounds, lines.digest())


def tile_cache_path(cache_dir: Path, digest: str) -> Path:
    """The tile set's cache file for road data of this digest."""
    return Path(cache_dir) / f"roads-{digest[:20]}-f{TILE_FORMAT}.tiles.npz"


def _load_cached(cache_dir: Path, digest: str) -> TileSet | None:
    path = tile_cache_path(cache_dir, digest)
    if path.is_file():
        try:
            return TileSet.load(path)
        except DispatchError:
            pass
    return None


def cached_tiles(lines: RoadLines, cache_dir: Path, digest: str | None = None) -> TileSet:
    """The lines' tile set from ``cache_dir`` (built and written there the first time).
    ``digest`` names the road data when the caller has a cheaper hash than the lines'."""
    digest = digest or lines.digest()
    found = _load_cached(cache_dir, digest)
    if found is not None:
        return found
    tiles = build_tiles(lines)
    tiles.digest = digest
    return _kept(tiles, cache_dir, digest)


def file_sha256(path: Path, memo: Path) -> str:
    """The SHA-256 of a file, remembered in the JSON file ``memo`` by path, size and
    modification time: a city extract of hundreds of MB is hashed once, not at every start."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns]
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    entry = known.get(str(path))
    if isinstance(entry, list) and entry[:2] == stamp and len(entry) == 3:
        return str(entry[2])
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    known[str(path)] = [*stamp, h.hexdigest()]
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(memo.name + ".tmp")
        tmp.write_text(json.dumps(known), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError:
        pass  # not remembered: hashed again next time
    return h.hexdigest()


def tiles_for_osm(osm_path: Path, cache_dir: Path, osm: OsmData | None = None) -> TileSet:
    """An OSM extract's road tiles (.osm or .osm.pbf), cached by the SHA-256 of the file and
    the basemap's drawing rules: the file is read and cut the first time only; a start
    loads the tiles (milliseconds) instead of parsing the file and building its GeoJSON.
    The tile set's bounds are the basemap's (the file's own bounds when it has them).
    `osm`: the file as already read (an import), so it is not read twice."""
    from dispatch.geo.basemap import BASEMAP_VERSION, build_basemap
    from dispatch.geo.osm import read_osm
    from dispatch.geo.road_lines import lines_from_basemap

    sha = file_sha256(Path(osm_path), Path(cache_dir) / "osm-sha256.json")
    digest = hashlib.sha1(f"osm {sha} basemap {BASEMAP_VERSION}".encode()).hexdigest()
    found = _load_cached(cache_dir, digest)
    if found is not None:
        return found
    basemap = build_basemap(osm if osm is not None else read_osm(osm_path))
    lines = lines_from_basemap(basemap)
    tiles = build_tiles(lines)
    tiles.digest, tiles.bounds = digest, [float(v) for v in basemap["bounds"]]
    return _kept(tiles, cache_dir, digest)


def _kept(tiles: TileSet, cache_dir: Path, digest: str) -> TileSet:
    """The tile set written to the cache under its digest (and told where it is)."""
    path = tile_cache_path(cache_dir, digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tiles.save(path)
        tiles.path = path
    except OSError as exc:
        raise DispatchError(f"无法写入地图瓦片缓存 {path}：{exc}") from None
    return tiles


def tiles_for_graph(graph, cache_dir: Path) -> TileSet:  # noqa: ANN001
    """A road graph's tile set (e.g. the generated city), cached by the graph's hash
    (the same hash names its contraction hierarchy)."""
    from dispatch.geo.contraction import graph_digest
    from dispatch.geo.road_lines import lines_from_graph
    digest = graph_digest(graph)
    found = _load_cached(cache_dir, digest)
    return found if found is not None else cached_tiles(lines_from_graph(graph), cache_dir, digest)
