"""The recommendation as a list: ranked units to tick (Space), busy ones greyed (they
can be ticked, and F6 then says which unit is busy and why), the excluded ones folded
with their reasons. Enter asks to dispatch the ticked units."""
from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from dispatch.domain.units import UnitSnapshot, UnitStatus
from ui.fmt import distance, duration

GREY = QBrush(QColor("#8b949e"))
COLUMNS = ["派", "呼号", "类型", "预计到达", "路程", "说明"]


def busy_reason(units: list[UnitSnapshot], ids: list[int], incident_id: int | None = None) -> str | None:
    """Why a ticked unit cannot go, from the units' current state
    ('黄巡02 已派往警情 12（已派），不能派出'; one already on `incident_id`, the incident
    it was ticked for: '黄巡02 已派往本警情（已派），不能重复派出'); None when all of them can."""
    by_id = {u.id: u for u in units}
    for uid in ids:
        u = by_id.get(uid)
        if u is None or u.status is UnitStatus.AVAILABLE:
            continue
        if incident_id is not None and u.incident_id == incident_id:
            return f"{u.callsign} 已派往本警情（{u.status.label}），不能重复派出"
        if u.incident_id is not None:
            return f"{u.callsign} 已派往警情 {u.incident_id}（{u.status.label}），不能派出"
        return f"{u.callsign} 当前为「{u.status.label}」，不能派出"
    return None


class Taken(NamedTuple):
    """A unit the list offered that went busy since: `here` when it went to the very
    incident the list is for (another seat sent it there)."""

    callsign: str
    here: bool


class RecommendationList(QTreeWidget):
    """Signal `dispatch_requested()`: Enter on the list (same as F6)."""

    dispatch_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recommendation = None
        self.setHeaderLabels(COLUMNS)
        for col, width in enumerate((56, 80, 80, 80, 70)):
            self.setColumnWidth(col, width)
        # the header and five units (the top five are what is dispatched from; more scroll)
        self.setMinimumHeight(160)

    def show_busy(self) -> None:
        self.reset_list()
        self.addTopLevelItem(QTreeWidgetItem(["", "", "", "计算中…"]))

    def reset_list(self) -> None:
        self.recommendation = None
        self.clear()

    def show_recommendation(self, rec) -> None:  # noqa: ANN001 (dispatch.geo.recommend.Recommendation)
        """Ranked units first (the fastest ticked), then busy ones, then the excluded."""
        self.clear()
        self.recommendation = rec
        for i, r in enumerate(rec.ranked):
            item = self._row("", r)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if i == 0 else Qt.CheckState.Unchecked)
            item.setData(0, Qt.ItemDataRole.UserRole, r.unit_id)
            self.addTopLevelItem(item)
        for r in rec.busy:
            item = self._greyed(self._row("忙", r))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Unchecked)
            item.setData(0, Qt.ItemDataRole.UserRole, r.unit_id)
            self.addTopLevelItem(item)
        if rec.excluded:
            group = self._greyed(QTreeWidgetItem(["", f"不可派 {len(rec.excluded)} 个", "", "", "", "展开查看原因"]))
            for x in rec.excluded:
                group.addChild(self._greyed(QTreeWidgetItem(["", x.callsign, "", "", "", x.reason])))
            self.addTopLevelItem(group)
        if self.topLevelItemCount():
            self.setCurrentItem(self.topLevelItem(0))

    @staticmethod
    def _row(mark: str, r) -> QTreeWidgetItem:  # noqa: ANN001
        item = QTreeWidgetItem([mark, r.callsign, r.kind.label, duration(r.eta_s), distance(r.route_m),
                                "；".join(r.reasons)])
        item.setToolTip(5, "\n".join(r.reasons))
        return item

    @staticmethod
    def _greyed(item: QTreeWidgetItem) -> QTreeWidgetItem:
        for col in range(len(COLUMNS)):
            item.setForeground(col, GREY)
        return item

    def units_changed(self, units: list[UnitSnapshot], incident_id: int | None = None,
                      sending: set[int] | frozenset[int] = frozenset()) -> list[Taken]:
        """Units of the ranked list that another seat (or a terminal) committed since it
        was made: unticked, greyed, marked 忙 with the reason, as the busy ones are; those
        newly taken are returned (the list no longer offers a unit Enter would have
        dispatched in vain). `incident_id` is the incident the list is for: a unit another
        seat sent there is taken too, and says so (已由其他席位派往本警情). Only the units
        this seat is `sending` there now (its own dispatch, read back before the list is
        cleared) are left as they are."""
        if self.recommendation is None:
            return []
        by_id = {u.id: u for u in units}
        taken = []
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            uid = item.data(0, Qt.ItemDataRole.UserRole)
            u = by_id.get(int(uid)) if uid is not None else None
            if u is None or u.status is UnitStatus.AVAILABLE or item.text(0) == "忙":
                continue
            here = incident_id is not None and u.incident_id == incident_id
            if here and u.id in sending:
                continue
            reason = f"已由其他席位派往本警情（{u.status.label}）" if here else busy_reason([u], [u.id]) or ""
            item.setText(0, "忙")
            item.setCheckState(0, Qt.CheckState.Unchecked)
            item.setText(5, reason)
            item.setToolTip(5, reason)
            self._greyed(item)
            taken.append(Taken(u.callsign, here))
        current = self.currentItem()
        if taken and current is not None and current.text(0) == "忙":  # Space would tick a busy unit
            free = next((it for i in range(self.topLevelItemCount())
                         if (it := self.topLevelItem(i)).data(0, Qt.ItemDataRole.UserRole) is not None
                         and it.text(0) != "忙"), None)
            if free is not None:
                self.setCurrentItem(free)  # (the cursor only: what goes is still the call-taker's tick)
        return taken

    def checked_units(self) -> list[int]:
        """Ticked units, busy ones included (the intake refuses those by name)."""
        out = []
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable and item.checkState(0) == Qt.CheckState.Checked:
                out.append(int(item.data(0, Qt.ItemDataRole.UserRole)))
        return out

    def estimates(self) -> dict[int, tuple[float, float]]:
        """Unit id -> (eta_s, route_m) as recommended, kept with the dispatch."""
        if self.recommendation is None:
            return {}
        return {r.unit_id: (r.eta_s, r.route_m) for r in self.recommendation.ranked}

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        item = self.currentItem()
        if event.key() == Qt.Key.Key_Space and item is not None \
                and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState(0) == Qt.CheckState.Checked
            item.setCheckState(0, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.recommendation is not None:
            self.dispatch_requested.emit()
            return
        super().keyPressEvent(event)
