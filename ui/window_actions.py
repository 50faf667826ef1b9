"""How the extra screens hang on the main window: a window-wide key, a screen whose module
loads only when its key is first pressed, a status-bar button, an action for the incident
in hand, a dialog kept on top, and the submit/cancel buttons every dialog has (Ctrl+Enter
submits, Esc cancels)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QWidget

from dispatch.domain.errors import DispatchError


def on_key(window: QWidget, keys: str, slot: Callable[[], Any]) -> QShortcut:
    """`keys` anywhere in the window runs `slot`."""
    sc = QShortcut(QKeySequence(keys), window)
    sc.setContext(Qt.ShortcutContext.WindowShortcut)
    sc.activated.connect(slot)
    return sc


def on_demand(window: Any, module: str, opener: str, keys: str) -> None:
    """A screen whose module is imported when it is first wanted, not at start: `keys`, or
    a call of `window.<opener>()`, imports `module` and runs its `attach(window)` — which
    binds `keys` and sets `window.<opener>` itself — then opens it."""
    state: dict[str, Any] = {"placeholder": None}

    def attached() -> Callable[[], Any]:
        placeholder = state.pop("placeholder", None)
        if placeholder is not None:  # unbound first, or the screen's own key would be ambiguous
            placeholder.setKey(QKeySequence())
            placeholder.setEnabled(False)
            placeholder.deleteLater()
            importlib.import_module(module).attach(window)
        real = getattr(window, opener)
        if real is open_screen:
            raise RuntimeError(f"{module}.attach() did not set window.{opener}")
        return real

    def open_screen() -> Any:
        return attached()()

    state["placeholder"] = on_key(window, keys, open_screen)
    setattr(window, opener, open_screen)


def status_button(window: Any, text: str, tooltip: str, slot: Callable[[], Any]) -> QPushButton:
    """A flat button at the right of the status bar (never takes the keyboard)."""
    button = QPushButton(text)
    button.setFlat(True)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setToolTip(tooltip)
    button.clicked.connect(slot)
    window.statusBar().addPermanentWidget(button)
    return button


def show_kept(window: Any, widget: QWidget, attr: str) -> None:
    """Show a dialog or panel the window keeps until it closes (window.<attr> names it)."""
    setattr(window, attr, widget)
    window._keep(widget)
    widget.raise_()
    widget.activateWindow()


def for_incident(window: Any, missing: str, action: Callable[[int], Any]) -> Callable[[], None]:
    """An action on the incident in hand (or the one selected); `missing` says what to do
    when there is none."""
    def run() -> None:
        iid = window._selected_incident()
        if iid is None:
            window._on_message(missing)
            return
        action(iid)
    return run


def submit_buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """OK (`ok_text`, Ctrl+Enter) and 取消 (Esc) wired to the dialog's accept/reject."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(f"{ok_text} (Ctrl+Enter)")
    ok.setAutoDefault(False)
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消 (Esc)")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        QShortcut(QKeySequence(keys), dialog).activated.connect(dialog.accept)
    return buttons


def attempt(widget: QWidget, error: QLabel, action: Callable[..., Any], *args: Any) -> bool:
    """Run a service action from a dialog or panel: a refusal is shown in `error` and changes
    nothing; on success the error clears and the window's follower reads the log at once."""
    try:
        action(*args)
    except DispatchError as exc:
        error.setText(str(exc))
        return False
    error.setText("")
    parent = widget.parent()
    if parent is not None and hasattr(parent, "follower"):
        parent.follower.poll()
    return True


def incident_dialog(window: Any, keys: str, attr: str, missing: str, make: Callable[[int], QDialog],
                    said: Callable[[Any, int], str]) -> Callable[[], None]:
    """`keys` opens the dialog `make(incident id)` for the incident in hand (window-modal);
    once it is accepted the status bar says `said(dialog, incident id)`."""
    def open_dialog(iid: int) -> None:
        dlg = make(iid)
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.accepted.connect(lambda: window._on_message(said(dlg, iid)))
        show_kept(window, dlg, attr)

    run = for_incident(window, missing, open_dialog)
    on_key(window, keys, run)
    return run
