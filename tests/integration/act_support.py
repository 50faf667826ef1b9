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
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines()]
