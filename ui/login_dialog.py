"""登录 at start, and the lock after idle: account and password at this workstation's
seat (shown, not editable). Enter logs in; a wrong password says so and changes
nothing. Once locked (idle, or Ctrl+L), the console's content is hidden until an
account logs in again (the same operator, or the next one taking over the seat)."""
from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QWidget)

from dispatch.bootstrap import App
from dispatch.domain.errors import DispatchError
from dispatch.domain.roles import parse_role
from dispatch.services.accounts import demo_login
from dispatch.services.context import Actor


class LoginDialog(QDialog):
    """Log `app` in (App.login). `locked` makes it the lock screen: it cannot be dismissed."""

    def __init__(self, app: App, locked: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app, self.locked = app, locked
        self.setWindowTitle("已锁定 — 请重新登录" if locked else "登录 — 110 接处警调度台")
        self.setModal(True)
        self.setMinimumWidth(420)
        self.seat = QLabel(app.settings.seat)
        self.seat.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.seat.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.name = QLineEdit()
        self.name.setPlaceholderText("账号")
        self.password = QLineEdit()
        self.password.setPlaceholderText("密码")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.hint = QLabel("")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #c0392b;")
        buttons = QDialogButtonBox()
        self.login_button = buttons.addButton("登录 (Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.login_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        if not locked:
            quit_button = buttons.addButton("退出 (Esc)", QDialogButtonBox.ButtonRole.RejectRole)
            quit_button.setAutoDefault(False)
            buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        if locked:
            locked = QLabel(f"席位已锁定（{app.actor.operator}）：本人或接班人员登录后继续")
            locked.setTextFormat(Qt.TextFormat.PlainText)
            form.addRow(locked)
        form.addRow("席位", self.seat)
        form.addRow("账号", self.name)
        form.addRow("密码", self.password)
        form.addRow(self.hint)
        form.addRow(self.error)
        form.addRow(buttons)
        for field in (self.name, self.password):  # Enter in a field always logs in (see eventFilter)
            field.installEventFilter(self)
        demo = demo_login(app.store)
        if locked:
            self.name.setText(app.actor.operator)
            self.password.setFocus()
        elif demo:
            self.name.setText(demo[0])
            self.password.setText(demo[1])
            self.hint.setText("演示数据库：已填入演示接警员账号，按 Enter 登录")
            self.password.setFocus()
        else:
            self.name.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        # A button that had the focus (Tab to 登录) takes the default with it when the focus
        # leaves: Enter in the password then did nothing (QA). Back in a field, 登录 is the
        # default again.
        if event.type() == QEvent.Type.FocusIn and obj in (self.name, self.password):
            self.login_button.setDefault(True)
        return False

    def accept(self) -> None:
        """Log in, or say why not and stay (the app keeps its previous operator)."""
        try:
            actor = self.app.login(self.name.text(), self.password.text())
        except DispatchError as exc:
            self.error.setText(str(exc))
            self.password.clear()
            self.password.setFocus()
            return
        self.error.setText("")
        self.actor = actor
        super().accept()

    def reject(self) -> None:
        if not self.locked:  # the lock screen stays until someone logs in
            super().reject()


def describe(actor: Actor) -> str:
    """"demo-lead（值班长）" for titles and the status bar."""
    return f"{actor.operator}（{parse_role(actor.role).label}）" if actor.role else actor.operator


class IdleLock(QObject):
    """Locks `window` after `idle_s` seconds without keyboard or mouse input in any window
    of the console (the search, a fraud panel, replay, the lead view: input there is work
    at the seat too), and on lock_now() (Ctrl+L): its content is hidden behind a
    LoginDialog(locked=True) and every other window of the console is covered (not
    closed: a half-filled form is still there after the login); `on_login(actor)` is
    called once someone has logged in again."""

    INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel}

    def __init__(self, app: App, window: QWidget, idle_s: float,
                 on_login: Callable[[Actor], None] | None = None) -> None:
        # The input is watched on the window's native QWindow, through which every key
        # and mouse event of the window passes before its widgets get it. (A filter on
        # the whole QApplication would also see objects being destroyed, which PySide
        # cannot wrap safely.) The window owns this object; only a weak reference back.
        super().__init__(window)
        self.app, self.idle_s, self.on_login = app, idle_s, on_login
        self._window = weakref.ref(window)
        self.dialog: LoginDialog | None = None
        self._last = time.monotonic()
        window.winId()  # the native window exists from here on
        self._watched: weakref.WeakSet = weakref.WeakSet()
        self._watch(window.windowHandle() or window)
        # every other window (a dialog, replay) is watched from the moment it has the focus
        QGuiApplication.instance().focusWindowChanged.connect(self._focus_changed)
        self._covers: list[weakref.ReferenceType] = []
        self.timer = QTimer(self)
        self.timer.setInterval(int(min(5.0, max(0.05, idle_s / 4)) * 1000))
        self.timer.timeout.connect(self._check)
        if idle_s > 0:
            self.timer.start()

    def _watch(self, obj: QObject) -> None:
        if obj not in self._watched:
            self._watched.add(obj)
            obj.installEventFilter(self)

    def _focus_changed(self, focused: QWindow | None) -> None:
        if focused is not None:
            self._watch(focused)
            if self.dialog is None:
                self._last = time.monotonic()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in self.INPUT and self.dialog is None:
            self._last = time.monotonic()
        return False

    def _check(self) -> None:
        if self.dialog is None and time.monotonic() - self._last >= self.idle_s:
            self.lock_now()

    def lock_now(self) -> None:
        if self.dialog is not None:
            return
        window = self._window()
        if window is None:
            return
        content = self._content()
        if content is not None:
            content.setVisible(False)
        self._cover_others(window)
        self.dialog = LoginDialog(self.app, locked=True, parent=window)
        self.dialog.accepted.connect(self._unlocked)
        self.dialog.open()

    def _content(self) -> QWidget | None:
        central = getattr(self._window(), "centralWidget", None)
        return central() if callable(central) else None

    def _cover_others(self, window: QWidget) -> None:
        """An opaque sheet over each other visible window of the console: callers' names
        and numbers are not left on screen, and nothing there can be clicked."""
        for other in QApplication.topLevelWidgets():
            if other is window or not other.isVisible() or isinstance(other, LoginDialog):
                continue
            cover = QLabel("已锁定 — 请在主窗口登录", other)
            cover.setObjectName("lockCover")
            cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cover.setAutoFillBackground(True)
            cover.setStyleSheet("QLabel#lockCover { background: #0d1117; color: #8b949e; font-size: 16px; }")
            cover.setGeometry(other.rect())
            cover.show()
            cover.raise_()
            self._covers.append(weakref.ref(cover))

    def _uncover(self) -> None:
        for ref in self._covers:
            cover = ref()
            if cover is not None:
                cover.hide()
                cover.deleteLater()
        self._covers = []

    def _unlocked(self) -> None:
        actor = self.dialog.actor
        self.dialog.deleteLater()
        self.dialog = None
        self._uncover()
        content = self._content()
        if content is not None:
            content.setVisible(True)
        self._last = time.monotonic()
        if self.on_login is not None:
            self.on_login(actor)
