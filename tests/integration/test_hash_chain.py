"""The event log is a SHA-256 hash chain with an anchor: a clean log verifies; an
edited payload, a deleted row, a removed tail and an emptied log are each named by
`verify-log`, on SQLite and on PostgreSQL, once the database's own guards are dropped."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from dispatch.bootstrap import bootstrap
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.settings import Settings
from dispatch.store import hashchain
from tests.integration.pg_schema import fresh_schema

REPO = Path(__file__).resolve().parents[2]


def _some_calls(app, n: int = 3) -> list[int]:
    """Real actions: calls at real Shanghai places, categorised, one dispatched and closed."""
    sv = app.services
    places = [("人民广场", 121.4737, 31.2304), ("南京东路步行街", 121.4840, 31.2390),
              ("外滩", 121.4903, 31.2400)]
    ids = []
    for k in range(n):
        name, lon, lat = places[k % len(places)]
        iid = sv.open_call(f"1380013800{k}", "王女士").incident_id
        sv.locate(iid, Location(name=name, lon=lon, lat=lat, kind="landmark"))
        sv.categorise(iid, "theft", None, "手机被偷")
        ids.append(iid)
    unit = next(u for u in app.unit_snapshots() if u.status.value == "available")
    sv.dispatch(ids[0], [unit.id])
    sv.close(ids[0], "handled", "已处置")
    return ids


def _verify_cli(args: list[str]) -> tuple[int, dict]:
    r = subprocess.run([sys.executable, "main.py", *args, "verify-log", "--json"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    assert r.stderr == ""
    return r.returncode, json.loads(r.stdout)


def _event_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT id FROM events ORDER BY id")]


def test_clean_log_verifies_and_every_event_is_chained(app):
    _some_calls(app)
    with app.engine.connect() as c:
        rows = c.execute(text("SELECT id, hash FROM events ORDER BY id")).all()
        anchor = hashchain.read_anchor(c)
    assert len(rows) >= 12 and all(len(h) == 64 for _, h in rows)
    assert (anchor.events, anchor.last_id, anchor.last_hash) == (len(rows), rows[-1][0], rows[-1][1])
    app.engine.dispose()
    code, out = _verify_cli(["--data-dir", str(app.settings.data_dir)])
    assert (code, out) == (0, {"events": len(rows), "ok": True, "first_bad": None})


def test_sqlite_tampering_is_named(app):
    _some_calls(app)
    app.engine.dispose()
    db = app.settings.data_dir / "dispatch.sqlite3"
    ids = _event_ids(db)
    with sqlite3.connect(db) as c:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute("UPDATE events SET payload = '{}' WHERE id = ?", (ids[3],))
        c.execute("DROP TRIGGER events_no_update")
        c.execute("DROP TRIGGER events_no_delete")
        c.execute("""UPDATE events SET payload = json_set(payload, '$.caller_number', '13999999999')
                     WHERE id = ?""", (ids[4],))
    args = ["--data-dir", str(app.settings.data_dir)]
    assert _verify_cli(args) == (1, {"events": len(ids), "ok": False, "first_bad": ids[4]})


def test_sqlite_deleted_row_tail_and_emptied_log_are_detected(tmp_path, demo_template):
    import shutil

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    app = bootstrap(Settings(data_dir=tmp_path))
    _some_calls(app)
    app.engine.dispose()
    db, args = tmp_path / "dispatch.sqlite3", ["--data-dir", str(tmp_path)]
    ids = _event_ids(db)
    with sqlite3.connect(db) as c:
        c.execute("DROP TRIGGER events_no_delete")
        c.execute("DELETE FROM events WHERE id = ?", (ids[2],))
    code, out = _verify_cli(args)
    assert code == 1 and out["first_bad"] == ids[3]  # the row after the gap no longer chains
    with sqlite3.connect(db) as c:  # put the chain right again but drop the tail
        c.execute("DELETE FROM events WHERE id >= ?", (ids[2],))
    code, out = _verify_cli(args)
    assert (code, out) == (1, {"events": 2, "ok": False, "first_bad": ids[2]})
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM events")  # SQLite's TRUNCATE
    assert _verify_cli(args) == (1, {"events": 0, "ok": False, "first_bad": 1})


def test_concurrent_seats_keep_one_chain(app, clock):
    """Four seats, each its own engine, appending at once: one chain, ids without a gap."""
    seats = [bootstrap(app.settings, clock=clock) for _ in range(4)]
    errors = []
    with app.engine.connect() as c:
        before = hashchain.verify(c).events  # the demo roster's unit.created events

    def work(k: int) -> None:
        sv = seats[k].services_for(Actor(f"席位0{k + 1}", f"接警员{k}"))
        try:
            for _ in range(15):
                iid = sv.open_call("110", "").incident_id
                sv.add_note(iid, "来电人情绪激动")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.engine.connect() as c:
        verdict = hashchain.verify(c)
        ids = [r[0] for r in c.execute(text("SELECT id FROM events ORDER BY id"))]
    assert verdict.ok and verdict.events == before + 120
    assert ids[-120:] == list(range(ids[-120], ids[-120] + 120))
    for s in seats:
        s.engine.dispose()


@pytest.mark.postgres
def test_postgresql_tampering_and_truncate_are_detected(pg_url, tmp_path, clock):
    with fresh_schema(pg_url) as url:
        app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        _some_calls(app)
        args = ["--db", url, "--data-dir", str(tmp_path)]
        with app.engine.connect() as c:
            ids = [r[0] for r in c.execute(text("SELECT id FROM events ORDER BY id"))]
        assert _verify_cli(args) == (0, {"events": len(ids), "ok": True, "first_bad": None})
        with app.engine.begin() as c:
            c.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
            c.execute(text("UPDATE events SET payload = CAST(:p AS json) WHERE id = :i"),
                      {"p": json.dumps({"note": "改写"}), "i": ids[5]})
        assert _verify_cli(args) == (1, {"events": len(ids), "ok": False, "first_bad": ids[5]})
        with app.engine.begin() as c:
            c.execute(text("TRUNCATE events"))
        assert _verify_cli(args) == (1, {"events": 0, "ok": False, "first_bad": 1})
        app.engine.dispose()


@pytest.mark.postgres
def test_postgresql_concurrent_seats_keep_one_chain(pg_url, tmp_path, clock):
    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path, load_demo=False)
        app = bootstrap(settings, clock=clock)
        seats = [bootstrap(settings, clock=clock) for _ in range(4)]
        errors = []

        def work(k: int) -> None:
            sv = seats[k].services_for(Actor(f"席位0{k + 1}", f"接警员{k}"))
            try:
                for _ in range(15):
                    iid = sv.open_call("110", "").incident_id
                    sv.add_note(iid, "补充：嫌疑人往东跑了")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with app.engine.connect() as c:
            verdict = hashchain.verify(c)
        assert verdict.ok and verdict.events == 120
        for s in [app, *seats]:
            s.engine.dispose()


def test_a_log_written_before_the_chain_is_chained_by_the_migration(tmp_path):
    """A database at the initial schema with events in it (an older console): upgrading
    chains the existing events in id order and new appends continue the chain."""
    from alembic import command

    from dispatch.store import migrate
    from dispatch.store.db import make_engine

    url = f"sqlite:///{tmp_path / 'dispatch.sqlite3'}"
    engine = make_engine(url)
    command.upgrade(migrate.alembic_config(engine), "0001")
    with engine.begin() as c:
        for k, (at, kind) in enumerate([("2026-11-20 01:02:03.000001", "call.received"),
                                        ("2026-11-20 01:02:09.500000", "incident.located"),
                                        ("2026-11-20 01:03:00.000000", "incident.noted")], start=1):
            c.execute(text("INSERT INTO events (id, occurred_at, seat, operator, kind, incident_id, payload) "
                           "VALUES (:i, :at, '席位01', '接警员甲', :k, 1, :p)"),
                      {"i": k, "at": at, "k": kind, "p": json.dumps({"note": "老版本写入"}, ensure_ascii=False)})
    migrate.upgrade(engine)
    with engine.connect() as c:
        assert hashchain.verify(c).as_json() == {"events": 3, "ok": True, "first_bad": None}
    engine.dispose()
    app = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False))
    app.services.open_call("110", "")
    with app.engine.connect() as c:
        assert hashchain.verify(c).as_json() == {"events": 4, "ok": True, "first_bad": None}
    app.engine.dispose()


@pytest.mark.postgres
def test_postgresql_console_role_cannot_rewrite_the_log(pg_url, tmp_path, clock):
    """The console runs as a role that may INSERT and SELECT the log, nothing more."""
    import uuid

    role = f"s9_console_{uuid.uuid4().hex[:6]}"
    with fresh_schema(pg_url) as url:
        owner = bootstrap(Settings(db_url=url, data_dir=tmp_path, load_demo=False), clock=clock)
        r = subprocess.run([sys.executable, "main.py", "--db", url, "--data-dir", str(tmp_path), "--no-demo",
                            "db-console-role", role, "--password-stdin"], cwd=REPO, input="机密-pw\n",
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        console_url = url.replace("postgresql://postgres@", f"postgresql://{role}:%E6%9C%BA%E5%AF%86-pw@", 1)
        try:
            seat = bootstrap(Settings(db_url=console_url, data_dir=tmp_path, load_demo=False), clock=clock)
            iid = seat.services.open_call("13800138000", "").incident_id
            seat.services.add_note(iid, "普通写入照常")
            for sql in ("TRUNCATE events", "DELETE FROM events", "ALTER TABLE events DISABLE TRIGGER ALL",
                        "DROP TABLE events CASCADE", "DELETE FROM log_anchor", "DROP TRIGGER events_append_only ON events"):
                with seat.engine.connect() as c, pytest.raises(Exception, match="permission denied|must be owner"):
                    c.execute(text(sql))
            with seat.engine.connect() as c:
                assert hashchain.verify(c).as_json() == {"events": 2, "ok": True, "first_bad": None}
            seat.engine.dispose()
        finally:
            owner.engine.dispose()
            with create_engine_admin(pg_url) as c:
                c.execute(text(f'DROP OWNED BY "{role}"'))
                c.execute(text(f'DROP ROLE "{role}"'))


def create_engine_admin(pg_url: str):
    import contextlib

    from sqlalchemy import create_engine

    @contextlib.contextmanager
    def conn():
        engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.begin() as c:
                yield c
        finally:
            engine.dispose()
    return conn()


def test_the_hash_is_the_documented_encoding(app):
    """Recomputed from the specification by hand, not by the code under test: SHA-256 of
    the previous hash (hex) + sorted-key compact JSON, time as ISO UTC with microseconds."""
    import hashlib

    iid = app.services.open_call("13800138000", "李先生").incident_id
    with app.engine.connect() as c:
        row = c.execute(text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).one()
        prev = c.execute(text("SELECT hash FROM events WHERE id < :i ORDER BY id DESC LIMIT 1"),
                         {"i": row.id}).scalar() or "0" * 64
    doc = ('{"id":%d,"incident_id":%d,"kind":"call.received","occurred_at":"2026-11-23T04:00:00.000000Z",'
           '"operator":"%s","payload":{"caller_name":"李先生","caller_number":"13800138000"},'
           '"seat":"%s","unit_id":null}') % (row.id, iid, app.settings.operator, app.settings.seat)
    assert row.hash == hashlib.sha256((prev + doc).encode("utf-8")).hexdigest()
