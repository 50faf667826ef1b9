"""Writes a generated city extract as .osm.pbf, for measuring `import-city` at city size
(not a fixture: generated on demand, nothing of it is real OpenStreetMap data).

    python tests/data/osm/make_city_pbf.py OUT.osm.pbf [--side 1000] [--buildings 200000]

A side x side lattice of junctions about 60 m apart around central Shanghai; every 4th
row and column is a named road (经N路 / 纬N路, every 16th primary, else secondary), the
others unnamed residential streets; each street is cut into ways of 10 segments. Every
50th junction of a named row carries a named POI node; `buildings` closed building ways
of 4 nodes each (nodes a reader must skip) sit between the streets."""
from __future__ import annotations

import argparse
import math

import osmium
from osmium.osm.mutable import Node, Way

LON0, LAT0, SPACING_M = 121.30, 31.10, 60.0


def write_city(out: str, side: int, buildings: int) -> dict[str, int]:
    dlat = SPACING_M / 111_320.0
    dlon = dlat / math.cos(math.radians(LAT0))
    header = osmium.io.Header()
    header.add_box(osmium.osm.Box(LON0, LAT0, LON0 + side * dlon, LAT0 + side * dlat))
    header.set("generator", "dispatch-console make_city_pbf.py")
    counts = {"nodes": 0, "ways": 0}
    with osmium.SimpleWriter(out, overwrite=True, header=header) as w:
        for r in range(side):
            for c in range(side):
                tags = {"name": f"测试商店{r}-{c}", "shop": "convenience"} if r % 4 == 0 and c % 50 == 0 else {}
                w.add_node(Node(id=1 + r * side + c, location=(LON0 + c * dlon, LAT0 + r * dlat), tags=tags))
        counts["nodes"] = side * side
        base = side * side + 1
        for b in range(buildings):  # 4 nodes a building, inside a block
            r, c = (b * 7919) % (side - 1), (b * 104729) % (side - 1)
            x, y = LON0 + (c + 0.3) * dlon, LAT0 + (r + 0.3) * dlat
            for k, (ex, ey) in enumerate(((0, 0), (0.3, 0), (0.3, 0.3), (0, 0.3))):
                w.add_node(Node(id=base + 4 * b + k, location=(x + ex * dlon, y + ey * dlat)))
        counts["nodes"] += 4 * buildings
        way_id = 1
        for axis in (0, 1):
            for i in range(side):
                named = i % 4 == 0
                tags = {"highway": ("primary" if i % 16 == 0 else "secondary") if named else "residential"}
                if named:
                    tags["name"] = f"{'纬经'[axis]}{i // 4 + 1}路"
                ids = [1 + (i * side + j if axis == 0 else j * side + i) for j in range(side)]
                for start in range(0, side - 1, 10):
                    w.add_way(Way(id=way_id, nodes=ids[start:start + 11], tags=tags))
                    way_id += 1
        for b in range(buildings):
            ids = [base + 4 * b + k for k in range(4)]
            w.add_way(Way(id=way_id, nodes=ids + ids[:1], tags={"building": "yes"}))
            way_id += 1
        counts["ways"] = way_id - 1
    return counts


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--side", type=int, default=1000)
    ap.add_argument("--buildings", type=int, default=200_000)
    a = ap.parse_args()
    print(write_city(a.out, a.side, a.buildings))
