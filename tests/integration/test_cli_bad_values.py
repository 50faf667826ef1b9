"""Values the command line used to trip over: instants out of range (an OverflowError) or
in the wrong order, negative coordinates (argparse took them for options), points outside
China, and the import commands' files — each refused with one Chinese line, exit 2, no
traceback and none of Python's or the libraries' English."""
from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

import pytest

from dispatch.cli import join_negative_values, main
from dispatch.importers.file_errors import os_error_text

REPO = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"Error|Expecting|PBF error|No such file|BlobHeader|unclosed|Traceback|"
                     r"expected|invalid|unexpected", re.I)


@pytest.fixture
def data_dir(tmp_path, demo_template):
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(demo_template, d / "dispatch.sqlite3")
    return d


def refused(capsys, data_dir: Path, *args: str) -> str:
    code = main(["--data-dir", str(data_dir), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err, (code, err)
    line = err[-1]
    assert HAN.search(line) and not ENGLISH.search(line), line
    return line


@pytest.mark.parametrize("args,says", [
    (("state", "--at", "0001-01-01T00:00:00"), "超出范围（应在 2000 年到 2100 年之间）"),
    (("state", "--at", "9999-12-31T23:59:59"), "超出范围"),
    (("stats", "--from", "0001-01-01"), "超出范围"),
    (("stats", "--from", "1999-12-31"), "超出范围"),
    (("stats", "--to", "2100-01-01"), "超出范围"),
    (("stats", "--from", "2026-01-02", "--to", "2026-01-01"), "应晚于开始时间"),
    (("geocode", "豫园", "--near", "-200,-100"), "-200,-100 不在中国境内（经纬度是否写反？）"),
    (("where", "--at", "-121.47,-31.23"), "-121.47,-31.23 不在中国境内"),
    (("where", "--at", "31.23,121.47"), "不在中国境内"),
    (("recommend", "--at", "-121.47,-31.23"), "不在中国境内"),
])
def test_bad_instants_and_points_are_refused(capsys, data_dir, args, says):
    assert says in refused(capsys, data_dir, *args)


def test_negative_pairs_are_values_not_options():
    assert join_negative_values(["where", "--at", "-121.47,-31.23", "--json"]) == \
        ["where", "--at=-121.47,-31.23", "--json"]
    assert join_negative_values(["geocode", "x", "--near", "-1.5e2, -30"]) == ["geocode", "x", "--near=-1.5e2, -30"]
    unchanged = ["cti", "send", "--lon", "-121.4", "--", "--at", "-1,2"]
    assert join_negative_values(unchanged) == unchanged
    assert join_negative_values(["state", "--at", "2026-01-01"]) == ["state", "--at", "2026-01-01"]


def test_import_files_are_refused_in_chinese(capsys, data_dir, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("not json")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00abc")
    quote = tmp_path / "quote.csv"
    quote.write_text('name,kind,lon,lat\n"东门岗亭,岗亭,121.4,31.2\n', encoding="utf-8")
    bad_pbf = tmp_path / "bad.pbf"
    bad_pbf.write_bytes(bytes(range(256)) * 2)
    trunc = tmp_path / "trunc.osm.pbf"
    trunc.write_bytes((REPO / "tests/data/osm/helsinki.osm.pbf").read_bytes()[:5000])
    bad_xml = tmp_path / "bad.osm"
    bad_xml.write_text('<osm><node id="1" lat="31" lon="121"/><way')
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        (("import-grids", str(deep)), "嵌套层数过深"),
        (("import-grids", str(bad_json)), "第 1 行第 1 列: 此处应为一个值"),
        (("import-grids", str(folder)), "是目录"),
        (("import-stations", str(folder)), "是目录"),
        (("import-stations", str(binary)), "驻点文件不是可读的 UTF-8 文本"),
        (("import-stations", str(quote)), "第 2 行起: 引号未闭合"),
        (("import-roster", str(binary)), "警力名册不是可读的 UTF-8 文本"),
        (("import-city", str(bad_pbf)), "不是有效的 OSM PBF 文件（文件头损坏"),
        (("import-city", str(trunc)), "文件不完整"),
        (("import-city", str(bad_xml)), "不是有效的 OSM XML 文件（第 1 行"),
        (("import-city", str(folder)), "是目录"),
    ]
    for args, says in cases:
        assert says in refused(capsys, data_dir, *args, "--preview"), args


def test_os_errors_in_chinese():
    assert os_error_text(FileNotFoundError(errno.ENOENT, "No such file or directory")) == "文件或目录不存在"
    assert os_error_text(PermissionError(errno.EACCES, "Permission denied")) == "没有读写权限"
    assert HAN.search(os_error_text(OSError(errno.EXDEV, "Invalid cross-device link")))
