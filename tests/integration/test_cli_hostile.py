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
