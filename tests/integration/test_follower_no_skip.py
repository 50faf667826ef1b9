"""A follower reading `id > cursor` never skips an event.

The old failure, reproduced deterministically on PostgreSQL: two transactions take
ids 1 and 2 from the sequence, the one with id 2 commits first, the follower reads
past 2, then id 1 commits and is never read. With serialised appends the second
transaction waits for the first, so ids follow commit order and the follower sees
both. On PostgreSQL NOTIFY wakes the follower, and after its listening connection is
killed it reconnects and catches up without a gap."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from dispatch.bootstrap import bootstrap
from dispatch.domain import events as ev
from dispatch.feeds.follower import Follower
from dispatch.services.context import Actor, append_event
from dispatch.settings import Settings
from tests.integration.pg_schema import fresh_schema

_INSERT = text("INSERT INTO events (occurred_at, seat, operator, kind, payload) "
               "VALUES (now(), :seat, 'op', 'incident.noted', CAST('{}' AS json)) RETURNING id")


@pytest.mark.postgres
def test_unserialised_inserts_commit_out_of_id_order_and_a_cursor_skips(pg_url, tmp_path):
    """The hazard itself (ids from the sequence, no append lock): the follower skips id 1."""
    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
        follower = Follower(app.store)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as a, engine.connect() as b:
            low = a.execute(_INSERT, {"seat": "A"}).scalar()
            high = b.execute(_INSERT, {"seat": "B"}).scalar()
            assert low < high
            b.commit()
            assert [e.id for e in follower.read_new()] == [high]
            a.commit()
        assert follower.read_new() == []  # id `low` committed, and was skipped for good
        engine.dispose()
        app.engine.dispose()


def _hold_an_append(app, appended: threading.Event, release: threading.Event, out: dict) -> None:  # noqa: ANN001
    """Seat A: append in a transaction and keep it open until told to commit."""
    sv = app.services_for(Actor("席位01", "接警员甲"))
    with app.store.transaction(appends=True) as s:
        out["a"] = append_event(sv.ctx, s, ev.INCIDENT_NOTED, payload={"note": "甲先拿到编号"})
        appended.set()
        release.wait(10)
    out["a_committed"] = time.perf_counter()


def _serialised_appends_are_all_seen(app_a, app_b) -> None:  # noqa: ANN001
    follower = Follower(app_a.store)
    appended, release, out = threading.Event(), threading.Event(), {}
    holder = threading.Thread(target=_hold_an_append, args=(app_a, appended, release, out))
    holder.start()
    assert appended.wait(5)

    def seat_b() -> None:
        out["b"] = app_b.services_for(Actor("席位02", "接警员乙")).open_call("13700000000", "").last_event_id
        out["b_committed"] = time.perf_counter()

    other = threading.Thread(target=seat_b)
    other.start()
    time.sleep(0.4)
    assert other.is_alive(), "seat B appended while seat A held the append lock"
    assert follower.read_new() == []
    release.set()
    holder.join(10)
    other.join(10)
    assert out["a"] < out["b"] and out["a_committed"] < out["b_committed"]
    assert [e.id for e in follower.read_new()] == [out["a"], out["b"]]


def test_serialised_appends_never_skip_sqlite(app, clock):
    other = bootstrap(app.settings, clock=clock)
    _serialised_appends_are_all_seen(app, other)
    other.engine.dispose()


@pytest.mark.postgres
def test_serialised_appends_never_skip_postgresql(pg_url, tmp_path, clock):
    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path, load_demo=False)
        a, b = bootstrap(settings, clock=clock), bootstrap(settings, clock=clock)
        _serialised_appends_are_all_seen(a, b)
        a.engine.dispose()
        b.engine.dispose()


@pytest.mark.postgres
def test_notify_wakes_and_a_killed_listener_catches_up(pg_url, tmp_path, clock):
    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path, load_demo=False)
        app, other = bootstrap(settings, clock=clock), bootstrap(settings, clock=clock)
        seat_b = other.services_for(Actor("席位02", "接警员乙"))
        follower = Follower(app.store)
        follower.listen(retry_s=0.2)
        listener = follower.listener
        assert listener is not None and listener.connected.wait(5)
        follower.wait(0.5)  # the wake-up of the first connection

        t0 = time.perf_counter()
        first = seat_b.open_call("13700000001", "").last_event_id
        assert follower.wait(2.0), "NOTIFY did not wake the follower"
        assert (time.perf_counter() - t0) < 1.0
        assert [e.id for e in follower.read_new()] == [first]

        with app.engine.begin() as c:  # the server drops the listening connection
            c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid})
        missed = [seat_b.open_call(f"1370000000{k}", "").last_event_id for k in range(2, 5)]
        deadline = time.monotonic() + 10
        while listener.connections < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.connections >= 2
        got = []
        while len(got) < 3 and time.monotonic() < deadline:
            follower.wait(0.5)
            got += follower.read_new()
        assert [e.id for e in got] == missed == list(range(first + 1, first + 4))
        follower.close()
        app.engine.dispose()
        other.engine.dispose()
