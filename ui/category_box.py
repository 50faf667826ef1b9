"""The category box of the intake: ↑↓ or pinyin typed ('jf' or 'jiufen' → 矛盾纠纷)
only move through the categories; Enter confirms (`confirmed`), and leaving the box
says so (`left`), so the intake writes one 定性 event per decision, not per step."""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QComboBox, QWidget

from dispatch.domain.incidents import CATEGORIES
from dispatch.geo.pinyin_keys import readings

TYPEAHEAD_RESET_MS = 1500


def category_keys() -> list[tuple[str, str, str]]:
    """(code, initials, full pinyin) of each category label."""
    out = []
    for c in CATEGORIES:
        syl = [readings(ch)[0] for ch in c.label if "\u4e00" <= ch <= "\u9fff"]
        out.append((c.code, "".join(s[:1] for s in syl), "".join(syl)))
    return out


class CategoryBox(QComboBox):
    """Item data: the category code ('' for none chosen)."""

    confirmed = Signal()
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem("（请选择类别）", "")
        for c in CATEGORIES:
            self.addItem(f"{c.group} · {c.label}", c.code)
        self._keys: list[tuple[str, str, str]] = []  # pinyin keys, made at the first typed letter
        self._typed, self._typed_at = "", QElapsedTimer()

    def select(self, code: str) -> None:
        self.setCurrentIndex(max(0, self.findData(code or "")))

    def _type_ahead(self, text: str) -> None:
        """Prefix of the initials or the full pinyin first, then anywhere in them."""
        if not self._typed_at.isValid() or self._typed_at.elapsed() > TYPEAHEAD_RESET_MS:
            self._typed = ""
        self._typed += text.lower()
        self._typed_at.start()
        if not self._keys:
            self._keys = category_keys()
        for match in (str.startswith, str.__contains__):
            for code, initials, full in self._keys:
                if match(initials, self._typed) or match(full, self._typed):
                    self.select(code)
                    return

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        text = event.text()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirmed.emit()
        elif len(text) == 1 and text.isascii() and text.isalpha() \
                and not event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier:
            self._type_ahead(text)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.left.emit()
