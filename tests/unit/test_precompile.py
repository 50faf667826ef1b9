"""`setup` writes the console's bytecode even where PYTHONDONTWRITEBYTECODE stops Python
from doing it at start (issue 13, item 4); a module that does not compile is counted."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from dispatch.precompile import compile_sources


def test_writes_bytecode_despite_dont_write_bytecode(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for package in ("dispatch", "ui"):
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "sub" / "good.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "ui" / "broken.py").write_text("def (:\n", encoding="utf-8")
    (tmp_path / "other.py").write_text("Y = 2\n", encoding="utf-8")  # not the console's
    assert compile_sources(tmp_path) == (3, 1)
    for package in ("dispatch", "ui"):
        assert Path(importlib.util.cache_from_source(str(tmp_path / package / "sub" / "good.py"))).is_file()
    assert not Path(importlib.util.cache_from_source(str(tmp_path / "other.py"))).exists()
    assert compile_sources(tmp_path) == (3, 1)  # again: the current ones are kept
