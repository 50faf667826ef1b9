"""Every user mistake on the command line ends in one clear line on stderr and exit 2,
never a traceback, and writes nothing (issue 8, item 17)."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from dispatch.cli import build_parser
from ui.entry import UI_COMMANDS, main


@pytest.fixture
def demo_dir(tmp_path, demo_template) -> Path:
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    return tmp_path


def _files(tmp_path: Path) -> dict[str, Path]:
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    nonsense = tmp_path / "nonsense.txt"
    nonsense.write_text("这不是行政区划\n\t\t\t\t乱七八糟\n%%%\n", encoding="utf-8")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "福州路"\n[1, 2]\n"字符串"\n{"expect": {}}\n', encoding="utf-8")
    near5 = tmp_path / "near5.jsonl"
    near5.write_text('{"near": 5}\n', encoding="utf-8")
    return {"pbf": Path(__file__).resolve().parents[1] / "data" / "osm" / "shanghai-huangpu.osm.pbf",
            "binary": binary, "nonsense": nonsense, "bad_json": bad_json, "near5": near5,
            "dir": tmp_path}


CASES = [
    ("geocode", "--batch", "{near5}"),
    ("geocode", "--batch", "{binary}"),
    ("geocode", "福州路", "--limit", "-5"),
    ("geocode", "福州路", "--limit", "0"),
    ("stats", "--csv", "/nonexistent-dir/x.csv"),
    ("stats", "--csv", "{dir}"),
    ("events", "--incident", "99999999999999999999"),
    ("events", "--since", "-1"),
    ("simulate", "--hours", "nan"),
    ("gazetteer", "import-csv", "{binary}"),
    ("gazetteer", "evaluate", "{bad_json}"),
    ("gazetteer", "import-admin", "{nonsense}"),
    ("gazetteer", "import-admin", "{binary}"),
    ("roads", "import-osm", "{binary}"),
    ("roads", "import-osm", "{dir}"),
    ("recommend", "--at", "121.47,31.23", "--limit", "-1"),
    ("recommend", "--at", "nan,nan"),
    ("recommend", "--at", "999,999"),
    ("state", "--at", "明天早上"),
    ("import-calls", "{binary}", "--mapping", "{nonsense}"),
    ("import-calls", "{nonsense}", "--mapping", "{binary}"),
    ("import-calls", "{nonsense}", "--mapping", "{dir}"),
    ("import-grids", "{binary}", "--preview"),
    ("import-grids", "{bad_json}", "--preview"),
    ("import-stations", "{binary}", "--preview"),
    ("import-roster", "{nonsense}", "--preview"),
    ("import-roster", "{dir}"),
    ("import-city", "{binary}", "--preview"),
    ("import-city", "{nonsense}"),
    ("import-city", "{dir}", "--preview"),
    ("import-city", "/nonexistent-dir/city.osm.pbf"),
    ("import-city", "{pbf}", "--preview", "--admin", "上" * 3000),
    ("import-city", "{pbf}", "--preview", "--admin", "甲,乙,丙,丁,戊,己,庚"),
    ("roads", "build-hierarchy", "--rebuild", "extra"),
    ("stats", "--by", "star-sign"),
    ("report", "--incident", "999999", "--pdf", "{dir}/x.pdf"),
    ("report", "--incident", "-1", "--pdf", "/nonexistent-dir/x.pdf"),
]


def _one_line_exit_2(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c) for c in CASES])
def test_user_mistake_is_one_line(capsys, demo_dir, tmp_path, case):
    files = _files(tmp_path)
    before = _counts(demo_dir)
    argv = ["--data-dir", str(demo_dir)] + [a.format(**files) for a in case]
    _one_line_exit_2(capsys, argv)
    assert _counts(demo_dir) == before  # a refused command wrote nothing


def _counts(data_dir: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(data_dir / "dispatch.sqlite3")
    try:
        return tuple(con.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("places", "events", "incidents"))
    finally:
        con.close()


@pytest.mark.parametrize("db", ["sqlite:////proc/nope/x.db", "postgresql://[::1", "sqlite://",
                                "sqlite:///:memory:", "mysql://x/y"])
def test_bad_database_urls(capsys, tmp_path, db):
    _one_line_exit_2(capsys, ["--data-dir", str(tmp_path), "--db", db, "units"])


def test_bad_data_dir(capsys):
    _one_line_exit_2(capsys, ["--data-dir", "/proc/nope", "units"])


def test_unknown_schema_revision(capsys, demo_dir):
    con = sqlite3.connect(demo_dir / "dispatch.sqlite3")
    con.execute("DELETE FROM alembic_version")
    con.execute("INSERT INTO alembic_version VALUES ('f00dbabe')")
    con.commit()
    con.close()
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "units"])
    assert "结构版本" in line


def test_postgres_wrong_user_and_database_named(capsys, tmp_path, pg_url):
    from sqlalchemy.engine import make_url
    u = make_url(pg_url)
    bad_user = u.set(username="no_such_role_x").render_as_string(hide_password=False)
    bad_db = u.set(database="no_such_db_x").render_as_string(hide_password=False)
    assert "no_such_role_x" in _one_line_exit_2(capsys, ["--data-dir", str(tmp_path), "--db", bad_user, "units"])
    assert "no_such_db_x" in _one_line_exit_2(capsys, ["--data-dir", str(tmp_path), "--db", bad_db, "units"])


def _commands(parser, prefix=()):
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, prefix + (name,))
            return
    yield prefix


@pytest.mark.parametrize("command", [c for c in _commands(build_parser(UI_COMMANDS)) if c],
                         ids=lambda c: " ".join(c))
def test_every_command_refuses_an_unknown_option(capsys, tmp_path, command):
    line = _one_line_exit_2(capsys, ["--data-dir", str(tmp_path), *command, "--no-such-option-x"])
    assert line.startswith(f"main.py {' '.join(command)}: 参数错误: "), line  # names the command
    # in Chinese: the unknown option named, or first what the command is missing
    assert "不支持的参数 --no-such-option-x" in line or "缺少" in line, line
    assert "unrecognized" not in line and "required" not in line, line  # neither argparse's English


# ---- hostile inputs of the QA review: huge limits and numbers, typos, missing directories

def test_recommend_limit_is_bounded(capsys, demo_dir):
    for limit in ("1000000000000", "51", "0"):  # a huge limit exhausted memory (numpy) before
        line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "recommend", "--at", "121.47,31.23",
                                         "--limit", limit])
        assert "1 到 50" in line, line


def test_huge_integers_in_import_files_are_refused(capsys, demo_dir, tmp_path):
    before = _counts(demo_dir)
    digits = tmp_path / "digits.geojson"
    digits.write_text("1" * 10000, encoding="utf-8")  # int() refuses over 4300 digits: ValueError
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "import-grids", str(digits), "--preview"])
    assert "GeoJSON" in line and "digits.geojson" in line, line
    inside = tmp_path / "inside.geojson"
    inside.write_text('{"type": "FeatureCollection", "features": [], "x": ' + "9" * 5000 + "}", encoding="utf-8")
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "import-grids", str(inside)])
    assert "GeoJSON" in line, line
    calls = tmp_path / "calls.csv"
    calls.write_text("时间,号码\n2026-11-30 08:00,110\n", encoding="utf-8")
    for name, body in (("big.toml", "x = " + "1" * 5000 + "\n"), ("deep.toml", "x = " + "[" * 100000 + "\n")):
        mapping = tmp_path / name
        mapping.write_text(body, encoding="utf-8")
        line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "import-calls", str(calls),
                                         "--mapping", str(mapping)])
        assert "TOML" in line and name in line, line
    batch = tmp_path / "queries.txt"  # a geocode batch line with such a number
    batch.write_text('{"text": "人民广场", "near": [' + "1" * 5000 + ', 31.2]}\n', encoding="utf-8")
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "geocode", "--batch", str(batch)])
    assert "JSON" in line and "第 1 行" in line, line
    assert _counts(demo_dir) == before


def _act_fields() -> dict:
    from dispatch.commands import act, act_calls, act_cases
    return {**act.FIELDS, **act_calls.FIELDS, **act_cases.FIELDS}


def test_act_refuses_unknown_fields_of_every_operation(demo_dir):
    from tests.integration.act_support import run_act
    out = run_act(demo_dir, [{"op": "open_call", "number": "13800000101"}])
    iid = out[0]["incident_id"]
    run_act(demo_dir, [{"op": "locate", "incident_id": iid, "lon": 121.4840, "lat": 31.2360},
                       {"op": "categorise", "incident_id": iid, "category": "dispute"}])
    before = _counts(demo_dir)
    typo = {"op": "dispatch", "incident_id": iid, "callsigns": ["不存在"]}  # acted on the first unit before
    lines = [typo] + [{"op": op, "incident_id": iid, "incident_idd": 1} for op in _act_fields()]
    out = run_act(demo_dir, lines)
    assert out[0]["ok"] is False and "callsigns" in out[0]["error"] and "unit_ids" in out[0]["error"], out[0]
    for line, result in zip(lines[1:], out[1:]):
        assert result["ok"] is False and "incident_idd" in result["error"], (line, result)
    assert _counts(demo_dir) == before  # nothing dispatched, nothing written
    out = run_act(demo_dir, [{"op": "dispatch", "incident_id": iid}])  # without the typo it acts
    assert out[0]["ok"] is True, out


def test_act_reads_an_integer_phone_number_as_text(demo_dir):
    from tests.integration.act_support import run_act
    huge = '{"op": "note", "incident_id": ' + "1" * 5000 + ', "text": "x"}'  # over int()'s 4300 digits
    out = run_act(demo_dir, [{"op": "open_call", "number": 13800000102},
                             {"op": "history", "number": "13800000102"},
                             {"op": "history", "number": 13800000102},
                             {"op": "open_call", "number": -110},
                             {"op": "open_call", "number": 110.5},
                             {"op": "open_call", "number": 10 ** 40}, huge])
    assert out[0]["ok"] is True and out[2]["number"] == "13800000102", out
    assert out[1]["total"] == out[2]["total"] >= 1, out  # the same caller, as text or as a number
    assert out[3]["ok"] is False and "用引号" in out[3]["error"], out[3]
    assert out[4]["ok"] is False and "用引号" in out[4]["error"], out[4]
    assert out[5]["ok"] is False and "号码" in out[5]["error"], out[5]  # the phone check applies
    assert out[6] == {"ok": False, "error": "不是有效的 JSON 行"}, out[6]


def test_backup_and_restore_refuse_a_missing_directory(capsys, demo_dir, tmp_path):
    missing = tmp_path / "no-such-dir"
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "backup", str(missing / "x.db")])
    assert "目录不存在" in line, line
    assert not missing.exists()  # never created
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "backup", str(tmp_path)])
    assert "目录" in line, line
    backup = tmp_path / "ok.db"
    assert main(["--data-dir", str(demo_dir), "backup", str(backup)]) == 0
    capsys.readouterr()
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "restore", str(backup),
                                     "--db", f"sqlite:///{missing}/new.db"])
    assert "目录不存在" in line, line
    assert not missing.exists()
    files = _files(tmp_path)
    target = tmp_path / "new.db"
    for src in (files["binary"], files["nonsense"], missing / "x.db"):
        _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "restore", str(src), "--db", f"sqlite:///{target}"])
        assert not target.exists()  # refused before the target was touched


def test_empty_import_file_is_called_empty(capsys, demo_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path in ("/dev/null", str(empty)):
        for command in ("import-roster", "import-stations", "import-grids", "import-city"):
            line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), command, path])
            assert "文件是空的" in line and "找不到" not in line, line


def test_avl_listen_unresolvable_address_in_chinese(capsys, demo_dir):
    line = _one_line_exit_2(capsys, ["--data-dir", str(demo_dir), "avl", "listen", "--jt808", "999.0.0.1:7808"])
    assert "无法监听" in line and "无法解析" in line and "999.0.0.1:7808" in line, line
    assert "not known" not in line and "Name" not in line, line  # not the system's English
