"""Compile the console's own modules (dispatch/, ui/) to bytecode ahead of the first start,
as `main.py setup` does. A wheel gets its bytecode at install and an ordinary checkout from
its first start; with PYTHONDONTWRITEBYTECODE set (containers often set it) nothing is ever
written, and every start compiles the hundred-odd modules of the window again — about a
tenth of a second of CPU before the window is usable. Qt-free."""
from __future__ import annotations

import compileall
from pathlib import Path

PACKAGES = ("dispatch", "ui")
ROOT = Path(__file__).resolve().parent.parent


def compile_sources(root: Path = ROOT) -> tuple[int, int]:
    """Write the bytecode of every module under the console's packages that lacks a current
    one; returns (modules, failures). A read-only installation fails quietly (its modules
    were compiled at install)."""
    modules = failures = 0
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            modules += 1
            if not compileall.compile_file(str(path), quiet=2):
                failures += 1
    return modules, failures
