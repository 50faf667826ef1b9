"""Accuracy on the query set (tests/data/geocode_queries.jsonl, written from the real
data). The default run evaluates the queries about the demo area and Ningbo against
a database holding only those; the slow run loads the whole national hierarchy and
evaluates every query."""
import json

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from dispatch.commands.geocode import DEFAULT_QUERIES, evaluate, load_queries, run_batch
from dispatch.commands.geocode_bench import bench_geocode, prepare_database
from dispatch.geo.geocoder import load_geocoder
from dispatch.importers.gazetteer_osm import import_osm_places
from dispatch.geo.osm import read_osm
from dispatch.importers.places_csv import import_csv_places
from dispatch.store.schema import Base

from tests.unit.geocode_fixtures import DEMO_OSM, LANDMARKS, NINGBO

LOCAL_FORMS = {"intersection", "intersection-typo", "road", "road-typo", "initials", "landmark",
               "landmark-typo", "poi", "poi-typo"}
# Figures reached when the set was written; a drop below them fails the suite.
LOCAL_TOP1, LOCAL_TOP5 = 0.996, 1.0
NATIONAL_TOP1, NATIONAL_TOP5 = 0.997, 1.0


@pytest.fixture(scope="module")
def local_geocoder(tmp_path_factory):
    d = tmp_path_factory.mktemp("geo")
    engine = create_engine(f"sqlite:///{d / 'places.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        import_osm_places(s, read_osm(DEMO_OSM), admin=["上海市", "黄浦区"], source="OpenStreetMap")
        import_csv_places(s, LANDMARKS)
        import_csv_places(s, NINGBO)
        s.commit()
    return load_geocoder(engine, d)


def test_query_set_is_large_and_varied():
    qs = load_queries(DEFAULT_QUERIES)
    forms = {q["form"] for q in qs}
    assert len(qs) >= 300
    assert sum("typo" in q["form"] for q in qs) >= len(qs) / 5
    assert {"intersection", "road", "initials", "landmark", "village", "town", "ambiguous-near"} <= forms


def test_local_accuracy(local_geocoder):
    qs = [q for q in load_queries(DEFAULT_QUERIES) if q["form"] in LOCAL_FORMS]
    r = evaluate(local_geocoder, qs)
    assert r["top1"] >= LOCAL_TOP1 and r["top5"] >= LOCAL_TOP5, r["misses"]


def test_batch_keeps_order_and_lines(local_geocoder):
    lines = ["福州路", json.dumps({"text": "豫园", "near": [121.48, 31.23]}), "？？", "xzzl"]
    out = list(run_batch(local_geocoder, lines, limit=3))
    assert len(out) == 4 and out[2] == []
    assert out[0][0]["name"] == "福州路" and out[1][0]["name"] == "豫园"
    assert out[1][0]["distance_m"] is not None and out[3][0]["name"] == "西藏中路"


@pytest.mark.slow
def test_national_accuracy(tmp_path):
    """Accuracy with the whole country loaded (timings are the bench's job, not a test's)."""
    result = bench_geocode(tmp_path, DEFAULT_QUERIES, hostile=0, peer=False)
    assert result["entries"] > 700_000 and result["warm_p95_ms"] > 0
    # resident memory in a fresh process after a build and after a cache load (issue 13)
    assert result["rss_mb_after_build"] <= 300 and result["rss_mb"] <= 300, result
    engine = create_engine(f"sqlite:///{prepare_database(tmp_path, None)}")  # the bench's, with Ningbo's POIs
    r = evaluate(load_geocoder(engine, tmp_path / "cache"), load_queries(DEFAULT_QUERIES))
    assert r["top1"] >= NATIONAL_TOP1 and r["top5"] >= NATIONAL_TOP5, r["misses"]
    assert result["top1"] == r["top1"]
