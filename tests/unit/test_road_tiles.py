"""Road lines and vector road tiles (dispatch.geo.road_lines / road_tiles) on the demo
extract and on a small generated city: what is cut into the tiles is the roads, at the
right zooms, in the right direction, and the tile set is reused by its hash."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from dispatch.geo.basemap import build_basemap
from dispatch.geo.osm import read_osm
from dispatch.geo.road_lines import graph_edges, lines_from_basemap, lines_from_graph
from dispatch.geo.road_tiles import (
    DATA_MAX_ZOOM, EXTENT, LABEL_MIN_RANK, RANK_MIN_ZOOM, TILE_PX, build_tiles, cached_tiles, label_zoom_masks,
    mercator, simplify_keep, tiles_for_graph, tiles_for_osm)
from dispatch.geo.synthetic_roads import generate_city

ROOT = Path(__file__).resolve().parents[2]
DEMO_OSM = ROOT / "resources" / "demo" / "shanghai-huangpu.osm"


@pytest.fixture(scope="module")
def demo_lines():
    return lines_from_basemap(build_basemap(read_osm(DEMO_OSM)))


@pytest.fixture(scope="module")
def demo_tiles(demo_lines):
    return build_tiles(demo_lines)


@pytest.fixture(scope="module")
def city():
    return generate_city(10_000, seed=3)


def runs(stream: np.ndarray) -> list[tuple[int, int, bool, np.ndarray]]:
    """Decode a road stream: (rank, name id, one-way, points (n, 2) in tile units)."""
    out, i = [], 0
    while i < len(stream):
        style, hi, lo, n = (int(v) for v in stream[i:i + 4])
        pts = stream[i + 4:i + 4 + 2 * n].astype(np.int64).reshape(n, 2)
        out.append((style >> 1, hi * 32768 + lo - 1, bool(style & 1), pts))
        i += 4 + 2 * n
    return out


def level_points(tiles, z: int) -> dict[tuple[int, int], list]:
    """All decoded runs of zoom z in global pixels {(rank, line name): [points, ...]}."""
    zs = tiles.keys >> 50
    out: list = []
    for key in tiles.keys[zs == z]:
        x, y = int((key >> 25) & 0x1FFFFFF), int(key & 0x1FFFFFF)
        roads, _labels = tiles.tile(z, x, y)
        for rank, name, oneway, pts in runs(roads):
            out.append((rank, name, oneway, pts / EXTENT + [x * TILE_PX, y * TILE_PX]))
    return out


def test_simplify_drops_jitter_and_keeps_corners():
    x = np.array([0.0, 10, 20, 30, 30, 30.1, 30, 100, 200])
    y = np.array([0.0, 0.1, -0.1, 0, 10, 20, 30, 30, 30.2])
    keep = simplify_keep(x, y, np.array([0, 4, 9]), 0.5)
    assert keep.tolist() == [True, False, False, True,      # first line: straight, ends only
                             True, False, True, False, True]  # second: the corner stays


def _dense(runs_: list, step: float = 0.25) -> np.ndarray:
    """Points every `step` pixels along the decoded runs."""
    out = []
    for r in runs_:
        pts = r[3]
        for a, b in zip(pts[:-1], pts[1:]):
            n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
            t = np.linspace(0, 1, n + 1)[:, None]
            out.append(a + (b - a) * t)
    return np.concatenate(out)


def test_every_demo_road_is_in_the_deepest_tiles(demo_lines, demo_tiles):
    """Each way's vertices lie on a drawn run of the deepest zoom (within the
    simplification's 0.2 px, the sampling and the 1/16 px rounding), every name is there."""
    from scipy.spatial import cKDTree
    got = level_points(demo_tiles, DATA_MAX_ZOOM)
    mx, my = mercator(demo_lines.lon, demo_lines.lat)
    scale = TILE_PX * 2 ** DATA_MAX_ZOOM
    dist, _ = cKDTree(_dense(got)).query(np.column_stack([mx * scale, my * scale]))
    assert dist.max() < 0.4
    assert {r[1] for r in got if r[1] >= 0} == set(demo_lines.name[demo_lines.name >= 0].tolist())


def test_ranks_by_zoom(demo_tiles):
    for z in (12, 14, 16):
        ranks = {r[0] for r in level_points(demo_tiles, z)}
        assert ranks, z
        assert all(RANK_MIN_ZOOM[r] <= z for r in ranks)
    assert {r[0] for r in level_points(demo_tiles, 16)} >= {1, 3, 5}
    assert 1 not in {r[0] for r in level_points(demo_tiles, 13)}


