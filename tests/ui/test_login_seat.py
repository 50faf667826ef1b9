"""The console's seat guard on the real main window: Ctrl+L locks, the next shift logs
in, the outgoing operator's open incidents pass to it (交接班), the title follows."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.services import queries
from tests.ui.window_support import open_window
from ui.app import guard_seat


def test_ctrl_l_locks_and_the_next_shift_takes_over(qtbot, app):
    app.login("demo-calltaker", "demo")
    mine = app.services.open_call("13800000006").incident_id
    w = open_window(qtbot, app)
    guard_seat(w, app)
    assert "demo-calltaker（接警员）" in w.windowTitle() and app.settings.seat in w.windowTitle()
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.idle_lock.dialog is not None and w.idle_lock.dialog.isVisible(), timeout=3000)
    assert not w.centralWidget().isVisible()
    d = w.idle_lock.dialog
    d.name.setText("demo-dispatcher")
    d.password.setText("demo")
    qtbot.keyClick(d.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.idle_lock.dialog is None, timeout=3000)
    assert w.centralWidget().isVisible()
    assert "demo-dispatcher（调度员）" in w.windowTitle()
    assert "交接班" in w.statusBar().currentMessage() and "1 起" in w.statusBar().currentMessage()
    with app.session() as s:
        assert queries.incident(s, mine).operator == "demo-dispatcher"


def test_the_demo_opens_with_one_enter_and_a_database_without_accounts_with_none(qtbot, app, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings
    from ui.app import log_in_at_start

    def press_enter() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None:
            QTimer.singleShot(5000, lambda: dialog.isVisible() and dialog.done(0))  # never hang the run
            qtbot.keyClick(dialog.password, Qt.Key.Key_Return)

    QTimer.singleShot(300, press_enter)
    assert log_in_at_start(app)
    assert (app.actor.operator, app.actor.role) == ("demo-calltaker", "calltaker")
    bare = bootstrap(Settings(data_dir=tmp_path / "bare", load_demo=False))
    assert log_in_at_start(bare) and bare.actor.role is None  # no dialog: nothing to log in to
    bare.engine.dispose()
