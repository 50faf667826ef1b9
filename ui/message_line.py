"""The intake's message line: a red line that keeps its room whether it says something or
not, shows a message on one line of text (pasted line breaks and tabs as single spaces),
wrapped into at most two lines and cut with an ellipsis beyond them (the whole message in
its tooltip)."""
from __future__ import annotations

import html
import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent, QTextLayout, QTextOption
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QWidget

# a run of control characters (line breaks, tabs, ...) with the blanks around it: one space
CONTROL_RUN = re.compile(r"[^\S\x00-\x1f\x7f-\x9f\u2028\u2029]*[\x00-\x1f\x7f-\x9f\u2028\u2029]\s*")
ERROR_LINES = 2  # the room the message line keeps, said or not


def one_line(text: str) -> str:
    """`text` on one line: each run of control characters (a pasted line break or tab)
    shown as one space."""
    return CONTROL_RUN.sub(" ", text).strip()


class MessageLine(QLabel):
    """The intake's red message line. It keeps the room of `lines` lines whether it says
    something or not (hidden, it still holds its place): nothing below it moves when a
    message comes or goes. A message is shown on one line of text (line breaks and tabs
    as single spaces), wrapped into at most `lines` lines and cut with an ellipsis
    beyond them; the whole of it is then in the tooltip. `text()` is the whole message."""

    def __init__(self, lines: int = ERROR_LINES, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.lines = lines
        self.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(one_line(text or ""))
        self._sync_tooltip()
        self.update()

    def _height(self) -> int:
        m = self.contentsMargins()
        return self.lines * self.fontMetrics().lineSpacing() + m.top() + m.bottom() + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().averageCharWidth() * 20, self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self._height())  # (never widens the intake, however long the message)

    def shown_lines(self) -> list[str]:
        """The message as it is drawn at the present width."""
        return self._layout(self.contentsRect().width())[0]

    def _layout(self, width: int) -> tuple[list[str], bool]:
        """The lines drawn at `width`, and whether the message was cut."""
        text = self.text()
        if not text or width <= 0:
            return [], False
        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        spans = []
        layout.beginLayout()
        while len(spans) <= self.lines:  # one more than fits: is there more?
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            spans.append((line.textStart(), line.textLength()))
        layout.endLayout()
        units = text.encode("utf-16-le")  # (the layout counts UTF-16 code units)

        def part(start: int, end: int | None = None) -> str:
            return units[2 * start:None if end is None else 2 * end].decode("utf-16-le", "replace")

        if len(spans) <= self.lines:
            return [part(a, a + n).rstrip() for a, n in spans], False
        shown = [part(a, a + n).rstrip() for a, n in spans[:self.lines - 1]]
        rest = part(spans[self.lines - 1][0])
        shown.append(self.fontMetrics().elidedText(rest, Qt.TextElideMode.ElideRight, width))
        return shown, True

    def _sync_tooltip(self) -> None:
        cut = self._layout(self.contentsRect().width())[1]
        # (as rich text, a tooltip wraps: the whole message, not one line across the screen)
        self.setToolTip(f"<p>{html.escape(self.text())}</p>" if cut else "")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._sync_tooltip()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        QFrame.paintEvent(self, event)
        rect = self.contentsRect()
        lines = self._layout(rect.width())[0]
        if not lines:
            return
        painter = QPainter(self)
        painter.setFont(self.font())
        painter.setPen(self.palette().color(self.foregroundRole()))
        fm = self.fontMetrics()
        y = rect.top() + fm.ascent()
        for line in lines:
            painter.drawText(rect.left(), y, line)
            y += fm.lineSpacing()
        painter.end()
