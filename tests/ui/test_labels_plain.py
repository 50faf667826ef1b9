"""What people typed is shown as typed: every label of the console is plain text, so a
place, a name or a note written as markup (`<img src=x onerror=...>`, `<font size=1>`)
cannot draw an image, hide words or fake a link in the intake, its bars and dialogs."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.ui.window_support import open_window

MARKUP = "<img src=x onerror=alert(1)><b>粗</b>"


def test_every_label_of_the_console_is_plain_text(qtbot, app):
    w = open_window(qtbot, app)
    labels = w.findChildren(QLabel)
    assert len(labels) > 20
    # (a form's row captions are fixed words the layout made: left as Qt made them)
    rich = [(lb.objectName() or type(lb.parent()).__name__, lb.text()[:30]) for lb in labels
            if lb.textFormat() != Qt.TextFormat.PlainText and lb.buddy() is None]
    assert rich == []


def test_markup_typed_as_a_place_is_shown_literally(qtbot, app):
    w = open_window(qtbot, app)
    w.intake.new_call()
    bar = w.intake.place_box.proposal
    bar.offer(MARKUP, 121.4737, 31.2304, "人民广场附近")  # the 地名补录 offer after a map click
    assert MARKUP in bar.text.text() and bar.text.textFormat() == Qt.TextFormat.PlainText
    w.intake.show_error(f"“{MARKUP}”只有部分匹配的地点")
    assert w.intake.error.text().startswith(f"“{MARKUP}")
    assert w.intake.error.textFormat() == Qt.TextFormat.PlainText
