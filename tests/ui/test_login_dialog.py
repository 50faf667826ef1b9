"""The login dialog and the idle lock, as real widgets on a copy of the demo database."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow, QWidget

from dispatch.store import eventlog
from ui.login_dialog import IdleLock, LoginDialog
from tests.ui.window_support import shown


def _last(app) -> int:
    with app.session() as s:
        return eventlog.last_id(s)


def test_the_demo_call_taker_is_offered_and_one_enter_logs_in(qtbot, app):
    d = LoginDialog(app)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    assert (d.name.text(), d.password.text()) == ("demo-calltaker", "demo")
    assert d.password.echoMode() == QLineEdit.EchoMode.Password
    assert isinstance(d.seat, QLabel) and d.seat.text() == app.settings.seat  # shown, not typed
    assert "演示" in d.hint.text()
    with qtbot.waitSignal(d.accepted, timeout=3000):
        qtbot.keyClick(d.password, Qt.Key.Key_Return)
    assert (app.actor.operator, app.actor.role, app.actor.seat) == ("demo-calltaker", "calltaker", app.settings.seat)
    done = app.services.open_call("13800000001")
    with app.session() as s:
        assert eventlog.read(s, since_id=done.last_event_id - 1)[0].operator == "demo-calltaker"


def test_a_wrong_password_says_so_and_changes_nothing(qtbot, app):
    before, last = app.actor, _last(app)
    d = LoginDialog(app)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    d.name.setText("demo-lead")
    d.password.setText("not-the-password")
    qtbot.keyClick(d.password, Qt.Key.Key_Return)
    assert d.isVisible() and "账号或密码错误" in d.error.text()
    assert d.password.text() == "" and app.actor == before and _last(app) == last
    qtbot.keyClicks(d.password, "demo")
    with qtbot.waitSignal(d.accepted, timeout=3000):
        qtbot.keyClick(d.password, Qt.Key.Key_Return)
    assert (app.actor.operator, app.actor.role) == ("demo-lead", "lead")


def test_idle_locks_the_seat_until_someone_logs_in(qtbot, app):
    app.login("demo-calltaker", "demo")
    window = QMainWindow()
    window.setCentralWidget(QWidget())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    seen = []
    lock = IdleLock(app, window, idle_s=0.3, on_login=seen.append)
    qtbot.waitUntil(lambda: lock.dialog is not None and lock.dialog.isVisible(), timeout=5000)
    d = lock.dialog
    assert not window.centralWidget().isVisible()  # nothing of the console behind the lock
    assert d.name.text() == "demo-calltaker" and d.password.text() == ""
    d.reject()  # Esc does not dismiss the lock screen
    assert d.isVisible()
    d.name.setText("demo-dispatcher")  # the next shift takes over the seat
    d.password.setText("demo")
    qtbot.keyClick(d.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lock.dialog is None, timeout=3000)
    assert window.centralWidget().isVisible()
    assert [a.operator for a in seen] == ["demo-dispatcher"] and app.services.ctx.actor.role == "dispatcher"


def test_input_keeps_the_seat_unlocked(qtbot, app):
    from PySide6.QtTest import QTest

    app.login("demo-calltaker", "demo")
    window = QMainWindow()
    window.setCentralWidget(QLineEdit())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    lock = IdleLock(app, window, idle_s=0.6)
    handle = window.windowHandle()
    for _ in range(12):  # 1.2 s of typing, as the platform delivers it (through the window)
        QTest.keyClick(handle, Qt.Key.Key_A)
        qtbot.wait(100)
        assert lock.dialog is None
    qtbot.waitUntil(lambda: lock.dialog is not None, timeout=3000)  # then idle: locked
    lock.dialog.password.setText("demo")
    qtbot.keyClick(lock.dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lock.dialog is None, timeout=3000)


def _seat_with_a_dialog(qtbot, app, idle_s: float):  # noqa: ANN001, ANN202
    """A console window guarded as the console's (guard_seat: idle lock, Ctrl+L) and a
    second window of the console open beside it (as the search or a fraud panel is)."""
    from PySide6.QtWidgets import QDialog, QVBoxLayout

    from ui.app import guard_seat
    from dataclasses import replace
    app.login("demo-calltaker", "demo")
    app.settings = replace(app.settings, idle_lock_s=idle_s)
    window = QMainWindow()
    window.setCentralWidget(QLineEdit())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    guard_seat(window, app)
    dialog = QDialog(window)
    field = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(field)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    field.setFocus()
    return window, dialog, field


def test_typing_in_another_window_of_the_console_keeps_the_seat_unlocked(qtbot, app):
    """QA: the idle timer counted the main window's input only; a call-taker typing in
    the search or a 紧急止付 form was locked out mid-entry."""
    from PySide6.QtTest import QTest

    window, dialog, field = _seat_with_a_dialog(qtbot, app, idle_s=0.6)
    lock = window.idle_lock
    lock._focus_changed(dialog.windowHandle())  # (what focusing it does on a real screen)
    for _ in range(12):  # 1.2 s of typing in the dialog, through its own native window
        QTest.keyClick(dialog.windowHandle(), Qt.Key.Key_A)
        qtbot.wait(100)
        assert lock.dialog is None
    qtbot.waitUntil(lambda: lock.dialog is not None, timeout=3000)  # then idle: locked


def test_the_lock_covers_the_other_windows_and_keeps_what_they_hold(qtbot, app):
    """QA: the lead view and the search stayed on screen over the lock prompt (callers'
    names and numbers); Ctrl+L did nothing with the focus in a dialog."""
    window, dialog, field = _seat_with_a_dialog(qtbot, app, idle_s=0)
    field.setText("13800001111 张三")
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    qtbot.keyClick(field, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Ctrl+L inside the dialog
    lock = window.idle_lock
    qtbot.waitUntil(lambda: lock.dialog is not None, timeout=3000)
    covers = dialog.findChildren(QLabel, "lockCover")
    assert covers and covers[0].isVisible() and covers[0].geometry() == dialog.rect()
    assert dialog.isVisible() and field.text() == "13800001111 张三"  # covered, not closed
    lock.dialog.password.setText("demo")
    qtbot.keyClick(lock.dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lock.dialog is None, timeout=3000)
    qtbot.waitUntil(lambda: not [c for c in dialog.findChildren(QLabel, "lockCover") if c.isVisible()],
                    timeout=3000)
    assert field.text() == "13800001111 张三"


def test_enter_logs_in_after_a_wrong_password_sent_from_the_button(qtbot, app):
    """QA round 2: Tab to 登录 and Enter with a wrong password; then the right password and
    Enter did nothing (the button had taken the default away with the focus)."""
    d = shown(qtbot, LoginDialog(app))
    d.name.setText("demo-calltaker")
    d.password.setText("wrong")
    d.password.setFocus()
    qtbot.keyClick(d.password, Qt.Key.Key_Tab)
    assert d.focusWidget() is d.login_button
    qtbot.keyClick(d.login_button, Qt.Key.Key_Return)
    assert d.error.text() and d.focusWidget() is d.password and d.isVisible()
    d.password.setText("demo")
    qtbot.keyClick(d.password, Qt.Key.Key_Return)
    assert not d.isVisible() and d.actor.operator == "demo-calltaker"
