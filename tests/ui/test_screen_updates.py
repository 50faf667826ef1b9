"""Issue 11, item 2: the screens follow the events they receive — only the incident and
unit rows an event names change; the other rows' objects stay the same, the selection
stays; a close takes the row off; a unit.created or an event that names nothing falls
back to the full reload (counted). Two seats on one SQLite file."""
from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.domain.events import Event
from dispatch.domain.units import UnitStatus
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.services.screen_queries import ScreenChanges, changes_of
from dispatch.settings import Settings
from tests.ui.window_support import open_window

PLACES = (("福州路", 121.4820, 31.2340), ("西藏中路", 121.4760, 31.2300), ("南京东路", 121.4800, 31.2380))


@pytest.fixture
def peer(app, tmp_path: Path, clock):
    """A second seat: another bootstrap on the same SQLite file."""
    other = bootstrap(Settings(data_dir=tmp_path, seat="席位07"), clock=clock)
    yield other
    other.engine.dispose()


def _incidents(app, n: int = 3) -> list[int]:
    out = []
    for name, lon, lat in PLACES[:n]:
        iid = app.services.open_call("13900000000").incident_id
        app.services.locate(iid, Location(name, lon, lat, kind="road"))
        app.services.categorise(iid, "dispute")
        out.append(iid)
    return out


def _free_police(app) -> list:
    return [u for u in app.unit_snapshots() if u.kind.is_police and u.status is UnitStatus.AVAILABLE]


class _Resets:
    def __init__(self, *models) -> None:  # noqa: ANN002
        self.n = 0
        for m in models:
            m.modelReset.connect(self._bump)

    def _bump(self) -> None:
        self.n += 1


def test_another_seats_dispatch_changes_only_that_incident_and_that_unit(qtbot, app, peer):
    ids = _incidents(app)
    w = open_window(qtbot, app)
    target, selected = ids[1], ids[2]
    unit = _free_police(app)[0]
    w.queue.select(selected)
    w.board.select(_free_police(app)[3].id)
    board_pick = w.board.current_id()
    queue_rows = {v.id: v for v in w.queue.model._rows}
    board_rows = {u.id: u for u in w.board.model._units}
    resets = _Resets(w.queue.model, w.board.model)
    seen: list[tuple[list, list]] = []
    w.updates.applied.connect(lambda incs, units, _t: seen.append((incs, units)))

    peer.services_for(Actor("席位07", "李四")).dispatch(target, [unit.id])
    qtbot.waitUntil(lambda: w.board.model.unit(unit.id).status is UnitStatus.DISPATCHED, timeout=3000)

    assert seen == [([target], [unit.id])]
    assert resets.n == 0 and w.updates.full_reloads == {}
    for v in w.queue.model._rows:  # every other row is the very object it was
        assert (v is queue_rows[v.id]) == (v.id != target)
    for u in w.board.model._units:
        assert (u is board_rows[u.id]) == (u.id != unit.id)
    row = w.queue.model.row_of(target)
    assert w.queue.model.data(w.queue.model.index(row, 7)) == unit.callsign  # 警力 column
    assert w.board.model.data(w.board.model.index(w.board.model.row_of(unit.id), 4)) == str(target)
    assert w.queue.current_id() == selected and w.board.current_id() == board_pick
    assert next(v for v in w._incidents if v.id == target).assignments[0].unit_id == unit.id
    assert next(u for u in w._units if u.id == unit.id).status is UnitStatus.DISPATCHED
    assert w.map._units[unit.id]["status"] == "dispatched"


def test_status_change_and_close_by_another_seat(qtbot, app, peer):
    ids = _incidents(app)
    unit = _free_police(app)[0]
    app.services.dispatch(ids[0], [unit.id])
    w = open_window(qtbot, app)
    w.queue.select(ids[2])
    other = peer.services_for(Actor("席位07", "李四"))
    before = {v.id: v for v in w.queue.model._rows}

    other.set_unit_status(unit.id, UnitStatus.EN_ROUTE)
    qtbot.waitUntil(lambda: w.board.model.unit(unit.id).status is UnitStatus.EN_ROUTE, timeout=3000)
    view = next(v for v in w.queue.model._rows if v.id == ids[0])
    assert view is not before[ids[0]] and view.assignments[0].en_route_at is not None
    assert w.queue.model._rows[w.queue.model.row_of(ids[1])] is before[ids[1]]

    rows = w.queue.model.rowCount()
    other.close(ids[0], "handled", "已处置")
    qtbot.waitUntil(lambda: w.queue.model.row_of(ids[0]) < 0, timeout=3000)
    assert w.queue.model.rowCount() == rows - 1
    assert ids[0] not in w.map._incidents and ids[1] in w.map._incidents
    assert w.board.model.unit(unit.id).status is UnitStatus.AVAILABLE  # released by the close
    assert w.queue.current_id() == ids[2]
    assert w.updates.full_reloads == {} and w.updates.incremental >= 2


