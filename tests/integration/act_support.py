"""`python main.py act` run as a script would run it: JSON lines in, JSON lines out."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_act(data_dir: Path, commands: list) -> list[dict]:  # dicts, or raw lines (str)
    lines = [c if isinstance(c, str) else json.dumps(c, ensure_ascii=False) for c in commands]
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), "act"], cwd=REPO,
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=180)
    return checked(r)


def checked(r: subprocess.CompletedProcess) -> list[dict]:
    """The answers of an `act` run: exit 0 when every line was done, 1 (and a summary on
    stderr) when any was refused; never a traceback."""
    out = [json.loads(x) for x in r.stdout.splitlines()]
    failed = sum(1 for o in out if isinstance(o, dict) and o.get("ok") is False)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == (1 if failed else 0), (r.returncode, r.stderr)
    if failed:
        assert f"{failed} 条失败" in r.stderr, r.stderr
    return out
