"""Importers into a real SQLite file, and the geocoder index built from and cached
beside the places table."""
import time

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.geo.geocoder import CACHE_NAME, load_geocoder
from dispatch.importers.admin_hierarchy import import_admin
from dispatch.importers.gazetteer_osm import import_osm_places
from dispatch.geo.osm import read_osm
from dispatch.importers.places_csv import import_csv_places
from dispatch.store.schema import Base, PlaceRow

from tests.unit.geocode_fixtures import CENTRES, DEMO_OSM, GEONAMES, LANDMARKS, NINGBO, cut_hierarchy


@pytest.fixture()
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'places.db'}")
    Base.metadata.create_all(eng)
    return eng


def test_osm_import_roads_once_and_intersections(engine):
    osm = read_osm(DEMO_OSM)
    with Session(engine) as s:
        n = import_osm_places(s, osm, admin=["上海市", "黄浦区"], source="OpenStreetMap")
        s.commit()
        rows = s.scalars(select(PlaceRow)).all()
    assert n == len(rows)
    roads = [r for r in rows if r.kind == "road"]
    names = {w.name for w in osm.ways if w.name and w.highway}
    assert sorted(r.name for r in roads) == sorted(names)          # every named road once
    xs = {r.name: r for r in rows if r.kind == "intersection"}
    assert "福州路与西藏中路交叉口" in xs or "西藏中路与福州路交叉口" in xs
    x = xs.get("福州路与西藏中路交叉口") or xs["西藏中路与福州路交叉口"]
    assert sorted(x.extra["roads"]) == ["福州路", "西藏中路"] and len(x.aliases) == 1
    pairs = [tuple(sorted(r.extra["roads"])) for r in xs.values()]
    assert len(pairs) == len(set(pairs))                            # one place per pair
    assert all(r.extra["roads"][0] != r.extra["roads"][1] for r in xs.values())
    lo, la, hi, ha = osm.bounds
    assert all(lo - 0.01 <= r.lon <= hi + 0.01 and la - 0.01 <= r.lat <= ha + 0.01 for r in rows)
    assert all(r.admin == ["上海市", "黄浦区"] and r.source == "OpenStreetMap" for r in rows)
    assert all("bbox" in r.extra for r in roads)


def test_csv_import_ningbo_and_landmarks(engine):
    with Session(engine) as s:
        n = import_csv_places(s, NINGBO)
        m = import_csv_places(s, LANDMARKS)
        s.commit()
        school = s.scalars(select(PlaceRow).where(PlaceRow.name == "宁波效实中学")).one()
        lm = s.scalars(select(PlaceRow).where(PlaceRow.kind == "landmark")).all()
    assert n == 1008 and m == len(lm) >= 5
    assert school.admin == ["浙江省", "宁波市", "海曙区"] and school.kind == "school"
    assert all(r.source.startswith("http") for r in lm)


