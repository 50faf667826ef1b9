"""数据导入 on real widgets: the preview table shows every row, the errors in red with
their line numbers and the warnings in amber; 导入 is enabled only without errors; a
call-taker's import is refused in the dialog and writes nothing; a 管理员 loads posts,
roster and grids, after which the console's point-in-grid knows the new grids; the
status-bar button and Ctrl+Shift+I open the screen on the real window."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton

from ui.import_screen import AMBER, RED, ImportScreen

CENTRE = Path(__file__).resolve().parents[1] / "data" / "centre"
HEADER = "callsign,kind,station,duty,leader,phone,members,terminal,auth_code\n"


def _events(app) -> int:
    with sqlite3.connect(app.settings.data_dir / "dispatch.sqlite3") as c:
        return c.execute("select count(*) from events").fetchone()[0]


def _screen(qtbot, app) -> ImportScreen:
    dlg = ImportScreen(app)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitUntil(dlg.isActiveWindow)  # Ctrl+Enter is the dialog's shortcut
    return dlg


def _rows(dlg: ImportScreen) -> list[tuple[str, ...]]:
    t = dlg.table
    return [tuple(t.item(r, c).text() for c in range(t.columnCount())) for r in range(t.rowCount())]


def _colour(dlg: ImportScreen, row: int) -> str:
    return dlg.table.item(row, 4).foreground().color().name()


def test_errors_are_red_with_their_lines_and_import_stays_disabled(qtbot, app, tmp_path):
    app.login("demo-admin", "demo")
    bad = tmp_path / "roster.csv"
    bad.write_text(HEADER + "新01,patrol_car,淮海中路警务站,,,,2,,\n新02,patrol_car,无此驻点,,,,2,,\n"
                   "新03,foot_patrol,淮海中路警务站,9-10,,,1,,\n", encoding="utf-8")
    dlg = _screen(qtbot, app)
    before = _events(app)
    dlg.load("roster", bad)
    rows = _rows(dlg)
    assert [r[:2] for r in rows[:2]] == [("3", "错误"), ("4", "错误")]
    assert "无此驻点 不存在" in rows[0][4] and "HH:MM-HH:MM" in rows[1][4]
    assert _colour(dlg, 0) == QColor(RED).name() and _colour(dlg, 1) == QColor(RED).name()
    assert rows[2][:3] == ("2", "新增", "新01")
    assert not dlg.import_btn.isEnabled() and "2 处错误" in dlg.summary.text()
    qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert _events(app) == before


def test_a_call_taker_is_refused_in_the_dialog_and_nothing_is_written(qtbot, app):
    app.login("demo-calltaker", "demo")
    dlg = _screen(qtbot, app)
    dlg.load("stations", CENTRE / "stations.csv")
    assert dlg.import_btn.isEnabled() and "新增 4" in dlg.summary.text()
    before = _events(app)
    qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "需要管理员权限" in dlg.message.text() and dlg.isVisible()
    assert _events(app) == before


def test_an_administrator_loads_posts_roster_and_grids(qtbot, app, tmp_path):
    app.login("demo-admin", "demo")
    assert app.grid_index.grid_at(121.481, 31.235) != "HP-01"  # the demo lattice, cached
    dlg = _screen(qtbot, app)
    done: list[str] = []
    dlg.imported.connect(done.append)
    for what, name in (("stations", "stations.csv"), ("roster", "roster.csv")):
        dlg.load(what, CENTRE / name)
        assert dlg.import_btn.isEnabled()
        qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert "已导入" in dlg.message.text() and not dlg.import_btn.isEnabled()
    # the grids, with one more that overlaps HP-01: a warning in amber, not an error
    doc = json.loads((CENTRE / "grids.geojson").read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(doc["features"][0]))
    extra["properties"]["id"] = "HP-09"
    doc["features"].append(extra)
    grids = tmp_path / "grids.geojson"
    grids.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    dlg.load("grids", grids)
    rows = _rows(dlg)
    assert rows[0][1] == "警告" and "HP-01 与网格 HP-09" in rows[0][4] and _colour(dlg, 0) == QColor(AMBER).name()
    assert sum(r[1] == "新增" for r in rows) == 6 and sum(r[1] == "删除" for r in rows) == 36
    assert dlg.import_btn.isEnabled()
    dlg.import_btn.click()
    assert done == ["stations", "roster", "grids"]
    assert app.grid_index.grid_at(121.481, 31.235) in ("HP-01", "HP-09")  # rebuilt from the new grids
    assert app.grid_index.grid_at(121.4655, 31.230) is None


def test_status_bar_button_and_shortcut_open_the_screen(qtbot, app):
    from tests.ui.window_support import open_window
    app.login("demo-admin", "demo")
    w = open_window(qtbot, app)  # the window attaches the import screen itself
    buttons = [b for b in w.statusBar().findChildren(QPushButton) if b.text() == "数据导入…"]
    assert len(buttons) == 1
    qtbot.keyClick(w, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(w, "import_screen", None) is not None and w.import_screen.isVisible())
    w.import_screen.close()
    buttons[0].click()
    qtbot.waitUntil(lambda: w.import_screen.isVisible())
