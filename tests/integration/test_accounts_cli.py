"""`user add/list`, --user with DISPATCH_PASSWORD, and headless writes refused without a login."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(data_dir: Path, *args: str, stdin: str = "", password: str | None = None,
        demo: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DISPATCH_PASSWORD"}
    if password is not None:
        env["DISPATCH_PASSWORD"] = password
    extra = () if demo else ("--no-demo",)
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), *extra, *args], cwd=REPO,
                       input=stdin, capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def refused(r: subprocess.CompletedProcess, words: str) -> None:
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert len(r.stderr.splitlines()) == 1 and words in r.stderr, r.stderr


def test_accounts_from_the_command_line(tmp_path):
    refused(run(tmp_path, "user", "add", "zhang", "--role", "calltaker", "--password-stdin", stdin="zhang-pass-1\n"),
            "第一个账号必须是管理员")
    r = run(tmp_path, "user", "add", "boss", "--role", "admin", "--password-stdin", stdin="boss-password\n")
    assert r.returncode == 0 and json.loads(r.stdout) == {"ok": True, "name": "boss", "role": "admin"}
    refused(run(tmp_path, "user", "add", "zhang", "--role", "calltaker", "--password-stdin", stdin="zhang-pass-1\n"),
            "需要登录")
    refused(run(tmp_path, "--user", "boss", "user", "add", "zhang", "--role", "calltaker", "--password-stdin",
                stdin="zhang-pass-1\n", password="boss-passw0rd"), "账号或密码错误")
    refused(run(tmp_path, "--user", "boss", "user", "add", "zhang", "--role", "calltaker", "--password-stdin",
                stdin="zhang-pass-1\n"), "DISPATCH_PASSWORD")
    r = run(tmp_path, "--user", "boss", "user", "add", "zhang", "--role", "接警员", "--password-stdin",
            stdin="zhang-pass-1\n", password="boss-password")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "user", "list", "--json")
    rows = json.loads(r.stdout)
    assert [(x["name"], x["role"]) for x in rows] == [("boss", "admin"), ("zhang", "calltaker")]
    assert "scrypt" not in r.stdout and "password" not in r.stdout


def test_writing_headless_needs_a_login_once_accounts_exist(tmp_path):
    run(tmp_path, "user", "add", "boss", "--role", "admin", "--password-stdin", stdin="boss-password\n")
    run(tmp_path, "--user", "boss", "user", "add", "zhang", "--role", "calltaker", "--password-stdin",
        stdin="zhang-pass-1\n", password="boss-password")
    call = json.dumps({"op": "open_call", "number": "13800000001"}) + "\n"
    r = run(tmp_path, "act", stdin=call)
    out = json.loads(r.stdout)
    assert out["ok"] is False and "需要登录" in out["error"]
    r = run(tmp_path, "--user", "zhang", "--operator", "局长", "act", stdin=call, password="zhang-pass-1")
    refused(r, "--operator 不能与 --user 同用")
    r = run(tmp_path, "--seat", "席位07", "--user", "zhang", "act", stdin=call, password="zhang-pass-1")
    assert json.loads(r.stdout)["ok"] is True, r.stdout
    events = json.loads(run(tmp_path, "events", "--json").stdout)
    assert [(e["kind"], e["seat"], e["operator"]) for e in events if e["kind"] == "call.received"] == \
        [("call.received", "席位07", "zhang")]


def test_the_demo_database_keeps_working_without_a_login(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    call = json.dumps({"op": "open_call", "number": "13800000001"}) + "\n"
    assert json.loads(run(tmp_path, "act", stdin=call, demo=True).stdout)["ok"] is True
    r = run(tmp_path, "--user", "demo-trainer", "act", stdin=call, password="demo", demo=True)
    assert "培训师只能在培训副本" in json.loads(r.stdout)["error"]
    refused(run(tmp_path, "user", "add", "zhang", "--role", "calltaker", "--password-stdin",
                stdin="zhang-pass-1\n", demo=True), "需要管理员权限")
    r = run(tmp_path, "--user", "demo-admin", "user", "add", "zhang", "--role", "calltaker", "--password-stdin",
            stdin="zhang-pass-1\n", password="demo", demo=True)
    assert r.returncode == 0, r.stderr
    names = [x["name"] for x in json.loads(run(tmp_path, "user", "list", "--json", demo=True).stdout)]
    assert names == sorted(["demo-admin", "demo-calltaker", "demo-dispatcher", "demo-lead", "demo-trainer", "zhang"])
