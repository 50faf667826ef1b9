"""数据导入 on real widgets: the preview table shows every row, the errors in red with
their line numbers and the warnings in amber; 导入 is enabled only without errors; a
call-taker's import is refused in the dialog and writes nothing; a 管理员 loads posts,
roster and grids, after which the console's point-in-grid knows the new grids, and a whole
city's extract (.osm.pbf) — previewed and imported off the GUI thread while a timer on
the GUI thread keeps ticking; a failed city import shows why and changes nothing; the
status-bar button and Ctrl+Shift+I open the screen on the real window."""
from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton

from ui.import_screen import AMBER, RED, ImportScreen

CENTRE = Path(__file__).resolve().parents[1] / "data" / "centre"
OSM_DIR = Path(__file__).resolve().parents[1] / "data" / "osm"
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


def _load(qtbot, dlg: ImportScreen, what: str, path) -> None:
    dlg.load(what, path)
    qtbot.waitUntil(lambda: not dlg.busy, timeout=60_000)


def _import(qtbot, dlg: ImportScreen) -> None:
    qtbot.keyClick(dlg, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not dlg.busy, timeout=60_000)


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
    _load(qtbot, dlg, "roster", bad)
    rows = _rows(dlg)
    assert [r[:2] for r in rows[:2]] == [("3", "错误"), ("4", "错误")]
    assert "无此驻点 不存在" in rows[0][4] and "HH:MM-HH:MM" in rows[1][4]
    assert _colour(dlg, 0) == QColor(RED).name() and _colour(dlg, 1) == QColor(RED).name()
    assert rows[2][:3] == ("2", "新增", "新01")
    assert not dlg.import_btn.isEnabled() and "2 处错误" in dlg.summary.text()
    _import(qtbot, dlg)
    assert _events(app) == before


def test_a_call_taker_is_refused_in_the_dialog_and_nothing_is_written(qtbot, app):
    app.login("demo-calltaker", "demo")
    dlg = _screen(qtbot, app)
    _load(qtbot, dlg, "stations", CENTRE / "stations.csv")
    assert dlg.import_btn.isEnabled() and "新增 4" in dlg.summary.text()
    before = _events(app)
    _import(qtbot, dlg)
    assert "需要管理员权限" in dlg.message.text() and dlg.isVisible()
    assert _events(app) == before


def test_an_administrator_loads_posts_roster_and_grids(qtbot, app, tmp_path):
    app.login("demo-admin", "demo")
    assert app.grid_index.grid_at(121.481, 31.235) != "HP-01"  # the demo lattice, cached
    dlg = _screen(qtbot, app)
    done: list[str] = []
    dlg.imported.connect(done.append)
    for what, name in (("stations", "stations.csv"), ("roster", "roster.csv")):
        _load(qtbot, dlg, what, CENTRE / name)
        assert dlg.import_btn.isEnabled()
        _import(qtbot, dlg)
        assert "已导入" in dlg.message.text() and not dlg.import_btn.isEnabled()
    # the grids, with one more that overlaps HP-01: a warning in amber, not an error
    doc = json.loads((CENTRE / "grids.geojson").read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(doc["features"][0]))
    extra["properties"]["id"] = "HP-09"
    doc["features"].append(extra)
    grids = tmp_path / "grids.geojson"
    grids.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _load(qtbot, dlg, "grids", grids)
    rows = _rows(dlg)
    assert rows[0][1] == "警告" and "HP-01 与网格 HP-09" in rows[0][4] and _colour(dlg, 0) == QColor(AMBER).name()
    assert sum(r[1] == "新增" for r in rows) == 6 and sum(r[1] == "删除" for r in rows) == 36
    assert dlg.import_btn.isEnabled()
    dlg.import_btn.click()
    qtbot.waitUntil(lambda: not dlg.busy, timeout=60_000)
    assert done == ["stations", "roster", "grids"]
    assert app.grid_index.grid_at(121.481, 31.235) in ("HP-01", "HP-09")  # rebuilt from the new grids
    assert app.grid_index.grid_at(121.4655, 31.230) is None


