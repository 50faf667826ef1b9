"""A generated city road network for benchmarks (seeded, reproducible).

A perturbed grid about 60 m between junctions, node positions jittered, around a
centre point. Streets by row/column index:
  * every 128th: an elevated expressway, 60 km/h, car only, two-way;
  * every 16th: an arterial, 50 km/h, two-way;
  * every 4th: a secondary road, 35 km/h, two-way;
  * the others: residential, 20 km/h; those at index 1 and 3 mod 4 are one-way, in
    alternating directions (a real one-way pair), and 4 % of residential segments
    are missing (blocks, dead ends).
So faster arterials pull routes away from the straight line and one-way streets make
travel times asymmetric: the time limit of the search really has to grow.
"""
from __future__ import annotations

import math

import numpy as np

from dispatch.geo.coords import EARTH_RADIUS_M
from dispatch.geo.roads import RoadGraph

SPACING_M = 60.0


def _street_class(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(speed km/h, one-way, forward direction, car-only) of the street at each index."""
    speed = np.full(index.shape, 20.0)
    speed[index % 4 == 0] = 35.0
    speed[index % 16 == 0] = 50.0
    express = index % 128 == 64
    speed[express] = 60.0
    oneway = (index % 4 == 1) | (index % 4 == 3)
    forward = index % 4 == 1
    return speed, oneway, forward, express


def generate_city(n_nodes: int = 1_000_000, seed: int = 7,
                  centre: tuple[float, float] = (121.47, 31.23),
                  spacing_m: float = SPACING_M) -> RoadGraph:
    """Build the road graph of a generated city with about `n_nodes` junctions."""
    rng = np.random.default_rng(seed)
    cols = int(math.ceil(math.sqrt(n_nodes)))
    rows = int(math.ceil(n_nodes / cols))
    r, c = np.divmod(np.arange(n_nodes), cols)
    x = (c - cols / 2) * spacing_m + rng.uniform(-0.2, 0.2, n_nodes) * spacing_m
    y = (r - rows / 2) * spacing_m + rng.uniform(-0.2, 0.2, n_nodes) * spacing_m
    k = math.pi / 180 * EARTH_RADIUS_M
    lat = centre[1] + y / k
    lon = centre[0] + x / (k * math.cos(math.radians(centre[1])))

    idx = np.arange(n_nodes)
    # row streets: (r, c) -> (r, c+1)
    h = idx[(c < cols - 1) & (idx + 1 < n_nodes)]
    hs, ho, hf, he = _street_class(r[h])
    hu, hv = h, h + 1
    # column streets: (r, c) -> (r+1, c)
    v = idx[idx + cols < n_nodes]
    vs, vo, vf, ve = _street_class(c[v])
    vu, vv = v, v + cols

    u = np.concatenate([hu, vu])
    w = np.concatenate([hv, vv])
    speed = np.concatenate([hs, vs])
    oneway = np.concatenate([ho, vo])
    forward = np.concatenate([hf, vf])
    car_only = np.concatenate([he, ve])
    # one-way streets in alternating directions
    back = oneway & ~forward
    u, w = np.where(back, w, u), np.where(back, u, w)
    # missing residential segments
    drop = (speed == 20.0) & (rng.random(len(u)) < 0.04)
    keep = ~drop
    return RoadGraph.from_edges(lon, lat, u[keep], w[keep], speed[keep], oneway[keep],
                                car_only[keep], source=f"synthetic:{n_nodes}:{seed}")
