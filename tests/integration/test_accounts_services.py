"""Accounts through the real services on a real SQLite file: the demo's accounts, logins,
the authenticated operator on every event, and each role refusal changing nothing."""
from __future__ import annotations

import shutil

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import DispatchError
from dispatch.domain.roles import Role
from dispatch.services import queries
from dispatch.services.accounts import add_account, list_accounts
from dispatch.services.context import Actor
from dispatch.settings import Settings
from dispatch.store import eventlog

POINT = (121.4846, 31.2345)  # central Shanghai, inside the demo


def _last(app) -> int:
    with app.session() as s:
        return eventlog.last_id(s)


def _events(app, since: int):
    with app.session() as s:
        return eventlog.read(s, since_id=since)


def test_the_demo_has_one_account_per_role_with_password_demo(app):
    rows = list_accounts(app.store)
    assert {r["name"]: r["role"] for r in rows} == {f"demo-{r.value}": r.value for r in Role}
    assert all(r["demo"] for r in rows) and all("hash" not in k for r in rows for k in r)
    assert app.accounts_mode() == "demo"
    for role in Role:
        assert app.login(f"demo-{role.value}", "demo").role == role.value


def test_a_wrong_password_or_unknown_name_changes_nothing(app):
    before = app.actor
    for name, password in (("demo-lead", "wrong"), ("demo-lead", ""), ("局长", "demo"), ("", "")):
        with pytest.raises(DispatchError, match="账号或密码错误"):
            app.login(name, password)
    assert app.actor == before


def test_every_event_carries_the_authenticated_operator_at_the_configured_seat(app):
    actor = app.login("demo-calltaker", "demo")
    assert actor == Actor(app.settings.seat, "demo-calltaker", "calltaker")
    since = _last(app)
    iid = app.services.open_call("13800000001", "王先生").incident_id
    app.services.add_note(iid, "报警人称有人争吵")
    events = _events(app, since)
    assert [(e.seat, e.operator) for e in events] == [(app.settings.seat, "demo-calltaker")] * 2
    with app.session() as s:
        assert queries.incident(s, iid).operator == "demo-calltaker"


def test_only_the_shift_lead_or_admin_confirms_a_place(app):
    app.login("demo-calltaker", "demo")
    proposed = app.services.propose_place("老鸭窝", *POINT)
    place_id = _events(app, proposed.last_event_id - 1)[0].payload["place_id"]
    for who in ("demo-calltaker", "demo-dispatcher"):
        app.login(who, "demo")
        before = _last(app)
        with pytest.raises(DispatchError, match="需要值班长或管理员权限"):
            app.services.confirm_place(place_id)
        assert _last(app) == before
    app.login("demo-lead", "demo")
    done = app.services.confirm_place(place_id)
    assert _events(app, done.last_event_id - 1)[0].operator == "demo-lead"


def test_closing_is_the_floors_job_not_the_admins(app):
    app.login("demo-dispatcher", "demo")
    iid = app.services.open_call("13800000002").incident_id
    app.login("demo-admin", "demo")
    before = _last(app)
    with pytest.raises(DispatchError, match="需要接警员或调度员或值班长权限"):
        app.services.close(iid, "invalid")
    assert _last(app) == before
    app.login("demo-lead", "demo")
    app.services.close(iid, "invalid")
    with app.session() as s:
        assert queries.incident(s, iid).status.value == "closed"


def test_a_trainer_may_not_write_to_the_live_database(app):
    app.login("demo-trainer", "demo")
    before = _last(app)
    with pytest.raises(DispatchError, match="培训师只能在培训副本"):
        app.services.open_call("110")
    units = app.unit_snapshots()
    with pytest.raises(DispatchError, match="培训师只能在培训副本"):
        app.services.set_unit_status(units[0].id, "acknowledged")
    with pytest.raises(DispatchError, match="培训师只能在培训副本"):  # a logged recommendation is a write
        app.services.recommend(1)
    assert _last(app) == before