def test_csv_import_refuses_bad_files(engine, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon\n甲,121\n", encoding="utf-8")
    with Session(engine) as s, pytest.raises(DispatchError, match="缺少列"):
        import_csv_places(s, bad)
    bad.write_text("name,lon,lat\n甲,abc,31\n", encoding="utf-8")
    with Session(engine) as s, pytest.raises(DispatchError, match="第 2 行"):
        import_csv_places(s, bad)
    with Session(engine) as s, pytest.raises(DispatchError, match="找不到"):
        import_csv_places(s, tmp_path / "missing.csv")


def test_admin_import_points_and_precision(engine, tmp_path):
    cut = cut_hierarchy(tmp_path / "h.txt")
    with Session(engine) as s:
        n = import_admin(s, cut, GEONAMES, CENTRES)
        s.commit()
        get = lambda name: s.scalars(select(PlaceRow).where(PlaceRow.name == name)).all()
        yuyao, = get("余姚市")
        mazhu, = get("马渚镇")
        zhuangshi, = get("庄市街道")
        liuchu, = get("留楚乡")
        doumen = [r for r in get("斗门村") if r.admin[-1] == "马渚镇"][0]
        count = s.scalar(select(func.count()).select_from(PlaceRow))
    assert n == count > 10_000
    assert yuyao.kind == "county" and yuyao.precision == "county" and "余姚" in yuyao.aliases
    # county-centres.csv is GCJ-02 (121.154629, 30.037106): converted to WGS-84 moves it ~500 m
    assert abs(yuyao.lon - 121.1502) < 0.002 and abs(yuyao.lat - 30.0394) < 0.002
    assert mazhu.precision == "town" and mazhu.admin == ["浙江省", "宁波市", "余姚市"]
    assert zhuangshi.precision == "town"
    assert liuchu.admin == ["河北省", "衡水市", "饶阳县"]
    assert doumen.kind == "village" and (doumen.lon, doumen.lat) == (mazhu.lon, mazhu.lat)
    assert doumen.admin == ["浙江省", "宁波市", "余姚市", "马渚镇"]


def test_geocoder_cache_follows_the_table(engine, tmp_path):
    with Session(engine) as s:
        import_osm_places(s, read_osm(DEMO_OSM), admin=["上海市", "黄浦区"], source="OpenStreetMap")
        s.commit()
    cache = tmp_path / "cache"
    g1 = load_geocoder(engine, cache)
    assert not g1.loaded_from_cache and (cache / CACHE_NAME).is_file()
    g2 = load_geocoder(engine, cache)
    assert g2.loaded_from_cache and len(g2) == len(g1)
    assert g2.search("福洲路西藏中路口")[0].name == g1.search("福洲路西藏中路口")[0].name
    with Session(engine) as s:
        import_csv_places(s, LANDMARKS)
        s.commit()
    g3 = load_geocoder(engine, cache)
    assert not g3.loaded_from_cache and len(g3) > len(g1)
    assert g3.search("豫园")[0].kind == "landmark"
    (cache / CACHE_NAME).write_bytes(b"garbage")
    assert not load_geocoder(engine, cache).loaded_from_cache


def test_demo_search_budget(engine, tmp_path):
    with Session(engine) as s:
        import_osm_places(s, read_osm(DEMO_OSM), admin=["上海市", "黄浦区"], source="OpenStreetMap")
        import_csv_places(s, LANDMARKS)
        s.commit()
    geo = load_geocoder(engine, tmp_path)
    texts = ["福洲路西藏中路口", "在南京西路和成都北路路口这边", "xzzl", "豫园门口", "福州路100号",
             "人民大道 西藏中路", "延安东路跟河南南路十字路口", "新天地往东100米"] * 10
    times = []
    for t in texts:
        t0 = time.perf_counter()
        assert geo.search(t)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[int(0.95 * len(times))] < 0.020


PEDESTRIAN_OSM = DEMO_OSM.parents[2] / "tests" / "data" / "pedestrian-squares.osm"


def test_osm_import_pedestrian_streets_and_squares(engine, tmp_path):
    """Named pedestrian streets, footways and living streets are roads (with their
    junctions); pedestrian areas and place=square ways and nodes are squares, each at a
    node of its own; unnamed and non-highway ways are not imported."""
    osm = read_osm(PEDESTRIAN_OSM)
    with Session(engine) as s:
        import_osm_places(s, osm, admin=["上海市", "黄浦区"], source="fixture")
        s.commit()
        rows = s.scalars(select(PlaceRow)).all()
    by = {(r.kind, r.name): r for r in rows}
    for name, highway in (("南京东路", "pedestrian"), ("香粉弄", "footway"), ("宁海东路", "living_street")):
        assert by[("road", name)].extra["highway"] == highway
    assert by[("road", "南京东路")].aliases == ["南京路步行街"]
    assert ("intersection", "南京东路与河南中路交叉口") in by
    squares = {name: r for (kind, name), r in by.items() if kind == "square"}
    assert set(squares) == {"人民广场", "外滩观景广场", "金陵广场"}
    assert ("road", "人民广场") not in by                       # an area, not a street
    assert not any("人民广场" in name for kind, name in by if kind == "intersection")
    for r in squares.values():                                  # a node of the square itself
        way = next((w for w in osm.ways if w.name == r.name), None)
        nodes = [osm.nodes[n] for n in way.node_ids] if way else [(n.lon, n.lat) for n in osm.named_nodes
                                                                    if n.tags["name"] == r.name]
        assert (r.lon, r.lat) in nodes
    assert by[("poi", "街坊甲")]                               # place=neighbourhood is not a square
    assert "某大楼" not in {name for _, name in by}
    geo = load_geocoder(engine, tmp_path / "cache")
    assert (geo.search("南京东路")[0].name, geo.search("南京东路")[0].kind) == ("南京东路", "road")
    assert geo.search("南京路步行街")[0].name == "南京东路"
    top = geo.search("人民广场")[0]
    assert (top.name, top.kind, top.kind_label) == ("人民广场", "square", "广场")
