"""The start does not read the source of every module imported after PySide6 (PySide's
`__feature__` scan): modules outside `ui` are marked as not using PySide unread, `ui`
modules are still scanned, and calling it twice wraps once."""
from __future__ import annotations

import sys

import PySide6.QtCore  # noqa: F401  (installs PySide's import hook)

from ui.app import skip_pyside_source_scan


def test_non_ui_modules_are_not_read_and_ui_modules_still_are(monkeypatch):
    import inspect

    import ui.main_window

    feature = sys.modules["shibokensupport.feature"]
    skip_pyside_source_scan()
    wrapped = feature._mod_uses_pyside
    skip_pyside_source_scan()
    assert feature._mod_uses_pyside is wrapped  # wrapped once
    read: list[str] = []
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda m: read.append(m.__name__) or real(m))
    import sqlalchemy.orm
    assert feature._mod_uses_pyside(sqlalchemy.orm) is False and read == []
    assert feature._mod_uses_pyside(ui.main_window) is True and read == ["ui.main_window"]