def test_a_new_incident_joins_the_queue_in_order_and_own_actions_come_back_the_same_way(qtbot, app, peer):
    ids = _incidents(app, 2)
    w = open_window(qtbot, app)
    w.queue.select(ids[0])
    resets = _Resets(w.queue.model)
    other = peer.services_for(Actor("席位07", "李四"))
    new = other.open_call("13900000009").incident_id
    qtbot.waitUntil(lambda: w.queue.model.row_of(new) >= 0, timeout=3000)
    assert [v.id for v in w.queue.model._rows][-1] == new  # normal priority, newest: last
    other.categorise(new, "fire")  # urgent: moves to the top, the selection stays where it was
    qtbot.waitUntil(lambda: w.queue.model.row_of(new) == 0, timeout=3000)
    assert w.queue.current_id() == ids[0]
    app.services.add_note(ids[1], "现场有人受伤")  # this seat's own action: the same path
    w.follower.poll()
    assert resets.n == 0 and w.updates.full_reloads == {}


def test_unit_created_and_unattributable_events_fall_back_to_the_full_reload(qtbot, app):
    from dispatch.importers.roster import add_unit
    from dispatch.store import eventlog

    w = open_window(qtbot, app)
    n_units = w.board.model.rowCount()
    now = app.clock.now()
    with app.store.transaction(appends=True) as s:
        add_unit(s, now, callsign="测试99", kind="patrol_car", lon=121.48, lat=31.23, station="", duty=[])
    qtbot.waitUntil(lambda: w.board.model.rowCount() == n_units + 1, timeout=3000)
    assert w.updates.full_reloads["unit.created"] == 1
    with app.store.transaction(appends=True) as s:
        eventlog.append(s, at=now, seat="席位01", operator="test", kind="test.unknown", payload={})
    qtbot.waitUntil(lambda: w.updates.full_reloads["unattributed:test.unknown"] == 1, timeout=3000)


def test_changes_of_attributes_events_or_asks_for_a_full_reload(clock):
    def e(kind, incident_id=None, unit_id=None):  # noqa: ANN001, ANN202
        return Event(1, clock.now(), kind, incident_id, unit_id, "席位01", "x")

    assert changes_of([e("unit.dispatched", 4, 7), e("incident.noted", 5)]) == \
        ScreenChanges(frozenset({4, 5}), frozenset({7}))
    assert changes_of([e("place.proposed"), e("account.added")]).empty
    assert changes_of([e("incident.noted", 5), e("unit.created", None, 9)]).full == "unit.created"
    assert changes_of([e("something.new")]).full == "unattributed:something.new"
    assert changes_of([e("incident.noted", i) for i in range(1000)]).full == "batch"


def test_the_intake_is_read_again_only_when_its_incident_changed(qtbot, app, peer):
    ids = _incidents(app, 2)
    w = open_window(qtbot, app)
    w._on_incident_clicked(ids[0])
    refreshed: list[int] = []
    real = w.intake.refresh
    w.intake.refresh = lambda: (refreshed.append(w.intake.incident_id), real())[1]
    other = peer.services_for(Actor("席位07", "李四"))
    other.add_note(ids[1], "另一起警情的补充")
    qtbot.waitUntil(lambda: w.updates.incremental >= 1, timeout=3000)
    assert refreshed == []
    other.add_note(ids[0], "本警情的补充")
    qtbot.waitUntil(lambda: refreshed == [ids[0]], timeout=3000)


def test_after_the_log_could_not_be_read_the_next_batch_reloads_everything(qtbot, app, peer):
    ids = _incidents(app, 1)
    w = open_window(qtbot, app)
    w.follower.failed.emit("数据库不可用")  # what the follower says when a read fails
    peer.services_for(Actor("席位07", "李四")).add_note(ids[0], "恢复后的补充")
    qtbot.waitUntil(lambda: w.updates.full_reloads["resync"] == 1, timeout=3000)
    assert w.updates.incremental == 0


def _map_state(qtbot, w) -> dict:  # noqa: ANN001
    import json

    box: list = []
    w.map.evaluate("JSON.stringify(dispatchMap.debugState())", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def test_the_map_changes_only_the_markers_of_what_changed(qtbot, app, peer):
    ids = _incidents(app)
    unit = _free_police(app)[0]
    w = open_window(qtbot, app)
    qtbot.waitUntil(lambda: w.map.is_ready, timeout=20000)
    before = _map_state(qtbot, w)
    assert {str(i) for i in ids} <= set(before["incidents"])
    other = peer.services_for(Actor("席位07", "李四"))
    other.dispatch(ids[0], [unit.id])
    other.close(ids[1], "handled", "已处置")
    qtbot.waitUntil(lambda: w.queue.model.row_of(ids[1]) < 0, timeout=3000)
    after = _map_state(qtbot, w)
    assert str(ids[1]) not in after["incidents"]  # closed: its marker went, by itself
    assert after["incidents"][str(ids[2])]["leafletId"] == before["incidents"][str(ids[2])]["leafletId"]
    assert after["units"][str(unit.id)]["status"] == "dispatched"
    assert after["units"][str(unit.id)]["leafletId"] == before["units"][str(unit.id)]["leafletId"]
    assert len(after["units"]) == len(before["units"])


def test_bench_screen_measures_every_action_without_a_full_reload(qtbot):  # noqa: ARG001 (a QApplication)
    from ui.screen_bench import bench_screen

    out = bench_screen(30, 80, actions=6, poll_ms=20, reloads=1)
    assert out["open_incidents"] == 30 and out["units"] >= 80
    assert out["missed"] == 0 and out["full_reloads_during_actions"] == 0
    assert out["commit_to_models_p95_ms"] is not None and out["update_p95_ms"] <= out["commit_to_models_p95_ms"]
    assert out["full_reload_p50_ms"] > 0
