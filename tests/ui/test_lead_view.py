"""值班长视图 (issue 9, item 4): every seat with its operator and what it holds, calls
waiting for dispatch with the overdue ones red, and 改派席位 / 重新打开 through the view,
seen by another seat through the log. Two Apps on one real SQLite file."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import event

from dispatch.bootstrap import bootstrap
from dispatch.services import queries
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.services.seat_overview import seat_overview
from dispatch.settings import Settings
from ui import theme
from ui.lead_view import NEED_LEAD, LeadView
from tests.ui.window_support import open_window, shown


@pytest.fixture
def seat2(app, clock):
    """A second seat on the same database file, with its own App (as another workstation)."""
    other = bootstrap(Settings(data_dir=app.settings.data_dir, seat="席位02"), clock=clock)
    other.login("demo-calltaker", "demo")
    yield other
    other.engine.dispose()


def _view(qtbot, app) -> LeadView:  # noqa: ANN001
    return shown(qtbot, LeadView(app))


def _row(model, incident_id: int) -> int:
    return next(r for r in range(model.rowCount()) if model.data(model.index(r, 0), Qt.ItemDataRole.UserRole)
                == incident_id)


def test_read_model_with_a_few_hundred_incidents_in_two_queries(app, clock):
    seats = [app.services_for(Actor(f"席位{n:02d}", f"操作员{n}")) for n in range(1, 6)]
    ids = []
    for i in range(300):
        ids.append(seats[i % 5].open_call(f"1390000{i:04d}").incident_id)
        clock.advance(5)
    for iid in ids[:100]:  # closed: held by nobody, waiting for nothing
        seats[0].close(iid, "invalid")
    police = next(u for u in app.unit_snapshots() if u.kind.is_police and u.status.value == "available")
    seats[1].locate(ids[101], Location("福州路", 121.4820, 31.2340, kind="road"))
    seats[1].dispatch(ids[101], [police.id])  # open, but a unit is on it: not waiting
    queries: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    t = time.perf_counter()
    with app.session() as s:
        ov = seat_overview(s, clock.now(), 60.0)
    took = time.perf_counter() - t
    print(f"seat_overview over 300 incidents: {took * 1000:.1f} ms")
    selects = [q for q in queries if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
    assert took < 0.5
    assert [r.seat for r in ov.seats] == ["席位01", "席位02", "席位03", "席位04", "席位05"]
    assert ov.seat("席位02").operator == "操作员2"
    assert sum(len(r.incidents) for r in ov.seats) == 200
    assert {w.incident.id for w in ov.waiting} == set(ids[100:]) - {ids[101]}
    newest, oldest = ids[-1], ids[100]
    waits = {w.incident.id: w for w in ov.waiting}
    assert waits[newest].wait_s == 5 and not waits[newest].overdue
    assert waits[oldest].wait_s == 5 * 200 and waits[oldest].overdue
    assert ov.waiting[0].incident.id == oldest  # longest wait first
    clock.advance(13 * 3600)  # a seat quiet for 13 h shows only while it holds an open call
    seats[4].close(ids[104], "invalid")
    with app.session() as s:
        later = seat_overview(s, clock.now(), 60.0)
    assert later.seat("席位05").last_activity == clock.now()  # its close just now
    assert later.seat("席位01").last_activity < clock.now()  # quiet, still holding calls


def test_seats_and_waiting_calls_with_the_overdue_ones_red(qtbot, app, seat2, clock):
    app.login("demo-lead", "demo")
    mine = app.services.open_call("13800000001").incident_id
    clock.advance(30)
    theirs = seat2.services.open_call("13800000002").incident_id
    view = _view(qtbot, app)
    seats = view.seats_model
    assert [seats.data(seats.index(r, 0)) for r in range(seats.rowCount())] == ["席位01", "席位02"]
    row = _row(seats, "席位02")
    assert [seats.data(seats.index(row, c)) for c in (1, 2)] == ["demo-calltaker", "接警员"]
    assert seats.data(seats.index(row, 4)).startswith(f"1 起：#{theirs} 待派警")
    assert seats.data(seats.index(_row(seats, "席位01"), 2)) == "值班长"
    w = view.waiting_model
    assert w.rowCount() == 2 and w.data(w.index(0, 0)) == str(mine)  # longest wait first
    assert w.data(w.index(0, 1)) == "30秒" and w.data(w.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    clock.advance(31)  # mine has waited 61 s: over the 60 s target; theirs 31 s
    view.tick()
    assert w.data(w.index(0, 1)) == "1分01秒（超时）"
    assert w.data(w.index(0, 2), Qt.ItemDataRole.BackgroundRole).color() == theme.ALERT
    assert w.data(w.index(1, 2), Qt.ItemDataRole.BackgroundRole) is None
    assert "超时 1 起" in view.summary.text()
    mine_row, theirs_row = _row(seats, "席位01"), _row(seats, "席位02")
    assert seats.data(seats.index(mine_row, 4)).startswith(f"超时待派 1 起 · 1 起：#{mine} 待派警")
    assert seats.data(seats.index(mine_row, 0), Qt.ItemDataRole.ForegroundRole).color() == theme.URGENT
    assert seats.data(seats.index(theirs_row, 0), Qt.ItemDataRole.ForegroundRole) is None
    assert seats.data(seats.index(theirs_row, 3)) == f"{seats.data(seats.index(theirs_row, 3))[:8]}（31秒前）"


def test_a_move_through_the_view_reaches_the_other_seats_queue(qtbot, app, seat2, clock):
    app.login("demo-lead", "demo")
    iid = app.services.open_call("13800000003").incident_id
    seat2.services.open_call("13800000004")  # the log now knows 席位02 and its operator
    other = open_window(qtbot, seat2, active=False)
    q = other.queue.model
    assert q.data(q.index(q.row_of(iid), 8)) == "席位01"
    view = _view(qtbot, app)
    view.waiting.setFocus()
    view.waiting.setCurrentIndex(view.waiting_model.index(_row(view.waiting_model, iid), 0))
    assert view.move_seat.currentText() == ""  # no seat chosen for the lead: never a default destination
    qtbot.keyClick(view.waiting, Qt.Key.Key_Return)  # Enter: the number is taken, on to the seats
    assert view.move_id.text() == str(iid) and view.seats.hasFocus()
    view.seats.setCurrentIndex(view.seats_model.index(_row(view.seats_model, "席位02"), 0))
    qtbot.keyClick(view.seats, Qt.Key.Key_Return)  # Enter on a seat: the destination, on to the reason
    assert view.move_seat.currentText() == "席位02" and view.move_reason.hasFocus()
    view.move_reason.setText("席位01 离席")  # typed (an input method: keyClicks are ASCII only)
    qtbot.keyClick(view.move_reason, Qt.Key.Key_Return)
    assert "已改派至 席位02" in view.message.text()
    qtbot.waitUntil(lambda: q.data(q.index(q.row_of(iid), 8)) == "席位02", timeout=3000)
    assert view.seats_model.data(view.seats_model.index(_row(view.seats_model, "席位01"), 4)) == "—"
    # the same move again is refused by the service: its message in the view, nothing raised
    view.move_selected()
    assert view.message.styleSheet().startswith(f"color:{theme.URGENT.name()}")
    assert view.message.text() and "Traceback" not in view.message.text()


def test_reopen_by_number_and_the_refusals_shown(qtbot, app, clock):
    app.login("demo-lead", "demo")
    iid = app.services.open_call("13800000005").incident_id
    app.services.close(iid, "invalid")
    view = _view(qtbot, app)
    assert view.waiting_model.rowCount() == 0
    view.reopen_id.setText(str(iid))
    view.reopen_typed()  # no reason: refused by the view, nothing written
    assert "原因" in view.message.text() and view.reopen_reason.hasFocus()
    view.reopen_reason.setText("报警人再次来电，纠纷未解决")
    qtbot.keyClick(view.reopen_reason, Qt.Key.Key_Return)
    assert view.message.text() == f"警情 {iid} 已重新打开，回到待派"
    assert _row(view.waiting_model, iid) == 0  # back in the waiting list at once (the log came back)
    view.reopen_id.setText(str(iid))
    view.reopen_reason.setText("再次")
    view.reopen_typed()  # it is open now: the service refuses, the view says why
    assert view.message.text() and view.message.text() != f"警情 {iid} 已重新打开，回到待派"
    assert view.message.styleSheet().startswith(f"color:{theme.URGENT.name()}")


def test_a_call_taker_sees_the_view_read_only(qtbot, app):
    app.login("demo-calltaker", "demo")
    view = _view(qtbot, app)
    for w in (view.move_button, view.reopen_button, view.reopen_reason):
        assert not w.isEnabled() and w.toolTip() == NEED_LEAD
    assert NEED_LEAD in view.windowTitle() and NEED_LEAD in view.actions.title()
    view.move_selected()  # the shortcut still reaches the slot: refused, nothing written
    assert view.message.text() == NEED_LEAD
    # QA round 2: a lead logs in at the lock while the view is open: it is theirs at once
    app.login("demo-lead", "demo")
    view.tick()
    assert view.move_button.isEnabled() and NEED_LEAD not in view.windowTitle()


def test_shift_f11_opens_the_view_and_esc_closes_it(qtbot, app):
    w = open_window(qtbot, app)
    qtbot.keyClick(w, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)
    view = next(d for d in w._dialogs if isinstance(d, LeadView))
    qtbot.waitExposed(view)
    assert view.isWindow() and view.windowFlags() & Qt.WindowType.Tool
    qtbot.waitUntil(view.waiting.hasFocus, timeout=3000)
    qtbot.keyClick(view.waiting, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not any(isinstance(d, LeadView) for d in w._dialogs), timeout=3000)


def test_a_call_can_be_moved_to_a_seat_that_has_not_acted_yet(qtbot, app):
    """QA round 2: the seat list holds only seats with an action in the log; a call-taker
    who has just logged in at 席位09 could not be handed a waiting call."""
    app.login("demo-lead", "demo")
    iid = app.services.open_call("13800000006").incident_id
    view = _view(qtbot, app)
    assert view.move_seat.findText("席位09") == -1
    view.move_id.setText(str(iid))
    view.move_seat.setFocus()
    view.move_seat.setEditText("席位09")
    view.refresh()  # the view refreshes (another seat acted): what was typed stays
    assert view.move_seat.currentText() == "席位09"
    view.move_reason.setText("新上岗席位")
    qtbot.keyClick(view.move_reason, Qt.Key.Key_Return)
    assert "已改派至 席位09" in view.message.text()
    with app.session() as s:
        assert queries.incident(s, iid).seat == "席位09"


@pytest.mark.parametrize("typed", ["-1", "1e309", "１２", "2 3"])
def test_an_incident_number_that_is_not_one_is_refused_not_read_as_another(qtbot, app, typed):
    """QA round 2: the number fields dropped the keys they refused ("1e309" became 1309,
    "-1" became 1): the wrong incident was targeted."""
    app.login("demo-lead", "demo")
    iid = app.services.open_call("13800000007").incident_id
    app.services.close(iid, "invalid")
    view = _view(qtbot, app)
    for field, act in ((view.reopen_id, view.reopen_typed), (view.move_id, view.move_selected)):
        field.setText(typed)
        view.reopen_reason.setText("再次来电")
        view.move_seat.setEditText("席位02")
        act()
        assert "警情号应为正整数" in view.message.text() and field.text() == typed
    with app.session() as s:
        assert queries.incident(s, iid).status.value == "closed"


def test_an_over_long_reason_is_refused_whole_not_cut(qtbot, app):
    app.login("demo-lead", "demo")
    iid = app.services.open_call("13800000008").incident_id
    app.services.close(iid, "invalid")
    view = _view(qtbot, app)
    view.reopen_id.setText(str(iid))
    view.reopen_reason.setText("纠纷" * 2500)
    view.reopen_typed()
    assert "过长" in view.message.text() and len(view.reopen_reason.text()) == 5000
    with app.session() as s:
        assert queries.incident(s, iid).status.value == "closed"
