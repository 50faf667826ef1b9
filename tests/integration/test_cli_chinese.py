"""Hostile command lines, run as a user runs them (`main.py` in a subprocess): every usage
mistake is one Chinese line on stderr naming what was wrong, exit 2, nothing on stdout,
no traceback, none of argparse's English and no Python repr; `act` reports empty input
and failed lines in its exit code."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# argparse's own words (its English messages and their frames); "usage:" only on --help
ENGLISH = re.compile(r"argument|required|unrecognized|invalid|choose from|expected|ambiguous|could match|"
                     r"usage:|error:|not allowed|ignored explicit|None|Traceback", re.I)
HAN = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DISPATCH_PASSWORD"}
    return subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), *args], cwd=REPO,
                          input=stdin, capture_output=True, text=True, timeout=120, env=env)


def refused_in_chinese(r: subprocess.CompletedProcess, code: int = 2) -> str:
    lines = r.stderr.splitlines()
    assert r.returncode == code and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert len(lines) == 1 and HAN.search(lines[0]) and not ENGLISH.search(lines[0]), r.stderr
    return lines[0]


# (command line, words the line must hold: the option, argument or value in question)
CASES = [
    (("incidents", "--bogus"), ("main.py incidents", "--bogus")),
    (("stats", "--since", "x"), ("main.py stats", "--since x")),
    (("recommend",), ("--at",)),
    (("where", "999", "999"), ("--at",)),
    (("restore",), ("--db", "file")),
    (("import-calls", "calls.csv"), ("--mapping",)),
    (("bench", "seats", "--seats", "0"), ("--seats", "1 到 64")),
    (("stats", "--by", "star-sign"), ("--by", "star-sign", "priority")),
    (("stats", "--b", "hour", "--b", "星座"), ("--by", "星座")),
    (("events", "--incident"), ("--incident",)),
    (("events", "--since", "x"), ("--since", "「x」")),
    (("events", "--incident", "-5"), ("--incident",)),
    (("simulate", "--calls", "many"), ("--calls", "many", "整数")),
    (("simulate", "--hours", "1,5"), ("--hours", "1,5", "数字")),
    (("--d", "x", "units"), ("--d", "--db", "--data-dir")),
    (("--bogus", "units"), ("--bogus",)),
    (("nonsense-command",), ("nonsense-command", "units")),
    (("user",), ("子命令", "add", "list")),
    (("user", "add"), ("name", "--role", "--password-stdin")),
    (("user", "remove", "x"), ("remove", "add")),
    (("bench",), ("seats",)),
    (("bench", "nope"), ("nope", "seats")),
    (("units", "--json=1"), ("--json", "1")),
    (("backup", "--format", "xml"), ("--format", "xml", "jsonl")),
    (("cti", "send", "--event", "ring"), ("--event", "ring", "ringing")),
    (("geocode", "福州路", "--limit", "abc"), ("--limit", "abc")),
    (("avl", "listen", "--jt808", "x"), ("--jt808",)),
    (("roads", "import-osm"), ("file",)),
    (("report", "--incident", "x", "--pdf", "x.pdf"), ("--incident", "「x」")),
]


@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_usage_mistake_is_one_chinese_line(tmp_path, argv, words):
    line = refused_in_chinese(run(*argv, data_dir=tmp_path))
    assert all(w in line for w in words), (words, line)
    assert "'" not in line, line  # a value as typed, not as a Python literal
    assert not any(tmp_path.iterdir())  # refused while parsing: no database made


def test_help_keeps_argparse_usage(tmp_path):
    r = run("stats", "--help", data_dir=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("usage: main.py stats") and r.stderr == "", r.stderr


def test_user_add_checks_the_role_before_the_password(tmp_path):
    line = refused_in_chinese(run("user", "add", "x", "--role", "god", "--password-stdin", data_dir=tmp_path))
    assert "角色" in line and "god" in line and "密码" not in line, line
    line = refused_in_chinese(run("user", "add", "a b", "--role", "admin", "--password-stdin", data_dir=tmp_path))
    assert "账号名" in line, line
    line = refused_in_chinese(run("user", "add", "boss", "--role", "admin", "--password-stdin", data_dir=tmp_path))
    assert "密码" in line, line  # a good role and name: now the missing password


@pytest.mark.parametrize("stdin", ["", "\n  \n\t\n"], ids=["nothing", "blank lines"])
def test_act_without_commands_is_a_usage_error(tmp_path, stdin):
    line = refused_in_chinese(run("act", data_dir=tmp_path, stdin=stdin))
    assert "没有命令" in line and "op" in line, line
    assert not any(tmp_path.iterdir())  # the database is not even opened


@pytest.fixture
def demo_dir(tmp_path, demo_template) -> Path:
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    return tmp_path


def test_act_failed_lines_exit_1_with_a_summary(demo_dir):
    lines = [{"op": "open_call", "number": "13800000001"}, {"cmd": "x"}, {"op": 5}, {"op": None},
             {"op": "fly"}, {"op": "note", "incident_id": 1, "text": "已到场"}, {}]
    r = run("act", data_dir=demo_dir, stdin="".join(json.dumps(c) + "\n" for c in lines))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["ok"] for o in out] == [True, False, False, False, False, True, False]
    errors = [o.get("error", "") for o in out]
    assert "缺少 op" in errors[1] and "cmd" in errors[1]
    assert "op 应为操作名文字" in errors[2] and "给出的是 5" in errors[2]
    assert "给出的是 null" in errors[3]
    assert "未知的操作「fly」" in errors[4] and "open_call" in errors[4]
    assert "缺少 op" in errors[6] and "（无）" in errors[6]
    assert not any("None" in e or "'" in e for e in errors), errors
    assert r.stderr.splitlines() == ["act: 2 条成功，5 条失败"]


def test_act_every_line_failing_exits_1_and_all_good_exits_0(demo_dir):
    r = run("act", data_dir=demo_dir, stdin='not json\n{"op": "note", "incident_id": 999999, "text": "x"}\n')
    assert r.returncode == 1 and r.stderr.splitlines() == ["act: 0 条成功，2 条失败"], r.stderr
    assert [json.loads(x)["ok"] for x in r.stdout.splitlines()] == [False, False]
    r = run("act", data_dir=demo_dir, stdin='\n{"op": "open_call", "number": "13800000002"}\n\n')
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert json.loads(r.stdout)["ok"] is True


def _made_up_parser():  # argparse features no command uses yet: their messages are translated too
    from dispatch.cli import _Parser
    p = _Parser(prog="main.py demo")
    either = p.add_mutually_exclusive_group(required=True)
    either.add_argument("--live", action="store_true")
    either.add_argument("--replay", action="store_true")
    p.add_argument("--box", nargs=4, type=float, metavar="X")
    p.add_argument("--tags", nargs="+")
    p.add_argument("--level", type=int, choices=(1, 2, 3))
    return p


@pytest.mark.parametrize("argv, words", [
    ((), ("--live", "--replay")),
    (("--live", "--replay"), ("--replay", "--live", "同时")),
    (("--live", "--box", "1", "2"), ("--box", "4")),
    (("--live", "--box", "1", "2", "3", "x"), ("--box", "「x」", "数字")),
    (("--live", "--tags"), ("--tags", "至少")),
    (("--live", "--level", "7"), ("--level", "「7」", "1、2、3")),
    (("--live", "--level", "high"), ("--level", "「high」", "整数")),
    (("--live=yes",), ("--live", "yes")),
])
def test_every_argparse_message_is_translated(capsys, argv, words):
    with pytest.raises(SystemExit) as stop:
        _made_up_parser().parse_args(list(argv))
    err = capsys.readouterr().err
    line, = err.splitlines()
    assert stop.value.code == 2 and line.startswith("main.py demo: 参数错误: ") and not ENGLISH.search(line), err
    assert all(w in line for w in words), (words, line)
