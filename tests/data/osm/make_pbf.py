"""Writes the .osm.pbf twins of the XML extracts with pyosmium (same nodes, ways, tags
and bounds): `python tests/data/osm/make_pbf.py`. The tests check that both formats give
the same roads and gazetteer entries."""
from __future__ import annotations

from pathlib import Path

import osmium

ROOT = Path(__file__).resolve().parents[3]
PAIRS = ((ROOT / "resources/demo/shanghai-huangpu.osm", ROOT / "tests/data/osm/shanghai-huangpu.osm.pbf"),
         (ROOT / "tests/data/pedestrian-squares.osm", ROOT / "tests/data/osm/pedestrian-squares.osm.pbf"))


def write_pbf(src: Path, out: Path) -> None:
    fp = osmium.FileProcessor(str(src))
    header = osmium.io.Header()
    header.set("generator", "dispatch-console tests/data/osm/make_pbf.py")
    box = fp.header.box()
    if box.valid():
        header.add_box(box)
    out.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(out), header=header) as writer:
        for obj in fp:
            writer.add(obj)


if __name__ == "__main__":
    for src, out in PAIRS:
        write_pbf(src, out)
        print(out.relative_to(ROOT), out.stat().st_size, "bytes")
