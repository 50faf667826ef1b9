"""An action holds the append lock for few round trips (PostgreSQL): it reads the rows it
acts on (one read) and decides before the lock; then the advisory lock and the end of the
hash chain in one statement, and at the commit one statement with its projection rows
(version-checked), its events, the anchor and the followers' notification. A transaction
still reads its own events; a log without an anchor row still serialises its appends; a
pooled connection dropped while idle is replaced before use, not turned into a refusal."""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import pq
from sqlalchemy import create_engine, event, text

from dispatch.bootstrap import bootstrap
from dispatch.domain import events as ev
from dispatch.domain.errors import StoreUnavailable
from dispatch.services.context import append_event
from dispatch.settings import Settings
from dispatch.store import db, eventlog, hashchain
from dispatch.store.db import Store, make_engine
from tests.integration.pg_schema import fresh_schema


@contextlib.contextmanager
def _client_messages(engine) -> Iterator[list[str]]:  # noqa: ANN001
    """libpq's trace of the connections checked out meanwhile (its lines, filled at the end)."""
    with tempfile.NamedTemporaryFile("w", suffix=".trace") as out:
        traced = []

        def trace(dbapi_conn, _record, _proxy) -> None:  # noqa: ANN001
            dbapi_conn.pgconn.trace(out.fileno())
            dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            traced.append(dbapi_conn)
        event.listen(engine, "checkout", trace)
        lines: list[str] = []
        try:
            yield lines
        finally:
            event.remove(engine, "checkout", trace)
            for c in traced:
                c.pgconn.untrace()
            lines += Path(out.name).read_text().splitlines()


def _round_trips(trace: list[str]) -> list[str]:
    """The client's messages split at each wait for the server (a Sync, or a simple Query)."""
    trips, current = [], []
    for line in trace:
        direction, _length, message = (line.split("\t") + ["", ""])[:3]
        if direction != "F":
            continue
        current.append(line)
        if message.startswith(("Sync", "Query")):
            trips.append("\n".join(current))
            current = []
    return trips


def _statements(engine) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: seen.append(" ".join(stmt.split())))
    return seen


