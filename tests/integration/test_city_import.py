"""A whole city's OpenStreetMap extract: .osm XML and .osm.pbf read alike (told apart by
content), the preview counts and names problems by element and writes nothing, and
`import-city` sets the road network and the gazetteer's OSM features in one step — all or
nothing, a 管理员's action, logged as roads.imported — on real SQLite files (and
PostgreSQL when DISPATCH_TEST_PG_URL is set)."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import Travel
from dispatch.geo.osm import NodeTable, read_osm
from dispatch.geo.roads import RoadGraph
from dispatch.importers.gazetteer_osm import osm_places
from dispatch.services import city_import
from dispatch.settings import Settings
from dispatch.store.schema import MetaRow, PlaceRow

REPO = Path(__file__).resolve().parents[2]
DEMO_XML = REPO / "resources" / "demo" / "shanghai-huangpu.osm"
DEMO_PBF = REPO / "tests" / "data" / "osm" / "shanghai-huangpu.osm.pbf"
SQUARES_XML = REPO / "tests" / "data" / "pedestrian-squares.osm"
SQUARES_PBF = REPO / "tests" / "data" / "osm" / "pedestrian-squares.osm.pbf"


def main_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ})


def state(db: Path) -> tuple:
    """Everything an import may change: events, places, the road network's file."""
    with sqlite3.connect(db) as c:
        return (c.execute("select count(*), max(id) from events").fetchone(),
                c.execute("select count(*), sum(id), group_concat(name, '|') from places").fetchone(),
                c.execute("select value from meta where key = 'roads_osm'").fetchone())


@pytest.mark.parametrize("xml,pbf", [(DEMO_XML, DEMO_PBF), (SQUARES_XML, SQUARES_PBF)], ids=["demo", "squares"])
def test_xml_and_pbf_give_the_same_roads_and_gazetteer(xml, pbf):
    a, b = read_osm(xml), read_osm(pbf)
    assert (a.format, b.format) == ("osm", "pbf")
    assert isinstance(b.nodes, NodeTable) and a.bounds == b.bounds
    assert dict(a.nodes.items()) == dict(b.nodes.items())
    assert [(w.id, w.node_ids, w.tags) for w in a.ways] == [(w.id, w.node_ids, w.tags) for w in b.ways]
    assert [(n.id, n.lon, n.lat, n.tags) for n in a.named_nodes] == [(n.id, n.lon, n.lat, n.tags)
                                                                     for n in b.named_nodes]
    pa, pb = osm_places(a, ["上海市"], "OpenStreetMap"), osm_places(b, ["上海市"], "OpenStreetMap")
    assert pa and [p.row_values() for p in pa] == [p.row_values() for p in pb]
    ga, gb = RoadGraph.from_osm(a), RoadGraph.from_osm(b)
    assert ga.node_count == gb.node_count and np.array_equal(ga.lonlat, gb.lonlat)
    assert all(ga.edge_count(m) == gb.edge_count(m) for m in Travel)


def test_the_reader_keeps_only_what_the_console_uses(tmp_path):
    osm = read_osm(DEMO_PBF)
    used = {n for w in osm.ways for n in w.node_ids} | {n.id for n in osm.named_nodes}
    assert set(osm.nodes) == used  # 2,958 nodes in the file, only those of roads kept
    assert osm.nodes.nbytes == 24 * len(osm.nodes)
    sq = read_osm(SQUARES_XML)
    assert 107 not in {w.id for w in sq.ways}  # a building
    assert {w.id for w in sq.ways} == {100, 101, 102, 103, 104, 105, 106}


def test_the_format_is_told_by_content_and_bad_files_are_refused(tmp_path):
    pbf_named_osm = tmp_path / "city.osm"
    shutil.copy(SQUARES_PBF, pbf_named_osm)
    assert read_osm(pbf_named_osm).format == "pbf"
    xml_named_pbf = tmp_path / "city.osm.pbf"
    shutil.copy(SQUARES_XML, xml_named_pbf)
    assert read_osm(xml_named_pbf).format == "osm"
    text = tmp_path / "notes.osm"
    text.write_text("name,lon,lat\n", encoding="utf-8")
    with pytest.raises(DispatchError, match="不是 OSM 文件"):
        read_osm(text)
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(DEMO_PBF.read_bytes()[:20_000])
    with pytest.raises(DispatchError, match="不是有效的 OSM PBF 文件"):
        read_osm(cut)