def test_one_way_runs_point_their_way(demo_lines, demo_tiles):
    """Every drawn piece of a one-way road runs the way of the way it lies on (the
    arrows are drawn along the run)."""
    from scipy.spatial import cKDTree
    mx, my = mercator(demo_lines.lon, demo_lines.lat)
    scale = TILE_PX * 2 ** DATA_MAX_ZOOM
    xy = np.column_stack([mx * scale, my * scale])
    samples, dirs = [], []
    for i in np.flatnonzero(demo_lines.oneway):
        pts = xy[demo_lines.starts[i]:demo_lines.starts[i + 1]]
        for a, b in zip(pts[:-1], pts[1:]):
            t = np.linspace(0, 1, max(2, int(np.linalg.norm(b - a) / 0.25)))[:, None]
            samples.append(a + (b - a) * t)
            dirs.append(np.repeat([(b - a) / max(np.linalg.norm(b - a), 1e-9)], len(t), axis=0))
    tree, dirs_ = cKDTree(np.concatenate(samples)), np.concatenate(dirs)
    checked = 0
    for _rank, _name, oneway, pts in level_points(demo_tiles, DATA_MAX_ZOOM):
        if not oneway:
            continue
        for a, b in zip(pts[:-1], pts[1:]):
            if np.linalg.norm(b - a) < 2:
                continue
            u = (b - a) / np.linalg.norm(b - a)
            cos = dirs_[tree.query_ball_point((a + b) / 2, 0.3)] @ u
            along = cos[np.abs(cos) > 0.95]  # the way it lies on, not one crossing there
            if len(along):
                assert (along > 0).all()
                checked += 1
    assert checked > 100


def _tile_labels(tiles, z: int) -> dict[tuple[int, int, int], int]:
    """The labels of data zoom z: {(name id, global x, global y) in tile units: rank + 8 * zooms}."""
    out = {}
    for key in tiles.keys[(tiles.keys >> 50) == z]:
        x, y = int((key >> 25) & 0x1FFFFFF), int(key & 0x1FFFFFF)
        lab = tiles.tile(z, x, y)[1]
        for i in range(0, len(lab), 6):
            name = int(lab[i]) * 32768 + int(lab[i + 1]) - 1
            out[(name, int(lab[i + 2]) + x * TILE_PX * EXTENT, int(lab[i + 3]) + y * TILE_PX * EXTENT)] = int(lab[i + 5])
    return out


def test_labels_in_the_tiles_they_reach(demo_lines, demo_tiles):
    """A label is in the tiles of the data zoom that serves a display zoom it is drawn at
    (15 by 15, the rest by 16), with its rank and zooms; arterials only at 15."""
    masks = label_zoom_masks(demo_lines.labels)
    for z, serves in ((15, 0b1), (16, 0b11110)):
        got = _tile_labels(demo_tiles, z)
        want = {demo_lines.names.index(lab["name"]) for lab, m in zip(demo_lines.labels, masks) if m & serves}
        assert {k[0] for k in got} == want and want
        for v in got.values():
            assert (v >> 3) & serves
            assert z != 15 or (v & 7) >= LABEL_MIN_RANK[15]
    assert len(demo_tiles.tile(14, 0, 0)[1]) == 0


def _letters(lab: dict, z: int) -> np.ndarray:
    mx, my = mercator(np.array([lab["lon"]]), np.array([lab["lat"]]))
    n, a = len(lab["name"]), np.radians(lab["angle"])
    k = np.arange(n) - (n - 1) / 2
    scale = TILE_PX * 2.0 ** z
    return np.column_stack([mx[0] * scale + k * 14 * np.cos(a), my[0] * scale + k * 14 * np.sin(a)])


def test_labels_decluttered_by_importance(demo_lines):
    """At each display zoom no two drawn labels' letters come within 18 px; a label left
    out there (of a rank named there) is left out because it would touch one drawn before
    it; deeper zooms name more."""
    labels, masks = demo_lines.labels, label_zoom_masks(demo_lines.labels)
    counts = []
    for z, min_rank in LABEL_MIN_RANK.items():
        drawn: list[np.ndarray] = []
        for lab, m in zip(labels, masks):
            pts = _letters(lab, z)
            near = any(np.min(np.linalg.norm(pts[:, None] - d[None], axis=2)) < 18 for d in drawn)
            if m >> (z - 15) & 1:
                assert lab["rank"] >= min_rank and not near, (z, lab["name"])
                drawn.append(pts)
            elif lab["rank"] >= min_rank:
                assert near, (z, lab["name"])
        counts.append(len(drawn))
    assert counts == sorted(counts) and counts[0] > 0 and counts[-1] > counts[0]
    # the more important road wins a place both want
    place = {"lon": 121.47, "lat": 31.23, "angle": 0.0}
    two = [{"name": "中山东一路", "rank": 6, **place}, {"name": "小弄堂", "rank": 1, **place}]
    assert label_zoom_masks(two).tolist() == [0b11111, 0]
    apart = [two[0], {**two[1], "lat": 31.2}]
    assert label_zoom_masks(apart).tolist() == [0b11111, 0b11100]


