"""What the start leaves for later (issue 13, item 4): screens opened by a key alone load
their module at the first press — and the key then keeps working, once, not ambiguously —
and the warm-up begins once the map is drawn (or 1.5 s at the latest)."""
from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from tests.ui.window_support import open_window
from ui.app import once_map_drawn, once_signalled
from ui.main_window import ON_DEMAND

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def test_the_window_loads_no_on_demand_screen(tmp_path, demo_template):
    import shutil

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    code = ("import sys; import PySide6.QtWebEngineWidgets; from PySide6.QtWidgets import QApplication; "
            "qt = QApplication([]); from dispatch.bootstrap import bootstrap; from dispatch.settings import Settings; "
            "from pathlib import Path; from ui.main_window import MainWindow, ON_DEMAND; "
            f"w = MainWindow(bootstrap(Settings(data_dir=Path({str(tmp_path)!r})))); "
            "print(sorted(m for m, _, _ in ON_DEMAND if m in sys.modules), 'ui.close_dialog' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[] False"


def test_an_on_demand_key_opens_its_screen_every_time(qtbot, app):
    w = open_window(qtbot, app)
    for _ in range(2):  # the first press loads the module; the second goes to the key it bound
        qtbot.keyClick(w, Qt.Key.Key_R, CTRL_SHIFT)
        qtbot.waitUntil(lambda: getattr(w, "referral_list", None) is not None and w.referral_list.isVisible())
        w.referral_list.close()
        qtbot.waitUntil(lambda: not w.referral_list.isVisible())
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)


def test_every_on_demand_opener_is_there_before_its_module(qtbot, app):
    w = open_window(qtbot, app)
    for _module, opener, _keys in ON_DEMAND:
        assert callable(getattr(w, opener))
    w.open_callback_list()  # a call of the opener loads the module too
    qtbot.waitUntil(lambda: getattr(w, "callback_list", None) is not None and w.callback_list.isVisible())
    first = w.open_callback_list
    w.callback_list.close()
    w.open_callback_list()
    assert w.open_callback_list is first  # attached once


def test_the_warm_up_waits_for_the_map_and_runs_once(qtbot, app):
    w = open_window(qtbot, app)
    ran = []
    if not w.map.is_ready:
        once_map_drawn(w, lambda: ran.append(w.map.is_ready), latest_ms=60_000)
        qtbot.wait(10)
        assert ran == []
        qtbot.waitUntil(lambda: ran == [True], timeout=60_000)
        w.map.ready.emit()  # a second ready (a reloaded page) does not run it again
        qtbot.wait(20)
        assert ran == [True]
    once_map_drawn(w, lambda: ran.append("drawn already"), latest_ms=60_000)
    qtbot.waitUntil(lambda: ran[-1] == "drawn already")


def test_the_warm_up_runs_at_the_latest_after_its_limit(qtbot):
    never = QTimer()  # a signal that is never emitted
    owner = QWidget()
    qtbot.addWidget(owner)
    ran = []
    once_signalled(never.timeout, lambda: ran.append(1), owner, latest_ms=200)
    qtbot.wait(20)
    assert ran == []
    qtbot.waitUntil(lambda: ran == [1], timeout=3000)
    qtbot.wait(250)
    assert ran == [1]
