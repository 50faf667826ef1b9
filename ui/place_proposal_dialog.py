"""地名补录 offer: after a map click for a place the geocoder did not know, a bar (not a
modal dialog) proposes to keep the caller's words as a new place or alias at that
point. One key accepts (Enter), Esc ignores; the call goes on either way."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class PlaceProposalBar(QFrame):
    """Signals `accepted(words, lon, lat)` when the call-taker keeps the words there,
    `finished()` once he has decided either way (the keyboard moves on)."""

    accepted = Signal(str, float, float)
    finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("proposal")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#proposal{border:1px solid #d29922;border-radius:3px}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.words, self.lon, self.lat = "", 0.0, 0.0
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 3, 6, 3)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.text.setWordWrap(True)
        self.accept_btn = QPushButton("补录 (回车)")
        self.accept_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_btn.clicked.connect(self.accept)
        self.ignore_btn = QPushButton("忽略 (Esc)")
        self.ignore_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.ignore_btn.clicked.connect(self.ignore)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.accept_btn)
        lay.addWidget(self.ignore_btn)
        self.hide()

    def offer(self, words: str, lon: float, lat: float, point_label: str) -> None:
        """Show the offer for `words` at (lon, lat) and take the keyboard (one key decides)."""
        self.words, self.lon, self.lat = words, lon, lat
        self.text.setText(f"地名补录：地名库中没有“{words}”。记为此处（{point_label}）的地名，"
                          f"本席位立即可查，待班长确认？")
        self.show()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def accept(self) -> None:
        if self.isVisible():
            self.hide()
            self.accepted.emit(self.words, self.lon, self.lat)
            self.finished.emit()

    def ignore(self) -> None:
        if self.isVisible():
            self.hide()
            self.finished.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_Escape:
            self.ignore()
        else:
            super().keyPressEvent(event)
