"""F8 结警 dialog (review screen 18c, item 8): 请选择处理结果 goes once a result is
chosen, and the dialog names the units still on the incident and says closing
releases them to 空闲."""
from __future__ import annotations

from PySide6.QtCore import Qt

from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.services.locations import Location
from ui.close_dialog import CloseDialog

CTRL = Qt.KeyboardModifier.ControlModifier


def _dispatched_incident(app, n_units: int = 2):
    police = [u for u in app.unit_snapshots() if u.kind.is_police and u.status is UnitStatus.AVAILABLE]
    iid = app.services.open_call("13900000031").incident_id
    app.services.locate(iid, Location("福州路", 121.4820, 31.2340, kind="road"))
    app.services.categorise(iid, "dispute")
    units = police[:n_units]
    app.services.dispatch(iid, [u.id for u in units])
    return iid, units


def _view(app, iid):
    with app.session() as s:
        return queries.incident(s, iid)


def _dialog(qtbot, app, iid) -> CloseDialog:
    dlg = CloseDialog(_view(app, iid))
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitUntil(dlg.isActiveWindow, timeout=3000)
    return dlg


def test_the_missing_result_message_goes_when_a_result_is_chosen(qtbot, app):
    iid, _units = _dispatched_incident(app, 1)
    dlg = _dialog(qtbot, app, iid)
    qtbot.keyClick(dlg, Qt.Key.Key_Return, CTRL)          # nothing chosen
    assert dlg.isVisible() and dlg.error.text() == "请选择处理结果"
    qtbot.keyClick(dlg.result_code, Qt.Key.Key_Down)      # a result chosen by keyboard
    assert dlg.chosen() is not None
    assert dlg.error.text() == ""


def test_the_units_still_on_the_incident_are_named_with_their_release(qtbot, app):
    iid, (first, second) = _dispatched_incident(app, 2)
    app.services.set_unit_status(first.id, "acknowledged")
    app.services.set_unit_status(first.id, "en_route")
    app.services.set_unit_status(first.id, "on_scene")
    dlg = _dialog(qtbot, app, iid)
    text = dlg.release.text()
    assert dlg.release.isVisible()
    assert f"{first.callsign}（到场）" in text and f"{second.callsign}（已派）" in text
    assert "2 个" in text and "释放为「空闲」" in text
    # what it says is what a close does
    app.services.close(iid, "handled", "")
    with app.session() as s:
        status = {u.id: u.status for u in queries.unit_snapshots(s)}
    assert status[first.id] is status[second.id] is UnitStatus.AVAILABLE


def test_a_unit_already_cleared_is_not_listed_and_none_left_says_nothing(qtbot, app):
    iid, (first, second) = _dispatched_incident(app, 2)
    app.services.set_unit_status(first.id, "available")    # stood down before the close
    dlg = _dialog(qtbot, app, iid)
    assert first.callsign not in dlg.release.text() and f"{second.callsign}（已派）" in dlg.release.text()
    assert "1 个" in dlg.release.text()
    app.services.set_unit_status(second.id, "available")
    dlg2 = _dialog(qtbot, app, iid)
    assert dlg2.release.text() == "" and not dlg2.release.isVisible()