def test_preview_counts_and_writes_nothing(tmp_path):
    db = tmp_path / "d.sqlite3"
    assert main_py("--db", f"sqlite:///{db}", "geocode", "福州路", "--limit", "1").returncode == 0
    before = state(db)
    r = main_py("--db", f"sqlite:///{db}", "import-city", str(SQUARES_PBF), "--preview", "--json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert (p["format"], p["applied"], p["admin"]) == ("pbf", False, ["上海市", "黄浦区"])
    assert p["counts"] == {"drivable_ways": 2, "graph_nodes": p["counts"]["graph_nodes"],
                           "graph_edges": p["counts"]["graph_edges"], "named_streets": 4,
                           "pedestrian_streets": 3, "intersections": 3, "squares": 3, "pois": 1}
    assert p["counts"]["graph_nodes"] >= 2 and p["bounds"] == [121.47, 31.23, 121.49, 31.24]
    assert p["errors"] == [] and p["warning_total"] == 0
    assert state(db) == before
    r = main_py("--db", f"sqlite:///{db}", "import-city", str(DEMO_XML), "--preview")
    assert r.returncode == 0 and "可通行道路 796" in r.stdout and "有名道路 147" in r.stdout


def _broken_extract(path: Path, far: bool) -> Path:
    """The squares fixture plus a way with a node not in the file, a way with one node, and
    (far) a node of a road in Europe."""
    text = SQUARES_XML.read_text(encoding="utf-8")
    extra = ('<node id="30" lat="31.2360" lon="121.4830"/>'
             '<way id="200"><nd ref="30"/><nd ref="999"/><nd ref="6"/><tag k="highway" v="residential"/>'
             '<tag k="name" v="断头路"/></way>'
             '<way id="201"><nd ref="998"/><nd ref="30"/><tag k="highway" v="service"/></way>')
    if far:
        extra += ('<node id="31" lat="52.5200" lon="13.4050"/>'
                  '<way id="202"><nd ref="31"/><nd ref="30"/><tag k="highway" v="residential"/></way>')
    path.write_text(text.replace("</osm>", extra + "</osm>"), encoding="utf-8")
    return path


def test_problems_are_named_by_element_and_an_error_refuses_the_file(app, tmp_path):
    ctx = app.services.ctx
    p = city_import.preview_city(ctx, _broken_extract(tmp_path / "gaps.osm", far=False))
    assert p.ok and p.warning_total == 2
    texts = {w.element: w.text for w in p.warnings}
    assert "缺少 1 个节点（999" in texts["way 200"] and "只有 1 个有坐标的节点" in texts["way 201"]
    bad = _broken_extract(tmp_path / "far.osm", far=True)
    p = city_import.preview_city(ctx, bad)
    assert not p.ok and [str(e) for e in p.errors] == [
        "node 31: 坐标 13.405000,52.520000 不在中国境内（经纬度颠倒或文件不对？）"]
    db = app.settings.data_dir / "dispatch.sqlite3"
    before = state(db)
    with pytest.raises(DispatchError, match="1 处错误，未导入任何数据"):
        city_import.apply_city(ctx, bad, app.settings.cache_dir)
    assert state(db) == before
    r = main_py("--db", f"sqlite:///{db}", "import-city", str(bad))
    assert r.returncode == 2 and "node 31" in r.stderr
    assert state(db) == before


def test_a_pbf_with_gaps_reads_as_its_xml(app, tmp_path):
    """Nodes missing from a PBF (outside the extract) are left out of the table, as from the XML."""
    from tests.data.osm.make_pbf import write_pbf

    xml = _broken_extract(tmp_path / "far.osm", far=True)
    pbf = tmp_path / "far.osm.pbf"
    write_pbf(xml, pbf)
    a, b = read_osm(xml), read_osm(pbf)
    assert dict(a.nodes.items()) == dict(b.nodes.items()) and 999 not in b.nodes
    pa, pb = (city_import.preview_city(app.services.ctx, f) for f in (xml, pbf))
    assert (pa.errors, pa.warnings) == (pb.errors, pb.warnings) and pb.error_total == 1 and pb.warning_total == 2
    assert pa.counts == pb.counts


def test_import_sets_roads_and_gazetteer_in_one_step(app, tmp_path):
    db = app.settings.data_dir / "dispatch.sqlite3"
    extract = tmp_path / "squares.osm.pbf"
    shutil.copy(SQUARES_PBF, extract)
    app.login("demo-calltaker", "demo")
    before = state(db)
    with pytest.raises(DispatchError, match="需要管理员权限"):
        city_import.apply_city(app.services.ctx, extract, app.settings.cache_dir)
    assert state(db) == before
    app.login("demo-admin", "demo")
    old_nodes = app.roads.node_count
    done = city_import.apply_city(app.services.ctx, extract, app.settings.cache_dir, admin=["上海市", "黄浦区"])
    assert done.applied and done.replaced_places > 400 and done.counts["squares"] == 3
    with app.session() as s:
        assert s.get(MetaRow, "roads_osm").value == str(extract.resolve())
        kinds = {(r.kind, r.name) for r in s.scalars(select(PlaceRow).where(PlaceRow.source == "OpenStreetMap"))}
        landmarks = s.scalars(select(PlaceRow).where(PlaceRow.kind == "landmark")).all()
    assert ("square", "人民广场") in kinds and ("road", "南京东路") in kinds
    assert ("road", "福州路") not in kinds and len(kinds) == 11  # the demo's roads replaced
    assert landmarks  # other sources stay
    with sqlite3.connect(db) as c:
        kind, payload = c.execute("select kind, payload from events order by id desc limit 1").fetchone()
    payload = json.loads(payload)
    assert kind == "roads.imported" and payload["file"] == "squares.osm.pbf" and payload["format"] == "pbf"
    assert payload["counts"]["squares"] == 3 and len(payload["sha256"]) == 64
    fresh = bootstrap(Settings(data_dir=app.settings.data_dir), clock=app.clock)
    try:
        assert fresh.roads.node_count != old_nodes and fresh.roads.node_count == done.counts["graph_nodes"]
        top = fresh.geocoder.search("人民广场")[0]
        assert (top.name, top.kind) == ("人民广场", "square")
    finally:
        fresh.engine.dispose()


def test_a_failed_import_leaves_roads_and_gazetteer_as_they_were(app, tmp_path):
    """The cache cannot be written (a file stands where its directory should be): the road
    network and the gazetteer stay as they were."""
    db = app.settings.data_dir / "dispatch.sqlite3"
    app.login("demo-admin", "demo")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("x", encoding="utf-8")
    before = state(db)
    with pytest.raises(OSError):
        city_import.apply_city(app.services.ctx, SQUARES_PBF, blocked)
    assert state(db) == before


def test_a_refusal_inside_the_transaction_keeps_nothing(app, tmp_path):
    """The database refuses the last write (a trigger on the meta row, standing in for a
    full disk or a revoked right) after the old OSM places were deleted and the new ones
    inserted: all of it is rolled back."""
    db = app.settings.data_dir / "dispatch.sqlite3"
    with sqlite3.connect(db) as c:
        c.execute("create trigger refuse_roads before update on meta when new.key = 'roads_osm' "
                  "begin select raise(abort, 'refused by the test'); end")
    before = state(db)
    with pytest.raises(Exception, match="refused by the test"):
        city_import.apply_city(app.services.ctx, SQUARES_PBF, app.settings.cache_dir)
    assert state(db) == before


def test_postgresql_rolls_back_a_city_the_database_refuses(pg_url, tmp_path, clock):
    """The same on PostgreSQL: a trigger refuses the meta row; the places stay as they were."""
    from sqlalchemy import text

    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        pg = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        with pg.session() as s:
            places = sorted(s.scalars(select(PlaceRow.name).where(PlaceRow.source == "OpenStreetMap")))
            roads = s.get(MetaRow, "roads_osm").value
        with pg.engine.begin() as c:
            c.execute(text("create function refuse_roads() returns trigger language plpgsql as "
                           "$$ begin raise exception 'refused by the test'; end $$"))
            c.execute(text("create trigger refuse_roads before update on meta for each row "
                           "when (new.key = 'roads_osm') execute function refuse_roads()"))
        ctx = pg.services.ctx
        assert city_import.preview_city(ctx, SQUARES_PBF).ok
        with pytest.raises(Exception, match="refused by the test"):
            city_import.apply_city(ctx, SQUARES_PBF, tmp_path / "cache")
        with pg.session() as s:
            assert sorted(s.scalars(select(PlaceRow.name).where(PlaceRow.source == "OpenStreetMap"))) == places
            assert s.get(MetaRow, "roads_osm").value == roads
        with pg.engine.begin() as c:
            c.execute(text("drop trigger refuse_roads on meta"))
        done = city_import.apply_city(ctx, SQUARES_PBF, tmp_path / "cache")
        assert done.applied and done.replaced_places == len(places)
        with pg.session() as s:
            assert s.scalar(select(PlaceRow.id).where(PlaceRow.name == "人民广场")) is not None
            assert s.get(MetaRow, "roads_osm").value == str(SQUARES_PBF)
        pg.engine.dispose()
