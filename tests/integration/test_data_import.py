"""A centre's own geography: 网格 from GeoJSON, posts and roster from CSV, through the
command line and the services on real SQLite files. A preview writes nothing; errors are
reported by line and a file with any bad row imports nothing; grids are replaced as a
whole (incidents keep their grid ids); only a 管理员 may import; point-in-grid works on the
imported shapes (a MultiPolygon, a hole); roster loads are unit.created / unit.updated
events and the replay fold still equals the projections."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import wgs84_to_gcj02
from dispatch.geo.grids import GridIndex, overlapping_pairs
from dispatch.replay.state import ReplayIndex
from dispatch.services import calls, data_import as di, units
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.settings import Settings
from dispatch.domain.events import Event
from dispatch.store import eventlog
from dispatch.store.schema import GridRow, IncidentRow, StationRow, UnitRow

REPO = Path(__file__).resolve().parents[2]
CENTRE = REPO / "tests" / "data" / "centre"
GRIDS, STATIONS, ROSTER = CENTRE / "grids.geojson", CENTRE / "stations.csv", CENTRE / "roster.csv"
ROSTER_HEADER = "callsign,kind,station,duty,leader,phone,members,terminal,auth_code\n"


def main_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ})


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as c:
        return {t: c.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("events", "stations", "units", "grids", "incidents")}


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def feature(gid: str, rings: list, **props) -> dict:
    return {"type": "Feature", "properties": {"id": gid, "name": f"网格{gid}", **props},
            "geometry": {"type": "Polygon", "coordinates": rings}}


def write_geojson(path: Path, features: list, **top) -> Path:
    """One feature a line, so feature k (from 1) starts on line k + 2."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    head = json.dumps({"type": "FeatureCollection", **top}, ensure_ascii=False)[:-1]
    path.write_text(f'{head},\n "features": [\n{body}\n]}}\n', encoding="utf-8")
    return path


def events(app, kind: str | None = None) -> list[Event]:
    with app.session() as s:
        return [e for e in eventlog.read(s) if kind is None or e.kind == kind]


def as_admin(app):
    app.login("demo-admin", "demo")
    return app.services.ctx


def load_centre(app) -> None:
    ctx = as_admin(app)
    di.apply_stations(ctx, STATIONS)
    di.apply_roster(ctx, ROSTER)
    di.apply_grids(ctx, GRIDS)


def assert_fold_equals_projections(app) -> None:
    at = app.clock.now()
    with app.session() as s:
        index = ReplayIndex.load(s)
        rows = list(s.execute(select(UnitRow.id, UnitRow.callsign, UnitRow.status, UnitRow.incident_id)))
    assert rows
    for uid, callsign, status, incident_id in rows:
        snap = index.unit_at(uid, at)
        assert (snap.status.value, snap.incident_id) == (status, incident_id), callsign


# ------------------------------------------------------------------ the command line

