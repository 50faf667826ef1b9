"""The shift lead's powers (reopen, move to another seat) through the real services and
`act`, refused to every other role; and a stale write refused naming the seat, operator
and time of the change that beat it (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import ConcurrentChange, DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.services import queries
from dispatch.services.lead import move, reopen
from dispatch.settings import Settings
from dispatch.store import eventlog
from dispatch.store.db import STALE, Store, make_engine
from dispatch.store.schema import IncidentRow, UnitRow
from tests.integration.test_one_instant import fold_mismatches
from tests.integration.act_support import checked

REPO = Path(__file__).resolve().parents[2]


def _last(app) -> int:
    with app.session() as s:
        return eventlog.last_id(s)


def _events(app, since: int):
    with app.session() as s:
        return eventlog.read(s, since_id=since)


def _incident(app, iid: int):
    with app.session() as s:
        return queries.incident(s, iid)


def _second_seat(app, clock, seat: str = "席位02", user: str = "demo-dispatcher"):
    """Another workstation on the same database, logged in as `user`."""
    other = bootstrap(Settings(data_dir=app.settings.data_dir, db_url=app.settings.db_url, seat=seat), clock=clock)
    other.login(user, "demo")
    return other


def test_the_lead_reopens_a_closed_incident(app, clock):
    app.login("demo-lead", "demo")
    sv = app.services
    iid = sv.open_call("13800000101").incident_id
    sv.close(iid, "handled", "已处理")
    closed = _incident(app, iid)
    clock.advance(90)
    before = _last(app)
    changes = sv.reopen(iid, "  报警人再次来电，纠纷未解决  ")
    view = _incident(app, iid)
    events = _events(app, before)
    assert [e.kind for e in events] == ["incident.reopened"] and changes.event_ids == (events[0].id,)
    e = events[0]
    assert (e.operator, e.seat, e.incident_id) == ("demo-lead", app.settings.seat, iid)
    assert e.payload == {"reason": "报警人再次来电，纠纷未解决", "previous_result": "handled",
                         "previous_closed_at": closed.closed_at.isoformat().replace("+00:00", "Z")}
    assert (view.status.value, view.closed_at, view.result_code, view.close_note) == ("pending", None, "", "")
    assert view.updated_at == e.occurred_at == clock.now() and view.version == closed.version + 1
    assert iid in [i.id for i in _open_ids(app)]
    assert fold_mismatches(app) == []  # the projection is what a fold of the log gives


def _open_ids(app):
    with app.session() as s:
        return queries.open_incidents(s)


def test_the_lead_moves_an_open_incident_to_a_seat_and_its_operator(app, clock):
    other = _second_seat(app, clock)
    other.services.open_call("13800000102")  # the log now knows demo-dispatcher at 席位02
    app.login("demo-lead", "demo")
    sv = app.services
    iid = sv.open_call("13800000103").incident_id
    clock.advance(5)
    before = _last(app)
    sv.move_incident(iid, "席位02", "席位01 话务过多")
    view = _incident(app, iid)
    events = _events(app, before)
    assert [e.kind for e in events] == ["incident.moved"]
    assert events[0].payload == {"from_seat": "席位01", "to_seat": "席位02", "to_operator": "demo-dispatcher",
                                 "reason": "席位01 话务过多"}
    assert (view.seat, view.operator, view.updated_at) == ("席位02", "demo-dispatcher", events[0].occurred_at)
    assert events[0].operator == "demo-lead"
    # a seat the log has never seen: the operator stays; an empty reason is allowed
    sv.move_incident(iid, "席位09")
    view = _incident(app, iid)
    last = _events(app, before)[-1]
    assert (view.seat, view.operator) == ("席位09", "demo-dispatcher")
    assert last.payload == {"from_seat": "席位02", "to_seat": "席位09", "to_operator": "", "reason": ""}
    assert fold_mismatches(app) == []
    other.engine.dispose()


@pytest.mark.parametrize("user", ["demo-calltaker", "demo-dispatcher", "demo-admin", "demo-trainer"])
def test_other_roles_are_refused_naming_the_lead_and_nothing_is_written(app, user):
    sv = app.services
    closed = sv.open_call("13800000104").incident_id
    sv.close(closed, "handled")
    open_one = sv.open_call("13800000105").incident_id
    app.login(user, "demo")
    before, views = _last(app), (_incident(app, closed), _incident(app, open_one))
    for refused in (lambda: app.services.reopen(closed, "再次来电"),
                    lambda: app.services.move_incident(open_one, "席位02", "忙")):
        with pytest.raises(DispatchError, match="需要值班长权限"):
            refused()
    assert _last(app) == before and (_incident(app, closed), _incident(app, open_one)) == views


def test_bad_requests_are_refused_and_nothing_is_written(app):
    app.login("demo-lead", "demo")
    sv = app.services
    open_one = sv.open_call("13800000106").incident_id
    closed = sv.open_call("13800000107").incident_id
    sv.close(closed, "invalid")
    before = _last(app)
    cases = [
        (lambda: sv.reopen(open_one, "再次来电"), "只有已结警的警情才能重新打开"),
        (lambda: sv.reopen(closed, "   "), "请填写重新打开的原因"),
        (lambda: sv.reopen(closed, "因" * 201), "最多 200 字"),
        (lambda: sv.reopen(999999, "再次来电"), "警情 999999 不存在"),
        (lambda: sv.move_incident(closed, "席位02"), "已结警，不能改派席位"),
        (lambda: sv.move_incident(open_one, "  "), "请填写要改派到的席位"),
        (lambda: sv.move_incident(open_one, "席位01"), "已在席位01"),
        (lambda: sv.move_incident(open_one, "席" * 65), "最多 64 字"),
        (lambda: sv.move_incident(open_one, "席位02", "因" * 201), "最多 200 字"),
    ]
    for call, words in cases:
        with pytest.raises(DispatchError, match=words):
            call()
    assert _last(app) == before
    assert _incident(app, closed).status.value == "closed" and _incident(app, open_one).seat == "席位01"


def test_replay_and_read_only_refuse(app):
    from dataclasses import replace
    iid = app.services.open_call("13800000108").incident_id
    app.services.close(iid, "handled")
    app.login("demo-lead", "demo")
    ctx = replace(app.services.ctx, read_only=True)
    before = _last(app)
    with pytest.raises(DispatchError, match="只读"):
        reopen(ctx, iid, "再次来电")
    with pytest.raises(DispatchError, match="只读"):
        move(ctx, iid, "席位02")
    assert _last(app) == before


def _act(data_dir: Path, user: str, commands: list[dict]) -> list[dict]:
    env = dict(os.environ, DISPATCH_PASSWORD="demo")
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), "--user", user, "act"], cwd=REPO,
                       input="".join(json.dumps(c, ensure_ascii=False) + "\n" for c in commands),
                       capture_output=True, text=True, timeout=180, env=env)
    return checked(r)


def test_act_reopen_and_move_as_the_lead_and_refused_to_a_calltaker(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    out = _act(tmp_path, "demo-lead", [
        {"op": "open_call", "number": "13800000109"},
        {"op": "close", "incident_id": 1, "result": "handled"},
        {"op": "reopen", "incident_id": 1, "reason": "报警人再次来电"},
        {"op": "move", "incident_id": 1, "to": "席位05", "reason": "专人跟进"},
        {"op": "reopen", "incident_id": 1, "reason": "再次"},
        {"op": "move", "incident_id": 1},
    ])
    iid = out[0]["incident_id"]
    assert iid == 1, out  # a fresh copy of the demo: the first incident
    assert out[2] == {"ok": True, "incident_id": 1, "status": "pending"}
    assert out[3] == {"ok": True, "incident_id": 1, "seat": "席位05", "operator": "demo-lead"}
    assert out[4]["ok"] is False and "只有已结警的警情才能重新打开" in out[4]["error"]
    assert out[5] == {"ok": False, "error": "to 应为非空文字"}
    out = _act(tmp_path, "demo-calltaker", [
        {"op": "close", "incident_id": 1, "result": "handled"},
        {"op": "reopen", "incident_id": 1, "reason": "再次来电"},
        {"op": "move", "incident_id": 1, "to": "席位02"},
    ])
    assert out[0]["ok"] is True
    assert [o["ok"] for o in out[1:]] == [False, False] and all("需要值班长权限" in o["error"] for o in out[1:])
    app = bootstrap(Settings(data_dir=tmp_path))
    with app.session() as s:
        kinds = [e.kind for e in eventlog.read(s, incident_id=1)]
        view = queries.incident(s, 1)
    app.engine.dispose()
    assert kinds == ["call.received", "incident.closed", "incident.reopened", "incident.moved", "incident.closed"]
    assert (view.status.value, view.seat) == ("closed", "席位05")


def _stale_incident_write(app, other, iid: int) -> ConcurrentChange:
    """Seat A holds the incident it read; seat B's note lands first; A's write is refused."""
    with pytest.raises(ConcurrentChange) as refused:
        with app.store.transaction() as s:
            held = s.get(IncidentRow, iid)
            other.services.add_note(iid, "报警人补充：对方已离开")
            held.narrative = "过时的内容"
    return refused.value


def _stale_writes_name_the_seat(app, clock) -> None:
    app.login("demo-calltaker", "demo")
    other = _second_seat(app, clock)
    iid = app.services.open_call("13800000110").incident_id
    clock.advance(30)  # 12:00:30 in Asia/Shanghai
    exc = _stale_incident_write(app, other, iid)
    assert str(exc) == "该警情已被 席位02（demo-dispatcher）于 12:00:30 修改，请刷新后重试"
    assert (exc.by_seat, exc.by_operator, exc.record) == ("席位02", "demo-dispatcher", ("警情", iid))
    assert _incident(app, iid).narrative == ""  # nothing of the stale write was kept
    # a unit: B sets it off duty while A holds it
    with app.session() as s:
        unit_id = next(u.id for u in queries.unit_snapshots(s) if u.status is UnitStatus.AVAILABLE)
    clock.advance(61)
    with pytest.raises(ConcurrentChange) as refused:
        with app.store.transaction() as s:
            held = s.get(UnitRow, unit_id)
            other.services.set_unit_status(unit_id, UnitStatus.OFF_DUTY)
            held.status = UnitStatus.DISPATCHED.value
    assert str(refused.value) == "该警力已被 席位02（demo-dispatcher）于 12:01:31 修改，请刷新后重试"
    # no display time zone: said without a time; a bad one likewise
    for tz in (None, "Mars/Olympus"):
        app.store.tz = tz
        clock.advance(1)
        assert str(_stale_incident_write(app, other, iid)) == "该警情已被 席位02（demo-dispatcher）修改，请刷新后重试"
    other.engine.dispose()


def test_a_stale_write_names_the_seat_on_sqlite(app, clock):
    _stale_writes_name_the_seat(app, clock)


def test_the_lookup_never_raises_a_second_error(tmp_path, app):
    empty = Store(make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}"), tz="Asia/Shanghai")
    refusal = empty.stale_refusal({(IncidentRow, 1): 1})  # no tables: the lookup fails inside
    assert isinstance(refusal, ConcurrentChange) and str(refusal) == STALE
    assert str(app.store.stale_refusal({})) == STALE
    iid = app.services.open_call("13800000111").incident_id
    version = _incident(app, iid).version
    assert str(app.store.stale_refusal({(IncidentRow, iid): version})) == STALE  # nothing moved: cannot tell
    empty.engine.dispose()


@pytest.mark.postgres
def test_a_stale_write_names_the_seat_on_postgresql(pg_url, tmp_path, clock):
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        assert app.engine.dialect.name == "postgresql"
        try:
            _stale_writes_name_the_seat(app, clock)
        finally:
            app.engine.dispose()