def test_a_trainer_runs_a_training_copy(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    exercise = bootstrap(Settings(data_dir=tmp_path, training=True, load_demo=False))
    exercise.login("demo-trainer", "demo")
    iid = exercise.services.open_call("110", "演练").incident_id
    exercise.services.close(iid, "invalid", "演练结警")
    with exercise.session() as s:
        assert queries.incident(s, iid).operator == "demo-trainer"
    exercise.engine.dispose()


def test_only_an_admin_manages_accounts(app):
    app.login("demo-lead", "demo")
    with pytest.raises(DispatchError, match="需要管理员权限"):
        add_account(app.services.ctx, "zhang", "calltaker", "zhang-pass-1")
    app.login("demo-admin", "demo")
    add_account(app.services.ctx, "zhang", "接警员", "zhang-pass-1")
    with pytest.raises(DispatchError, match="已存在"):
        add_account(app.services.ctx, "zhang", "calltaker", "zhang-pass-2")
    assert app.accounts_mode() == "accounts"
    assert app.login("zhang", "zhang-pass-1").role == "calltaker"


def test_anonymous_on_a_database_with_accounts_reads_but_never_writes(app):
    app.login("demo-admin", "demo")
    add_account(app.services.ctx, "li", "lead", "li-password")
    app.refuse_anonymous_writes()
    before = _last(app)
    for attempt in (lambda: app.services.open_call("110"),
                    lambda: add_account(app.services.ctx, "wang", "admin", "wang-password")):
        with pytest.raises(DispatchError, match="需要登录"):
            attempt()
    assert _last(app) == before
    assert app.unit_snapshots()  # reading is fine


def test_the_first_account_is_an_admin_and_needs_nobody(tmp_path, clock):
    fresh = bootstrap(Settings(data_dir=tmp_path, load_demo=False), clock=clock)
    assert fresh.accounts_mode() == "none"
    with pytest.raises(DispatchError, match="第一个账号必须是管理员"):
        add_account(fresh.services.ctx, "zhang", "calltaker", "zhang-pass-1")
    for bad in ("", "a b", "x" * 65):
        with pytest.raises(DispatchError, match="账号名"):
            add_account(fresh.services.ctx, bad, "admin", "boss-password")
    with pytest.raises(DispatchError, match="密码长度"):
        add_account(fresh.services.ctx, "boss", "admin", "short")
    assert list_accounts(fresh.store) == []
    add_account(fresh.services.ctx, "boss", "admin", "boss-password")
    first = _events(fresh, 0)[-1]
    assert (first.kind, first.operator, first.payload) == ("account.added", "boss", {"name": "boss", "role": "admin"})
    with pytest.raises(DispatchError, match="需要管理员权限"):  # the next one needs an admin
        add_account(fresh.services.ctx, "zhang", "calltaker", "zhang-pass-1")
    fresh.engine.dispose()


def test_handover_passes_the_outgoing_operators_open_incidents_and_the_fold_follows(app, clock):
    from dispatch.replay.state import load_index
    from dispatch.services.accounts import take_over

    app.login("demo-calltaker", "demo")
    kept = app.services.open_call("13800000003").incident_id
    closed = app.services.open_call("13800000004").incident_id
    app.services.close(closed, "invalid")
    app.login("demo-dispatcher", "demo")
    theirs = app.services.open_call("13800000005").incident_id
    clock.advance(30)
    app.login("demo-lead", "demo")  # the next shift at this seat
    changes = take_over(app.services.ctx, "demo-calltaker")
    assert changes.incidents == {kept}
    with app.session() as s:
        by_id = {i: queries.incident(s, i) for i in (kept, closed, theirs)}
        handed = eventlog.read(s, since_id=changes.last_event_id - 1)[0]
    assert by_id[kept].operator == "demo-lead" and by_id[closed].operator == "demo-calltaker"
    assert by_id[theirs].operator == "demo-dispatcher"
    assert (handed.kind, handed.operator, handed.payload["from"], handed.payload["to"]) == \
        ("incident.handed_over", "demo-lead", "demo-calltaker", "demo-lead")
    index = load_index(app)
    assert index.incident_at(kept, clock.now()) == by_id[kept]  # a fold of the log = the projection
    app.login("demo-admin", "demo")
    with pytest.raises(DispatchError, match="需要接警员或调度员或值班长权限"):
        take_over(app.services.ctx, "demo-dispatcher")


def test_accounts_and_refusals_on_postgresql(pg_url, tmp_path, clock):
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        pg = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=clock)
        add_account(pg.services.ctx, "boss", "admin", "boss-password")
        assert pg.accounts_mode() == "accounts"
        pg.login("boss", "boss-password")
        add_account(pg.services.ctx, "zhang", "calltaker", "zhang-pass-1")
        with pytest.raises(DispatchError, match="账号或密码错误"):
            pg.login("zhang", "zhang-pass-2")
        pg.login("zhang", "zhang-pass-1")
        iid = pg.services.open_call("13800000007").incident_id
        with pytest.raises(DispatchError, match="需要管理员权限"):
            add_account(pg.services.ctx, "li", "lead", "li-password")
        with pg.session() as s:
            assert queries.incident(s, iid).operator == "zhang"
        assert [r["name"] for r in list_accounts(pg.store)] == ["boss", "zhang"]
        pg.engine.dispose()