def test_cli_previews_write_nothing_and_the_three_files_load_in_order(tmp_path):
    db = tmp_path / "centre.sqlite3"
    g = ("--db", f"sqlite:///{db}", "--data-dir", str(tmp_path / "data"))
    assert main_py(*g, "units").returncode == 0  # the demo database, created
    before = counts(db)

    early = main_py(*g, "import-roster", str(ROSTER), "--preview")  # its posts are not loaded yet
    assert early.returncode == 2
    assert "第 2 行: 外巡01 的驻点 外滩派出所（测试） 不存在" in early.stderr and "第 6 行" in early.stderr
    p = main_py(*g, "import-stations", str(STATIONS), "--preview")
    assert p.returncode == 0 and "新增 4" in p.stdout and "未写入" in p.stdout
    pj = main_py(*g, "import-grids", str(GRIDS), "--preview", "--json")
    assert pj.returncode == 2  # the officers are not in the roster yet: listed by line
    doc = json.loads(pj.stdout)
    assert [e["line"] for e in doc["errors"]] == [3, 4, 5, 7] and doc["applied"] is False
    assert counts(db) == before  # three previews, nothing written

    assert main_py(*g, "import-stations", str(STATIONS)).returncode == 0
    r = main_py(*g, "import-roster", str(ROSTER), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["counts"] == {"新增": 5}
    r = main_py(*g, "import-grids", str(GRIDS))
    assert r.returncode == 0, r.stderr
    assert "新增 5" in r.stdout and "删除 36" in r.stdout  # the demo lattice replaced
    after = counts(db)
    assert after["grids"] == 5 and after["stations"] == before["stations"] + 4
    assert after["units"] == before["units"] + 5
    assert after["events"] == before["events"] + 1 + 5 + 1  # stations, 5 unit.created, grids

    def grid_at(lon: float, lat: float) -> str:
        out = main_py(*g, "where", "--at", f"{lon},{lat}", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout).get("grid")

    assert grid_at(121.481, 31.235) == "HP-01"
    assert grid_at(121.4845, 31.225) == "HP-04"  # the second part of the MultiPolygon
    assert grid_at(121.4825, 31.225) is None      # the gap between its parts
    assert grid_at(121.4655, 31.230) is None      # the hole of HP-05
    assert grid_at(121.4625, 31.230) == "HP-05"

    again = main_py(*g, "import-roster", str(ROSTER), "--preview", "--json")
    assert json.loads(again.stdout)["counts"] == {"不变": 5}


def test_cli_bad_input_is_one_line_or_the_line_list_and_exit_2(tmp_path):
    g = ("--db", f"sqlite:///{tmp_path / 'c.sqlite3'}", "--data-dir", str(tmp_path / "data"))
    missing = main_py(*g, "import-grids", str(tmp_path / "none.geojson"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "找不到文件" in missing.stderr
    (tmp_path / "broken.geojson").write_text('{"type": "FeatureCollection",\n "features": [}', encoding="utf-8")
    broken = main_py(*g, "import-grids", str(tmp_path / "broken.geojson"))
    assert broken.returncode == 2 and "第 2 行" in broken.stderr and broken.stderr.count("\n") == 1
    bad = tmp_path / "roster.csv"
    bad.write_text(ROSTER_HEADER + "甲01,patrol_car,淮海中路警务站,,,,1,123,\n乙01,tank,淮海中路警务站,,,,1,,\n",
                   encoding="utf-8")
    r = main_py(*g, "import-roster", str(bad))
    assert r.returncode == 2
    assert "第 2 行: 甲01 的终端号 123 应为 12 位数字" in r.stderr and "第 3 行: 乙01 的警力类型 'tank'" in r.stderr


# ------------------------------------------------------------------ grids

def test_grid_errors_name_their_lines_and_a_bad_file_changes_nothing(app, tmp_path):
    ctx = as_admin(app)
    ok = rect(121.47, 31.22, 121.475, 31.225)
    path = write_geojson(tmp_path / "bad.geojson", [
        feature("G1", [ok]),                                                     # line 3: good
        feature("G2", [rect(121.48, 31.22, 121.485, 31.225)[:-1]]),              # 4: not closed
        feature("G3", [rect(31.22, 121.48, 31.225, 121.485)]),                   # 5: lon/lat swapped
        feature("G1", [rect(121.476, 31.22, 121.478, 31.225)]),                  # 6: duplicate id
        feature("G4", [rect(121.476, 31.226, 121.478, 31.228)], officer="无此人"),  # 7: unknown officer
        feature("G5", [[[121.47, 31.23], [121.48, 31.23], [121.47, 31.23]]]),     # 8: 3 points
        feature("G6", [[[121.47, 31.23], [121.48, 31.24], [121.48, 31.23], [121.47, 31.24], [121.47, 31.23]]]),
        feature("G7", [[[121.47, math.nan], [121.48, 31.23], [121.48, 31.24], [121.47, math.nan]]]),
        {"type": "Feature", "properties": {"id": "G8"}, "geometry": {"type": "Point", "coordinates": [121, 31]}},
    ])
    before = counts(app.settings.data_dir / "dispatch.sqlite3")
    p = di.preview_grids(ctx, path)
    by_line = {e.line: e.text for e in p.errors}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert "未闭合" in by_line[4] and "不在中国境内" in by_line[5] and "与第 3 行重复" in by_line[6]
    assert "无此人 不在警力名册中" in by_line[7] and "至少 4 个点" in by_line[8] and "自相交" in by_line[9]
    assert "非有限" in by_line[10] and "Point" in by_line[11]
    assert not any(r.action == di.REMOVE for r in p.rows)  # a refused file shows no removals
    with pytest.raises(DispatchError) as refused:
        di.apply_grids(ctx, path)
    assert "8 处错误" in str(refused.value) and "第 9 行" in str(refused.value)
    assert counts(app.settings.data_dir / "dispatch.sqlite3") == before


def test_overlaps_are_warnings_and_touching_grids_are_not(app, tmp_path):
    ctx = as_admin(app)
    path = write_geojson(tmp_path / "overlap.geojson", [
        feature("A", [rect(121.470, 31.220, 121.475, 31.225)]),
        feature("B", [rect(121.475, 31.220, 121.480, 31.225)]),   # shares an edge with A
        feature("C", [rect(121.479, 31.224, 121.483, 31.228)]),   # overlaps B's corner
        feature("D", [rect(121.470, 31.220, 121.475, 31.225)]),   # the same shape as A
        feature("E", [rect(121.4705, 31.2205, 121.471, 31.221)]),  # inside A and D
    ])
    p = di.preview_grids(ctx, path)
    assert p.ok
    assert sorted(w.text for w in p.warnings) == sorted([
        "网格 A 与网格 D（第 6 行）有重叠", "网格 A 与网格 E（第 7 行）有重叠",
        "网格 B 与网格 C（第 5 行）有重叠", "网格 D 与网格 E（第 7 行）有重叠"])
    done = di.apply_grids(ctx, path)
    assert done.applied and len(done.warnings) == 4


def test_replace_swaps_the_grids_as_a_whole_and_incidents_keep_their_grid_ids(app, tmp_path):
    ctx = app.services.ctx
    opened = calls.open_call(ctx, "13800000000")
    calls.locate(ctx, opened.incident_id, Location("南京东路", 121.4800, 31.2360))
    with app.session() as s:
        old_grid = s.get(IncidentRow, opened.incident_id).grid_id
    assert old_grid and not old_grid.startswith("HP-")
    load_centre(app)
    with app.session() as s:
        assert s.get(IncidentRow, opened.incident_id).grid_id == old_grid
        rows = {g.id: g for g in s.scalars(select(GridRow))}
        officer = s.scalar(select(UnitRow.id).where(UnitRow.callsign == "外社01"))
        assert sorted(rows) == ["HP-01", "HP-02", "HP-03", "HP-04", "HP-05"]
        assert rows["HP-01"].police_unit_id == officer and rows["HP-01"].leader_phone == "13800000011"
        assert rows["HP-02"].members == [{"name": "陈静（虚构）", "role": "网格员", "phone": "13800000002"},
                                         {"name": "周敏（虚构）", "role": "楼组长", "phone": ""}]
        assert rows["HP-04"].members[0]["role"] == "网格员" and rows["HP-04"].police_unit_id is None
    [imported] = events(app, "grids.imported")
    assert imported.operator == "demo-admin" and len(imported.payload["removed"]) == 36
    # a new index over the stored shapes (what the console builds at its next start)
    fresh = bootstrap(Settings(data_dir=app.settings.data_dir), clock=app.clock)
    assert fresh.grid_index.grid_at(121.4800, 31.2360) == "HP-01"
    assert fresh.grid_index.grid_at(121.4655, 31.2300) is None  # the hole
    fresh.engine.dispose()
    # and the same file again: everything unchanged, nothing removed
    again = di.preview_grids(app.services.ctx, GRIDS)
    assert again.counts() == {di.SAME: 5}


def test_gcj02_coordinates_are_converted_to_wgs84(app, tmp_path):
    ctx = as_admin(app)
    wgs = rect(121.470, 31.220, 121.475, 31.225)
    gcj = [list(wgs84_to_gcj02(x, y)) for x, y in wgs]
    path = write_geojson(tmp_path / "gcj.geojson", [feature("G", [gcj])],
                         crs={"type": "name", "properties": {"name": "GCJ-02"}})
    p = di.apply_grids(ctx, path)
    assert "GCJ-02" in p.notes[0]
    with app.session() as s:
        stored = s.get(GridRow, "G").polygon
    assert all(abs(a - b) < 1e-6 for p1, p2 in zip(stored, wgs) for a, b in zip(p1, p2))
    assert max(abs(a - b) for p1, p2 in zip(gcj, wgs) for a, b in zip(p1, p2)) > 1e-3  # it did move
    with pytest.raises(DispatchError, match="不支持的坐标系"):
        di.preview_grids(ctx, write_geojson(tmp_path / "x.geojson", [feature("G", [wgs])], crs="EPSG:3857"))


def test_only_an_administrator_imports(app):
    path_db = app.settings.data_dir / "dispatch.sqlite3"
    before = counts(path_db)
    for account in ("demo-calltaker", "demo-lead"):
        app.login(account, "demo")
        assert di.preview_stations(app.services.ctx, STATIONS).ok  # reading is anyone's
        for apply, path in ((di.apply_stations, STATIONS), (di.apply_roster, ROSTER), (di.apply_grids, GRIDS)):
            with pytest.raises(DispatchError, match="需要管理员权限"):
                apply(app.services.ctx, path)
    assert counts(path_db) == before
    load_centre(app)
    assert counts(path_db)["grids"] == 5


def test_grid_index_handles_holes_and_multipolygons():
    outer, hole = rect(0.0, 0.0, 10.0, 10.0), rect(4.0, 4.0, 6.0, 6.0)
    index = GridIndex([("ring", "", rect(20.0, 0.0, 30.0, 10.0)), ("holed", "", [outer, hole]),
                       ("multi", "", [[rect(40.0, 0.0, 45.0, 5.0)], [rect(50.0, 0.0, 55.0, 5.0)]])])
    assert index.grid_at(1.0, 1.0) == "holed" and index.grid_at(5.0, 5.0) is None
    assert index.grid_at(25.0, 5.0) == "ring" and index.grid_at(52.0, 1.0) == "multi"
    assert index.grid_at(47.0, 1.0) is None
    assert overlapping_pairs([("a", outer), ("b", rect(10.0, 0.0, 20.0, 10.0))]) == []
    assert overlapping_pairs([("a", outer), ("b", rect(9.0, 9.0, 20.0, 20.0))]) == [("a", "b")]
    assert overlapping_pairs([("a", [outer, hole]), ("b", rect(4.5, 4.5, 5.5, 5.5))]) == []  # in the hole


# ------------------------------------------------------------------ stations and roster

def test_roster_rows_are_checked_by_line_and_nothing_is_kept(app, tmp_path):
    ctx = as_admin(app)
    bad = tmp_path / "roster.csv"
    bad.write_text(ROSTER_HEADER + "\n".join([
        "新01,patrol_car,淮海中路警务站,08:00-20:00,,,2,310101200001,c1",  # 2: good
        "新02,patrol_car,无此驻点,,,,2,,",                                 # 3: unknown station
        "新01,foot_patrol,淮海中路警务站,,,,1,,",                           # 4: duplicate callsign
        "新03,foot_patrol,淮海中路警务站,,,,1,310101200001,c3",            # 5: duplicate terminal
        "新04,foot_patrol,淮海中路警务站,25:00-26:00,,,1,,",               # 6: bad window
        "新05,foot_patrol,淮海中路警务站,08:00-08:00,,,1,,",               # 7: empty window
        "新06,foot_patrol,淮海中路警务站,,,,1,31010120000A,c6",            # 8: bad terminal
        "新07,foot_patrol,淮海中路警务站,,,,1,310101000001,c7",            # 9: a demo unit's terminal
        "新08,foot_patrol,淮海中路警务站,,,,1,310101200008,",              # 10: no auth code
        "新09,foot_patrol,淮海中路警务站,,,,0,,",                           # 11: no one in it
        "新10,foot_patrol,淮海中路警务站,,,,1,,,extra",                     # 12: too many fields
    ]) + "\n", encoding="utf-8")
    before = counts(app.settings.data_dir / "dispatch.sqlite3")
    p = di.preview_roster(ctx, bad)
    by_line = {e.line: e.text for e in p.errors}
    assert sorted(by_line) == list(range(3, 13))
    assert "无此驻点 不存在" in by_line[3] and "与第 2 行重复" in by_line[4] and "与第 2 行重复" in by_line[5]
    assert "HH:MM-HH:MM" in by_line[6] and "起止相同" in by_line[7] and "12 位数字" in by_line[8]
    assert "黄巡01" in by_line[9] and "鉴权码" in by_line[10] and "1–99" in by_line[11]
    assert "字段数" in by_line[12]
    assert [r.key for r in p.rows] == ["新01"]
    with pytest.raises(DispatchError, match="10 处错误"):
        di.apply_roster(ctx, bad)
    assert counts(app.settings.data_dir / "dispatch.sqlite3") == before


def test_stations_with_lon_lat_or_osm_nodes_and_their_errors(app, tmp_path):
    ctx = as_admin(app)
    path = tmp_path / "stations.csv"
    path.write_text("name,kind,lon,lat,osm_node,crs,note\n"
                    "甲站,警务室,121.47,31.23,,,\n"            # 2 good
                    "乙站,岗亭,,,4225698900,,路口\n"            # 3 good: a demo OSM node
                    "丙站,岗亭,31.23,121.47,,,\n"               # 4 swapped
                    "丁站,岗亭,,,,,\n"                          # 5 nowhere
                    "甲站,岗亭,121.48,31.23,,,\n"               # 6 duplicate
                    "戊站,机场,121.48,31.23,,,\n"               # 7 bad kind
                    "己站,岗亭,,,1,,\n"                          # 8 unknown node
                    "庚站,岗亭,121.48,31.23,,bd09,\n", encoding="utf-8")  # 9 unknown crs
    p = di.preview_stations(ctx, path)
    assert sorted(e.line for e in p.errors) == [4, 5, 6, 7, 8, 9]
    assert [r.key for r in p.rows] == ["甲站", "乙站"]
    assert "121.470" in p.rows[0].detail
    with pytest.raises(DispatchError):
        di.apply_stations(ctx, path)
    with app.session() as s:
        assert s.scalar(select(StationRow).where(StationRow.name == "甲站")) is None


def test_roster_updates_are_events_that_leave_the_status_and_the_fold_equal(app, tmp_path):
    load_centre(app)
    created = events(app, "unit.created")
    assert len(created) == 23 + 5 and all(e.operator == "demo-admin" for e in created[-5:])
    assert created[-1].payload["callsign"] == "广岗01" and created[-1].payload["duty"] == ["22:00-06:00"]
    floor = app.services_for(Actor("席位01", "张三"))  # no login layer: the floor
    with app.session() as s:
        ids = {u.callsign: u.id for u in s.scalars(select(UnitRow))}
    opened = calls.open_call(floor.ctx, "13900000000")
    calls.locate(floor.ctx, opened.incident_id, Location("中山东一路", 121.4850, 31.2370))
    units.dispatch(floor.ctx, opened.incident_id, [ids["外巡01"]])
    assert_fold_equals_projections(app)

    changed = tmp_path / "roster2.csv"  # 外巡01 moves post and takes 豫巡01's terminal, and back
    changed.write_text(ROSTER_HEADER +
                       "外巡01,patrol_car,豫园警务室（测试）,08:00-20:00,张队（虚构）,13900000001,2,310101100002,code-2\n"
                       "豫巡01,ebike_patrol,豫园警务室（测试）,07:00-19:00;19:00-23:00,,,2,310101100001,code-1\n"
                       "淮社01,community,淮海社区警务室（测试）,08:00-20:00,,,1,,\n", encoding="utf-8")
    p = di.preview_roster(app.services.ctx, changed)
    rows = {r.key: r for r in p.rows}
    assert rows["外巡01"].action == di.UPDATE and "驻点 外滩派出所（测试）→豫园警务室（测试）" in rows["外巡01"].detail
    assert "值班时段" in rows["外巡01"].detail and "终端号" in rows["外巡01"].detail
    assert rows["淮社01"].action == di.SAME and "名册外的 25 个警力保持不变" in p.notes
    before = len(events(app))
    di.apply_roster(app.services.ctx, changed)
    updated = events(app, "unit.updated")
    assert [e.payload["callsign"] for e in updated] == ["外巡01", "豫巡01"] and len(events(app)) == before + 2
    assert updated[0].payload["changes"]["terminal"] == ["310101100001", "310101100002"]
    assert updated[0].payload["changes"]["auth_code"] == ["***", "***"]
    with app.session() as s:
        car = s.get(UnitRow, ids["外巡01"])
        post = s.scalar(select(StationRow).where(StationRow.name == "豫园警务室（测试）"))
        assert car.status == "dispatched" and car.incident_id == opened.incident_id  # status untouched
        assert (car.home_lon, car.home_lat) == (post.lon, post.lat) and car.duty == ["08:00-20:00"]
        assert car.terminal == "310101100002" and s.get(UnitRow, ids["豫巡01"]).terminal == "310101100001"
    assert_fold_equals_projections(app)


def test_a_moved_post_moves_its_units_with_unit_updated_events(app, tmp_path):
    ctx = as_admin(app)
    with app.session() as s:
        at_post = [u.callsign for u in s.scalars(select(UnitRow).where(UnitRow.station == "淮海中路警务站"))]
    assert at_post
    path = tmp_path / "move.csv"
    path.write_text("name,kind,lon,lat\n淮海中路警务站,警务站,121.4700,31.2250\n", encoding="utf-8")
    assert di.preview_stations(ctx, path).errors[0].line == 2  # 警务站 is not a kind
    path.write_text("name,kind,lon,lat\n淮海中路警务站,警务室,121.4700,31.2250\n", encoding="utf-8")
    p = di.preview_stations(ctx, path)
    assert p.rows[0].action == di.UPDATE and f"其下 {len(at_post)} 个警力随之移动" in p.rows[0].detail
    di.apply_stations(ctx, path)
    assert sorted(e.payload["callsign"] for e in events(app, "unit.updated")) == sorted(at_post)
    with app.session() as s:
        for u in s.scalars(select(UnitRow).where(UnitRow.station == "淮海中路警务站")):
            assert (u.home_lon, u.home_lat) == (121.47, 31.225) and u.status == "available"
    assert_fold_equals_projections(app)


def test_the_centre_loads_on_postgresql_and_a_bad_roster_keeps_nothing(pg_url, tmp_path, clock):
    from tests.integration.pg_schema import fresh_schema
    from dispatch.services.accounts import add_account

    with fresh_schema(pg_url) as url:
        pg = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=clock)
        add_account(pg.services.ctx, "boss", "admin", "boss-password")
        pg.login("boss", "boss-password")
        di.apply_stations(pg.services.ctx, STATIONS)
        di.apply_roster(pg.services.ctx, ROSTER)
        di.apply_grids(pg.services.ctx, GRIDS)
        bad = tmp_path / "bad.csv"
        bad.write_text(ROSTER_HEADER + "新01,patrol_car,外滩派出所（测试）,,,,1,,\n"
                       "外巡01,patrol_car,外滩派出所（测试）,,,,1,310101100002,x\n", encoding="utf-8")
        with pytest.raises(DispatchError, match="第 3 行"):  # 豫巡01 keeps that terminal
            di.apply_roster(pg.services.ctx, bad)
        with pg.session() as s:
            assert sorted(s.scalars(select(GridRow.id))) == ["HP-01", "HP-02", "HP-03", "HP-04", "HP-05"]
            assert s.scalar(select(UnitRow.id).where(UnitRow.callsign == "新01")) is None
        assert len(events(pg, "unit.created")) == 5
        fresh = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=clock)
        assert fresh.grid_index.grid_at(121.4845, 31.225) == "HP-04"
        assert_fold_equals_projections(pg)
        fresh.engine.dispose()
        pg.engine.dispose()
