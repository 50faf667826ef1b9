"""`gazetteer import-admin | import-csv | import-osm | evaluate` and `bench geocode`
through dispatch.cli.main: a user mistake is one line on stderr, exit 2, no traceback,
and nothing written (the database is not even created)."""
import json
import sqlite3

import pytest

from dispatch.cli import main

from tests.unit.geocode_fixtures import LANDMARKS, cut_hierarchy

BINARY = bytes(range(256)) * 8 + b"\x00\xff\xfe PK\x03\x04"


def run(capsys, tmp_path, *args):
    code = main(["--data-dir", str(tmp_path / "data"), "--no-demo", *args])
    out, err = capsys.readouterr()
    return code, out, err


def places(tmp_path) -> int | None:
    db = tmp_path / "data" / "dispatch.sqlite3"
    if not db.exists():
        return None
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM places").fetchone()[0]


def refused(capsys, tmp_path, *args, match: str = "") -> str:
    code, out, err = run(capsys, tmp_path, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("错误"), err
    assert match in err
    assert places(tmp_path) is None       # refused before the database was opened
    return err


def write(tmp_path, name: str, content) -> str:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("content, match", [
    (BINARY, "不是可读的 UTF-8 文本"),
    ("甲,乙\n1,2\n", "缺少列"),
    ("name,lon,lat\n人民广场,121.47,31.23\n豫园,abc,31.22\n", "第 3 行坐标无效"),
    ("name,lon,lat\n人民广场,121.47,nan\n", "第 2 行坐标 121.47,nan 不在中国境内"),
    ("name,lon,lat\n人民广场,-121.47,-31.23\n", "第 2 行坐标 -121.47,-31.23 不在中国境内（经纬度是否写反？）"),
    ("name,lon,lat,crs\n人民广场,121.47,31.23,utm\n", "坐标系未知"),
    ("name,lon,lat\n", "没有地点"),
    ("name,lon,lat\n人民\x00广场,121.47,31.23\n", "第 2 行地名含控制字符"),
])
def test_import_csv_refuses_bad_files(capsys, tmp_path, content, match):
    refused(capsys, tmp_path, "gazetteer", "import-csv", write(tmp_path, "p.csv", content), match=match)


@pytest.mark.parametrize("content, match", [
    (BINARY, "不是可读的 UTF-8 文本"),
    ("hello\nworld\n", "第 1 行不是行政区划"),
    ("name,kind,city,county,lon,lat\n宁波效实中学,school,宁波市,海曙区,121.52,29.87\n", "第 1 行不是行政区划"),
    ("浙江省\t330000\t浙江\n\t\t\t马渚镇\n", "第 2 行不是行政区划：层级"),
    ("浙江省\t33\t浙江\n", "第 1 行不是行政区划"),
    ("\n\n", "没有行政区划"),
])
def test_import_admin_refuses_nonsense(capsys, tmp_path, content, match):
    refused(capsys, tmp_path, "gazetteer", "import-admin", write(tmp_path, "h.txt", content), match=match)


def test_import_admin_refuses_binary_archive(capsys, tmp_path):
    refused(capsys, tmp_path, "gazetteer", "import-admin", write(tmp_path, "h.txt.xz", BINARY),
            match="不是可读的")


def test_import_admin_of_a_real_file_with_progress(capsys, tmp_path):
    cut = cut_hierarchy(tmp_path / "cut.txt", provinces=(), counties=("饶阳县",))
    code, out, err = run(capsys, tmp_path, "gazetteer", "import-admin", str(cut))
    assert code == 0, err
    n = places(tmp_path)
    assert n and f"已导入 {n} 个地点" in out
    assert f"{n:,}/{n:,} (100%)" in err                # progress on stderr


def test_import_osm_refuses_binary(capsys, tmp_path):
    refused(capsys, tmp_path, "gazetteer", "import-osm", write(tmp_path, "x.osm", BINARY),
            match="不是 OSM 文件")


def test_import_csv_good_file_writes(capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, "gazetteer", "import-csv", str(LANDMARKS))
    assert code == 0 and places(tmp_path) >= 5 and err == ""


GOOD = {"text": "豫园", "expect": {"name": "豫园"}}


@pytest.mark.parametrize("lines, match", [
    ([json.dumps(GOOD, ensure_ascii=False), "{not json"], "第 2 行不是有效的 JSON"),
    (["豫园"], "第 1 行不是 JSON 对象"),
    (["[1, 2]"], "第 1 行不是 JSON 对象"),
    ([json.dumps({"expect": {"name": "豫园"}}, ensure_ascii=False)], "第 1 行应有 text 与 expect"),
    ([json.dumps({"text": "豫园"}, ensure_ascii=False)], "第 1 行应有 text 与 expect"),
    ([json.dumps({"text": "豫园", "expect": "豫园"}, ensure_ascii=False)], "第 1 行应有 text 与 expect"),
    ([json.dumps({"text": 5, "expect": {"name": "豫园"}}, ensure_ascii=False)], "第 1 行的 text 应是文字"),
    ([json.dumps({"text": "豫园", "near": 5, "expect": {"name": "豫园"}}, ensure_ascii=False)], "near"),
    (["", "  "], "中没有查询"),
])
def test_evaluate_refuses_bad_lines(capsys, tmp_path, lines, match):
    refused(capsys, tmp_path, "gazetteer", "evaluate", write(tmp_path, "q.jsonl", "\n".join(lines) + "\n"),
            match=match)


def test_evaluate_refuses_binary_and_missing(capsys, tmp_path):
    refused(capsys, tmp_path, "gazetteer", "evaluate", write(tmp_path, "q.jsonl", BINARY), match="不是可读的")
    refused(capsys, tmp_path, "gazetteer", "evaluate", str(tmp_path / "none.jsonl"), match="找不到查询文件")


def test_bench_geocode_has_no_fallback_query(capsys, tmp_path):
    code = main(["bench", "geocode", "--work-dir", str(tmp_path / "bench"),
                 "--queries", str(tmp_path / "missing.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and "找不到查询文件" in err and err.count("\n") == 1
    assert not (tmp_path / "bench").exists()               # nothing built before the check


@pytest.mark.slow
def test_import_admin_without_file_imports_the_shipped_register(capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, "gazetteer", "import-admin")
    n = places(tmp_path)
    assert code == 0 and n > 700_000 and f"已导入 {n} 个地点" in out
    assert err.count("导入行政区划") >= 10 and f"{n:,}/{n:,} (100%)" in err
    code, out, err = run(capsys, tmp_path, "gazetteer", "import-admin")
    assert code == 2 and "已导入" in err and places(tmp_path) == n      # never twice