@pytest.mark.postgres
def test_a_note_reads_before_the_lock_and_holds_it_for_two_round_trips(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
        iid = app.services.open_call("13800138000", "").incident_id
        seen = _statements(app.engine)
        with _client_messages(app.engine) as trace:
            app.services.add_note(iid, "补充")
        assert len(seen) == 3, seen
        read, lock, write = seen
        assert "pg_advisory_xact_lock" in lock and "FROM log_anchor" in lock and "FOR UPDATE" in lock
        assert "FROM incidents LEFT OUTER JOIN assignments" in read
        trips = _round_trips(trace)
        assert len(trips) == 4, trips  # BEGIN, the read, then under the lock:
        assert '"BEGIN"' in trips[0] and "SELECT incidents.id" in trips[1]
        assert "pg_advisory_xact_lock" in trips[2]
        assert write.startswith("WITH incidents_written AS (UPDATE incidents AS t SET version")
        assert "AND t.version = r.version" in write
        assert "INSERT INTO events" in write and "UPDATE log_anchor" in write and "pg_notify" in write
        # the rows, the events, the anchor, the wake and the commit: one round trip
        assert "incidents_written" in trips[3] and '"COMMIT"' in trips[3].splitlines()[-5]
        with app.store.reader() as s:
            assert s.get(db.IncidentRow, iid).version == 2  # one step for the note
        with app.engine.connect() as c:
            assert hashchain.verify(c).ok
            assert [r[0] for r in c.execute(text("SELECT kind FROM events ORDER BY id"))] == \
                [ev.CALL_RECEIVED, ev.INCIDENT_NOTED]
        app.engine.dispose()


def _reads_its_own_events(url: str, data_dir) -> None:  # noqa: ANN001
    app = bootstrap(Settings(db_url=url, data_dir=data_dir, load_demo=False))
    iid = app.services.open_call("13800138000", "").incident_id
    with app.store.transaction(appends=True) as s:
        first = append_event(app.services.ctx, s, ev.INCIDENT_NOTED, iid, payload={"text": "一"})
        second = append_event(app.services.ctx, s, ev.INCIDENT_NOTED, iid, payload={"text": "二"})
        assert second == first + 1
        assert [e.id for e in eventlog.read(s, incident_id=iid)][-2:] == [first, second]
        third = append_event(app.services.ctx, s, ev.INCIDENT_NOTED, iid, payload={"text": "三"})
    with app.store.reader() as s:
        assert [e.payload.get("text") for e in eventlog.read(s, since_id=first - 1)] == ["一", "二", "三"]
        assert eventlog.last_id(s) == third
    with app.engine.connect() as c:
        assert hashchain.verify(c).ok
    app.engine.dispose()


def test_a_transaction_reads_its_own_events_before_the_commit_sqlite(tmp_path):
    _reads_its_own_events(f"sqlite:///{tmp_path / 'own.sqlite3'}", tmp_path)


@pytest.mark.postgres
def test_a_transaction_reads_its_own_events_before_the_commit(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        _reads_its_own_events(url, tmp_path)


@pytest.mark.postgres
def test_a_log_without_an_anchor_row_serialises_and_makes_the_row(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
        with app.engine.begin() as c:
            c.execute(text("DELETE FROM log_anchor"))
        seen = _statements(app.engine)
        app.services.open_call("13800138000", "")
        assert any("pg_advisory_xact_lock" in q for q in seen)
        with app.engine.connect() as c:
            assert hashchain.read_anchor(c).events == 1
            assert hashchain.verify(c).ok
        app.services.open_call("13900139000", "")
        with app.engine.connect() as c:
            assert hashchain.read_anchor(c).events == 2
            assert hashchain.verify(c).ok
        app.engine.dispose()


@pytest.mark.postgres
def test_the_anchor_read_with_the_lock_is_the_newest(pg_url, tmp_path):
    """The lock is taken inside the anchor's statement, whose snapshot is older than the
    lock: a transaction that waited for another's commit must still read the anchor that
    commit wrote (else it would reuse ids and break the chain)."""
    import threading
    from datetime import datetime, timezone
    with fresh_schema(pg_url) as url:
        bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False)).engine.dispose()
        first, second = Store(make_engine(url)), Store(make_engine(url))
        holding, go_on, ids = threading.Event(), threading.Event(), []

        def slow_append() -> None:
            with first.transaction(appends=True) as s:
                holding.set()
                go_on.wait(10)
                ids.append(eventlog.append(s, at=datetime.now(timezone.utc), seat="席位01", operator="甲",
                                           kind=ev.INCIDENT_NOTED).id)

        t = threading.Thread(target=slow_append)
        t.start()
        assert holding.wait(10)
        waiter = threading.Thread(target=lambda: ids.append(_append_id(second)))
        waiter.start()          # its statement starts (and takes its snapshot) while the lock is held
        waiter.join(0.5)
        assert waiter.is_alive(), "the second append did not wait for the lock"
        go_on.set()
        t.join(10)
        waiter.join(10)
        assert ids[1] == ids[0] + 1
        with first.engine.connect() as c:
            verdict = hashchain.verify(c)
            assert verdict.ok and verdict.events == 2
        first.engine.dispose()
        second.engine.dispose()


def _append_id(store: Store) -> int:
    from datetime import datetime, timezone
    with store.transaction(appends=True) as s:
        return eventlog.append(s, at=datetime.now(timezone.utc), seat="席位02", operator="乙",
                               kind=ev.INCIDENT_NOTED).id


def _kill_the_pooled_connection(store: Store, pg_url: str) -> None:
    with store.engine.connect() as c:
        pid = c.connection.driver_connection.info.backend_pid
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:
        c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _append(store: Store) -> None:
    from datetime import datetime, timezone
    with store.transaction(appends=True) as s:
        eventlog.append(s, at=datetime.now(timezone.utc), seat="席位01", operator="甲", kind=ev.INCIDENT_NOTED)


@pytest.mark.postgres
def test_a_pooled_connection_dropped_while_idle_is_replaced_before_use(pg_url, tmp_path, monkeypatch):
    with fresh_schema(pg_url) as url:
        bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False)).engine.dispose()  # migrated
        store = Store(make_engine(url))
        _append(store)
        monkeypatch.setattr(db, "PING_IDLE_S", 0.0)   # idle at all: pinged
        _kill_the_pooled_connection(store, pg_url)
        _append(store)                                  # the ping found it dead: a new connection
        monkeypatch.setattr(db, "PING_IDLE_S", 3600.0)  # never pinged: the same drop is a refusal
        _kill_the_pooled_connection(store, pg_url)
        with pytest.raises(StoreUnavailable, match="连接中断"):
            _append(store)
        _append(store)                                  # and the pool reconnects after it
        with store.engine.connect() as c:
            verdict = hashchain.verify(c)
            assert verdict.ok and verdict.events == 3
        store.engine.dispose()