def _state(app) -> tuple:
    with sqlite3.connect(app.settings.data_dir / "dispatch.sqlite3") as c:
        return (c.execute("select count(*) from events").fetchone(),
                c.execute("select count(*), sum(id) from places").fetchone(),
                c.execute("select value from meta where key = 'roads_osm'").fetchone())


class _Ticks:
    """A 10 ms timer on the GUI thread, counting its ticks while the dialog is busy."""

    def __init__(self, dlg: ImportScreen) -> None:
        self.dlg, self.busy, self.idle = dlg, 0, 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        if self.dlg.busy:
            self.busy += 1
        else:
            self.idle += 1


def test_a_city_extract_is_previewed_and_imported_off_the_gui_thread(qtbot, app, tmp_path):
    app.login("demo-admin", "demo")
    extract = tmp_path / "huangpu.osm.pbf"
    shutil.copy(OSM_DIR / "shanghai-huangpu.osm.pbf", extract)
    dlg = _screen(qtbot, app)
    threads: list[threading.Thread] = []
    dlg._progress.said.connect(lambda _: threads.append(threading.current_thread()),
                               Qt.ConnectionType.DirectConnection)  # runs where it is emitted
    done: list[str] = []
    dlg.imported.connect(done.append)
    ticks = _Ticks(dlg)
    dlg.load("city", extract)
    assert dlg.busy and dlg.busy_bar.isVisible() and not dlg.kind.isEnabled()  # returned at once
    qtbot.waitUntil(lambda: not dlg.busy, timeout=60_000)
    assert threads and threading.main_thread() not in threads
    rows = _rows(dlg)
    assert ("—", "统计", "可通行道路", "", "796") in rows and ("—", "统计", "有名道路", "", "147") in rows
    assert not any(r[1] == "错误" for r in rows) and dlg.import_btn.isEnabled()
    assert dlg.admin.isVisible() and dlg.admin.text() == "上海市/黄浦区"
    old_roads = app.roads
    before = ticks.busy
    dlg.import_btn.click()
    assert dlg.busy and not dlg.import_btn.isEnabled()
    qtbot.waitUntil(lambda: not dlg.busy, timeout=60_000)
    assert ticks.busy - before >= 5  # the GUI thread kept ticking during the import
    assert "已导入" in dlg.message.text() and done == ["city"]
    assert app.meta("roads_osm") == str(extract.resolve())
    assert app.roads is not old_roads and app.roads.node_count == old_roads.node_count  # same roads, rebuilt
    assert not dlg.import_btn.isEnabled()
    ticks.timer.stop()


def test_a_failed_city_import_shows_why_and_changes_nothing(qtbot, app, tmp_path):
    app.login("demo-admin", "demo")
    far = tmp_path / "far.osm"
    far.write_text((OSM_DIR.parent / "pedestrian-squares.osm").read_text(encoding="utf-8").replace(
        "</osm>", '<node id="31" lat="52.52" lon="13.405"/><way id="202"><nd ref="31"/><nd ref="1"/>'
        '<tag k="highway" v="residential"/></way></osm>'), encoding="utf-8")
    dlg = _screen(qtbot, app)
    before = _state(app)
    _load(qtbot, dlg, "city", far)
    rows = _rows(dlg)
    assert rows[0][1:3] == ("错误", "node 31") and _colour(dlg, 0) == QColor(RED).name()
    assert not dlg.import_btn.isEnabled() and "1 处错误" in dlg.summary.text()
    _import(qtbot, dlg)
    assert _state(app) == before
    # a good extract that the database refuses at the last write
    with sqlite3.connect(app.settings.data_dir / "dispatch.sqlite3") as c:
        c.execute("create trigger refuse_roads before update on meta when new.key = 'roads_osm' "
                  "begin select raise(abort, 'refused by the test'); end")
    _load(qtbot, dlg, "city", OSM_DIR / "pedestrian-squares.osm.pbf")
    assert dlg.import_btn.isEnabled()
    _import(qtbot, dlg)
    assert "refused by the test" in dlg.message.text() and "没有写入任何数据" in dlg.message.text()
    assert dlg.message.styleSheet() == f"color:{RED}" and dlg.isVisible()
    assert _state(app) == before
    assert dlg.import_btn.isEnabled()  # the preview still holds: it may be tried again


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