def test_graph_lines_cover_every_road_once_in_its_direction(city):
    lines = lines_from_graph(city)
    tail, head, rank, oneway = graph_edges(city)
    n = city.node_count
    node = {(round(lo, 9), round(la, 9)): i for i, (lo, la) in enumerate(zip(city.lon, city.lat))}
    drawn: dict[tuple[int, int], int] = {}
    for i in range(lines.count):
        s, e = lines.starts[i], lines.starts[i + 1]
        ids = [node[(round(lo, 9), round(la, 9))] for lo, la in zip(lines.lon[s:e], lines.lat[s:e])]
        for a, b in zip(ids, ids[1:]):
            drawn[(a, b)] = i
    for t, h, r, ow in zip(tail, head, rank, oneway):
        line = drawn.get((t, h), drawn.get((h, t)) if not ow else None)
        assert line is not None, (t, h, ow)
        assert lines.rank[line] == r and lines.oneway[line] == ow
    assert len(drawn) == len(tail)  # no road twice
    # chained: a street is a few long lines, not one line per segment
    assert lines.count < len(tail) / 8
    assert n == city.node_count


def test_graph_tiles_reused_by_hash(city, tmp_path):
    first = tiles_for_graph(city, tmp_path)
    assert first.path is not None and first.path.is_file()
    again = tiles_for_graph(city, tmp_path)
    assert again.path == first.path and np.array_equal(again.roads, first.roads)
    assert list(tmp_path.iterdir()) == [first.path]
    # low zooms carry only the fast roads, simplified to a few points each
    low = level_points(first, 12)
    assert low and all(r[0] >= 5 for r in low)
    assert max(len(r[3]) for r in low) < 20


def test_cached_tiles_follow_the_data(demo_lines, tmp_path):
    a = cached_tiles(demo_lines, tmp_path)
    b = cached_tiles(demo_lines, tmp_path)
    assert a.path == b.path and a.digest == demo_lines.digest()
    moved = type(demo_lines)(demo_lines.lon + 1e-4, demo_lines.lat, demo_lines.starts, demo_lines.rank,
                             demo_lines.oneway, demo_lines.name, demo_lines.names, demo_lines.labels)
    c = cached_tiles(moved, tmp_path)
    assert c.path != a.path and len(list(tmp_path.iterdir())) == 2


def test_payload_of_bad_or_empty_keys(demo_tiles):
    assert demo_tiles.payload("nonsense") == ["", ""]
    assert demo_tiles.payload("25/1/1") == ["", ""]
    assert demo_tiles.payload("16/0/0") == ["", ""]
    big = int(np.argmax(np.diff(demo_tiles.road_off)))
    key = demo_tiles.keys[big]
    z, x, y = int(key >> 50), int((key >> 25) & 0x1FFFFFF), int(key & 0x1FFFFFF)
    roads, labels = demo_tiles.payload(f"{z}/{x}/{y}")
    decoded = np.frombuffer(base64.b64decode(roads), "<i2")
    assert np.array_equal(decoded, demo_tiles.tile(z, x, y)[0]) and len(decoded) > 100
    assert len(base64.b64decode(labels)) == 2 * len(demo_tiles.tile(z, x, y)[1])


def test_osm_tiles_cached_by_the_file_digest(tmp_path):
    """A road file's tiles are cut once per content: the same bytes elsewhere load them from
    the cache; a changed file is cut again; the tiles' bounds are the basemap's."""
    osm = tmp_path / "city.osm"
    osm.write_bytes(DEMO_OSM.read_bytes())
    cache = tmp_path / "tiles"
    first = tiles_for_osm(osm, cache)
    assert first.path is not None and first.path.is_file()
    assert first.bounds == build_basemap(read_osm(DEMO_OSM))["bounds"]
    copy = tmp_path / "copy.osm"
    copy.write_bytes(osm.read_bytes())
    again = tiles_for_osm(copy, cache)
    assert again.path == first.path and np.array_equal(again.roads, first.roads)
    assert np.array_equal(again.labels, first.labels) and again.names == first.names
    osm.write_bytes(DEMO_OSM.read_bytes().replace(b'k="name" v="', b'k="name" v="X', 1))
    changed = tiles_for_osm(osm, cache)
    assert changed.path != first.path and changed.names != first.names
    assert len(list(cache.glob("*.tiles.npz"))) == 2
