"""The category box of the intake: ↑↓ or pinyin typed ('jf' or 'jiufen' → 矛盾纠纷)
only move through the categories; Enter confirms (`confirmed`), and leaving the box
says so (`left`), so the intake writes one 定性 event per decision, not per step.

The letters typed are shown at the right of the box while they count. Letters that
match no category keep the choice the box had before they were typed and say
「…」无匹配类别 until the next key; Enter then confirms nothing."""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QComboBox, QLabel, QStyle, QStyleOptionComboBox, QWidget

from dispatch.domain.incidents import CATEGORIES
from dispatch.geo.pinyin_keys import readings

TYPEAHEAD_RESET_MS = 1500
NO_MATCH = "无匹配类别"
_TYPED_STYLE = "background:#161b22; color:#79c0ff; padding:0 4px"
_NO_MATCH_STYLE = "background:#161b22; color:#ff7b72; font-weight:bold; padding:0 4px"


def category_keys() -> list[tuple[str, str, str]]:
    """(code, initials, full pinyin) of each category label."""
    out = []
    for c in CATEGORIES:
        syl = [readings(ch)[0] for ch in c.label if "\u4e00" <= ch <= "\u9fff"]
        out.append((c.code, "".join(s[:1] for s in syl), "".join(syl)))
    return out


class CategoryBox(QComboBox):
    """Item data: the category code ('' for none chosen). `no_match` is True while the
    box says that the letters typed matched nothing."""

    confirmed = Signal()
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem("（请选择类别）", "")
        for c in CATEGORIES:
            self.addItem(f"{c.group} · {c.label}", c.code)
        self._keys: list[tuple[str, str, str]] = []  # pinyin keys, made at the first typed letter
        self._typed, self._typed_at = "", QElapsedTimer()
        self._before = ""       # the choice when the letters being typed began
        self.no_match = False
        self.typed_label = QLabel(self)  # over the right end of the box, left of the arrow
        self.typed_label.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.typed_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.typed_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.typed_label.hide()
        self._fade = QTimer(self)   # the letters go when they stop counting; a no-match stays
        self._fade.setSingleShot(True)
        self._fade.setInterval(TYPEAHEAD_RESET_MS)
        self._fade.timeout.connect(lambda: None if self.no_match else self._end_typing())
        self.activated.connect(lambda _i: self._end_typing())  # a choice from the popup

    def select(self, code: str) -> None:
        self._end_typing()
        self.setCurrentIndex(max(0, self.findData(code or "")))

    def _type_ahead(self, text: str) -> None:
        """Prefix of the initials or the full pinyin first, then anywhere in them; no
        match: back to the choice before the letters, and say so."""
        if not self._typed_at.isValid() or self._typed_at.elapsed() > TYPEAHEAD_RESET_MS:
            self._typed = ""
            self._before = self.currentData() or ""
        self._typed += text.lower()
        self._typed_at.start()
        self._fade.start()
        if not self._keys:
            self._keys = category_keys()
        code = next((code for match in (str.startswith, str.__contains__) for code, initials, full in self._keys
                     if match(initials, self._typed) or match(full, self._typed)), None)
        self.no_match = code is None
        self.setCurrentIndex(max(0, self.findData(self._before if code is None else code)))
        if code is None:
            self._show_typed(f"「{self._typed}」{NO_MATCH}", _NO_MATCH_STYLE)
        else:
            self._show_typed(f"拼音 {self._typed}", _TYPED_STYLE)

    def _show_typed(self, text: str, style: str) -> None:
        self.typed_label.setText(text)
        self.typed_label.setStyleSheet(style)
        self.typed_label.setToolTip(text)
        self._place_typed()
        self.typed_label.show()
        self.typed_label.raise_()

    def _place_typed(self) -> None:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        arrow = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                            QStyle.SubControl.SC_ComboBoxArrow, self)
        right = arrow.left() if arrow.isValid() and arrow.left() > 0 else self.width() - 4
        width = min(self.typed_label.sizeHint().width(), max(0, right - 4) * 2 // 3)
        self.typed_label.setGeometry(right - width, 3, width, max(0, self.height() - 6))

    def _end_typing(self) -> None:
        self._typed, self.no_match = "", False
        self._typed_at.invalidate()
        self._fade.stop()
        self.typed_label.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        text = event.text()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.no_match:  # nothing is confirmed on letters that matched nothing
                self._show_typed(self.typed_label.text(), _NO_MATCH_STYLE)
                return
            self._end_typing()
            self.confirmed.emit()
        elif len(text) == 1 and text.isascii() and text.isalpha() \
                and not event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier:
            self._type_ahead(text)
        else:
            if event.key() not in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta):
                self._end_typing()
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.typed_label.isVisible():
            self._place_typed()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self._end_typing()
            self.left.emit()
