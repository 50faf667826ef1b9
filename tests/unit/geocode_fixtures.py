"""Small gazetteers built from the real data files shipped in the repository, without
a database: the demo OSM roads and intersections, the demo landmarks, the Ningbo POIs
and the national hierarchy (resources/national/) cut down to Zhejiang, Shanghai and
one Hebei county."""
from __future__ import annotations

from pathlib import Path

from dispatch.geo.geocode_index import GeoIndex, PlaceRecord
from dispatch.geo.geocoder import Geocoder
from dispatch.importers.data_files import COUNTY_CENTRES as CENTRES
from dispatch.importers.data_files import GEONAMES_TOWNS as GEONAMES
from dispatch.importers.data_files import NATIONAL_HIERARCHY as HIERARCHY
from dispatch.importers.data_files import NINGBO_POIS as NINGBO
from dispatch.importers.data_files import open_text
from dispatch.importers.gazetteer_osm import intersection_places, named_node_places, road_places
from dispatch.geo.osm import read_osm
from dispatch.importers.places_csv import read_places_csv

ROOT = Path(__file__).resolve().parents[2]
DEMO_OSM = ROOT / "resources" / "demo" / "shanghai-huangpu.osm"
LANDMARKS = ROOT / "resources" / "demo" / "landmarks.csv"
__all__ = ["CENTRES", "GEONAMES", "HIERARCHY", "NINGBO", "DEMO_OSM", "LANDMARKS", "cut_hierarchy",
           "demo_places", "build_geocoder"]


def cut_hierarchy(out: Path, provinces=("浙江省", "上海市"), counties=("饶阳县",)) -> Path:
    """Copy of the hierarchy with whole provinces and single counties (with ancestors)."""
    with open_text(HIERARCHY) as f:
        lines = f.read().splitlines(keepends=True)
    keep: set[int] = set()
    stack: list[int] = []
    for i, line in enumerate(lines):
        depth = len(line) - len(line.lstrip("\t"))
        stack[depth:] = [i]
        names = [lines[j].strip().split("\t")[0] for j in stack]
        if names[0] in provinces or any(n in counties for n in names[1:3]):
            keep.update(stack)
    out.write_text("".join(lines[i] for i in sorted(keep)), encoding="utf-8")
    return out


def demo_places():
    osm = read_osm(DEMO_OSM)
    admin = ["上海市", "黄浦区"]
    return (road_places(osm, admin, "OpenStreetMap") + intersection_places(osm, admin, "OpenStreetMap")
            + named_node_places(osm, admin, "OpenStreetMap") + read_places_csv(LANDMARKS))


def build_geocoder(places) -> Geocoder:
    recs = [PlaceRecord(i + 1, p.name, p.kind, p.aliases, p.admin, p.lon, p.lat, p.precision,
                        p.source, p.extra) for i, p in enumerate(places)]
    return Geocoder(GeoIndex.build(recs, signature=("test",)))
