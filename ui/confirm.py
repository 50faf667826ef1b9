"""Confirmation for a dangerous action, with safe keys: the default button is 取消
(Enter on a tired hand cancels), Esc cancels, the action needs Ctrl+Enter or a
deliberate Tab to its button."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QWidget

from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.domain.units import UnitSnapshot, UnitStatus
from dispatch.services.queries import IncidentView


def confirm_box(parent: QWidget | None, title: str, text: str, action: str) -> QMessageBox:
    """The dialog itself (tests find it among the top-level widgets)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # (it quotes what people typed: never markup)
    box.setObjectName("confirm")
    yes = box.addButton(f"{action} (Ctrl+Enter)", QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton("取消 (Esc)", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    no.setFocus()
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        QShortcut(QKeySequence(keys), box).activated.connect(yes.click)
    return box


def confirm(parent: QWidget | None, title: str, text: str, action: str) -> bool:
    """Ask; True only when the call-taker chose `action`."""
    box = confirm_box(parent, title, text, action)
    box.exec()
    return box.buttonRole(box.clickedButton()) == QMessageBox.ButtonRole.AcceptRole \
        if box.clickedButton() is not None else False


def status_change_question(unit: UnitSnapshot, target: UnitStatus, in_hand: int | None,
                           incidents: list[IncidentView]) -> str | None:
    """What to ask before a status change on the board (None: nothing to ask). Asked when
    the unit is on an incident other than the one in hand (`in_hand`), and for every
    撤回/空闲 of a unit on an incident; names the unit and the incident."""
    if unit.incident_id is None:
        return None
    other = unit.incident_id != in_hand
    if not other and target is not UnitStatus.AVAILABLE:
        return None
    inc = next((v for v in incidents if v.id == unit.incident_id), None)
    where = (inc.place_name or inc.place_text or "未定位") if inc else "未定位"
    cat = CATEGORY_BY_CODE.get(inc.category) if inc else None
    action = "撤回（改为空闲）" if target is UnitStatus.AVAILABLE else f"改为「{target.label}」"
    head = f"{unit.callsign} 正在处置另一起警情" if other else f"{unit.callsign} 将离开警情"
    last = target is UnitStatus.AVAILABLE and inc is not None and sum(a.open for a in inc.assignments) == 1
    return (f"{head}：\n警情 {unit.incident_id} · {where} · {cat.label if cat else '未定性'}\n\n"
            f"确定将 {unit.callsign} {action}？" + ("\n（该警情将无警力处置）" if last else ""))
