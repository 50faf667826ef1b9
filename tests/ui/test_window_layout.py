"""The window fits a 1920x1080 screen whatever the intake shows (review finding 12), and
the training banner is a coloured bar across the top; Qt's own menus are in Chinese
(finding 11)."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QLineEdit, QMenu

from dispatch.services.locations import Location
from ui.main_window import MainWindow

SCREEN_H = 1080
FRAME_H = 40  # title bar and borders of a window manager, generously


def _duplicates(app, n: int = 5) -> int:
    """n open calls at one junction in the last minutes; returns a new one located there."""
    where = Location("福州路与西藏中路交叉口", 121.4765, 31.2335, kind="intersection",
                     admin=["上海市", "黄浦区", "南京东路街道"])
    for i in range(n):
        iid = app.services.open_call(f"1390000000{i}", f"来电人{i}").incident_id
        app.services.locate(iid, where)
        app.services.categorise(iid, "dispute", narrative="两人在路口争吵，一方称被打，围观群众很多，" * 3)
    iid = app.services.open_call("13911112222").incident_id
    app.services.locate(iid, where)
    return iid


def test_window_fits_the_screen_with_warnings_and_training_banner(qtbot, app):
    object.__setattr__(app, "settings", replace(app.settings, training=True))
    iid = _duplicates(app)
    w = MainWindow(app)
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    w._on_incident_clicked(iid)
    w.intake.error.setText("该地点 300 米内 2 小时内有 5 起未结警情，可能是重复报警：" + "警情 1、" * 150)
    qtbot.wait(100)
    assert w.intake.history_label.text(), "the duplicate warning is shown"
    # the intake scrolls inside its pane (the window does not grow with its warnings)
    assert w.intake_scroll.widget() is w.intake
    assert w.minimumSizeHint().height() <= SCREEN_H - FRAME_H
    assert w.minimumHeight() <= SCREEN_H - FRAME_H
    assert w.height() <= SCREEN_H
    bar = w.statusBar()
    assert bar.isVisible() and bar.geometry().bottom() <= w.height()
    # the banner: a bar across the top of the window, not a status-bar message
    assert w.banner is not None and w.banner.isVisible()
    top_left = w.banner.mapTo(w, QPoint(0, 0))
    assert top_left.y() <= w.menuWidget().height() if w.menuWidget() else top_left.y() <= 2
    assert w.banner.width() >= w.width() - 4
    assert w.banner.parent() is not bar and not bar.isAncestorOf(w.banner)
    w.grab().save("/tmp/u1-layout-training.png")


def test_qt_menus_are_chinese(qtbot, app):
    edit = QLineEdit("福州路")
    qtbot.addWidget(edit)
    menu = edit.createStandardContextMenu()
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert any("撤消" in t or "撤销" in t for t in texts) and any("粘贴" in t for t in texts), texts
    assert not any(t.startswith(("Undo", "Paste", "Copy", "Cut")) for t in texts), texts


def _menu_texts(menu: QMenu) -> list[str]:
    out = [menu.title()]
    for a in menu.actions():
        if a.isSeparator():
            continue
        out.append(a.text())
        if a.menu():
            out += _menu_texts(a.menu())
    return [t for t in out if t]


def test_chart_menus_have_no_english(qtbot):
    from datetime import datetime, timedelta, timezone

    from dispatch.replay.stats import compute_stats
    from dispatch.settings import Targets
    from ui.timeline.stats_view import StatsView

    t0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    view = StatsView(compute_stats([], Targets(), t0, t0 + timedelta(hours=8)))
    qtbot.addWidget(view)
    import pyqtgraph as pg
    charts = view.findChildren(pg.PlotWidget)
    assert charts
    item = charts[0].getPlotItem()
    texts = _menu_texts(item.vb.menu) + _menu_texts(item.ctrlMenu)
    texts += [a.text() for a in item.scene().contextMenu]
    assert "显示全部" in texts and "导出…" in texts, texts
    english = [t for t in texts if any("a" <= ch.lower() <= "z" for ch in t.replace("X", "").replace("Y", "")
                                       .replace("FFT", ""))]
    assert english == [], english
