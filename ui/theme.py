"""The console's look: a dark, low-glare theme for a control room at night,
with status colours shared by the tables and the map."""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

STATUS_COLOURS = {
    "available": "#3fb950",
    "dispatched": "#d29922",
    "acknowledged": "#e3b341",
    "en_route": "#58a6ff",
    "on_scene": "#bc8cff",
    "off_duty": "#6e7681",
    "pending": "#f85149",
    "closed": "#6e7681",
}
ALERT = QColor("#b62324")
ALERT_TEXT = QColor("#ffffff")
URGENT = QColor("#ff7b72")
MUTED = QColor("#8b949e")

QSS = """
QWidget { background: #0d1117; color: #e6edf3; font-size: 14px; }
QMainWindow::separator { background: #30363d; width: 4px; height: 4px; }
QGroupBox { border: 1px solid #30363d; border-radius: 6px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #79c0ff; font-weight: bold; }
QLineEdit, QPlainTextEdit, QComboBox, QSpinBox, QDateTimeEdit {
    background: #161b22; border: 1px solid #30363d; border-radius: 4px; padding: 4px 6px;
    selection-background-color: #1f6feb; }
QLineEdit:focus, QPlainTextEdit:focus, QComboBox:focus { border: 1px solid #58a6ff; }
QLineEdit:disabled, QPlainTextEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QDateTimeEdit:disabled {
    color: #6e7681; background: #0d1117; border-color: #21262d; }
QCheckBox::indicator { width: 14px; height: 14px; border: 1px solid #8b949e; border-radius: 3px;
    background: #0d1117; }
QCheckBox::indicator:checked { background: #1f6feb; border-color: #58a6ff; }
QCheckBox:focus { color: #f0f6fc; }
QPushButton { background: #21262d; border: 1px solid #30363d; border-radius: 4px; padding: 5px 12px; }
QPushButton:hover { background: #30363d; }
QPushButton:focus { border: 1px solid #58a6ff; }
QPushButton:disabled { color: #6e7681; }
QPushButton#primary { background: #238636; border-color: #2ea043; font-weight: bold; }
QPushButton#primary:disabled { background: #21262d; border-color: #30363d; color: #6e7681; }
QPushButton#danger { background: #8e1519; border-color: #da3633; font-weight: bold; }
QTableView, QTreeWidget, QListWidget { background: #0d1117; alternate-background-color: #131922;
    gridline-color: #21262d; border: 1px solid #30363d; selection-background-color: #1f6feb;
    selection-color: #ffffff; }
QHeaderView::section { background: #161b22; color: #8b949e; border: none;
    border-bottom: 1px solid #30363d; padding: 4px; }
QStatusBar { background: #161b22; color: #8b949e; }
QLabel#title { font-size: 16px; font-weight: bold; color: #79c0ff; }
QLabel#hint { color: #8b949e; font-size: 12px; }
QLabel#incident { font-size: 15px; font-weight: bold; color: #f0f6fc; }
QLabel#error { color: #ff7b72; font-weight: bold; }
QToolTip { background: #161b22; color: #e6edf3; border: 1px solid #30363d; }
QSlider::groove:horizontal { height: 8px; background: #30363d; border-radius: 4px; }
QSlider::sub-page:horizontal { background: #1f6feb; border-radius: 4px; }
QSlider::handle:horizontal { background: #e6edf3; border: 2px solid #58a6ff; width: 14px;
    margin: -6px 0; border-radius: 9px; }
QSlider:focus { border: 1px solid #58a6ff; border-radius: 4px; }
QSlider { min-height: 28px; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    font = QFont()
    font.setFamilies(["Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", "sans-serif"])
    font.setPointSize(11)
    app.setFont(font)
    app.setStyleSheet(QSS)
