"""Reading the log for replay (dispatch.replay.log_read): payloads decoded as json would,
positions as columns split per unit (dispatch.replay.state._attach_positions)."""
from __future__ import annotations

import itertools
import json
import math
import sqlite3
from datetime import datetime, timezone

import numpy as np

from dispatch.replay import log_read
from dispatch.replay.log_read import _positions
from dispatch.replay.payloads import decode_many as _payloads
from dispatch.replay.state import _attach_positions, _UnitTrack


def test_payloads_decode_as_json_does_including_what_the_fast_decoder_refuses():
    texts = [json.dumps(p) for p in ({"to": "en_route", "callsign": "巡1"}, {"lon": 121.4800443, "admin": ["上海市"]},
                                     {"eta_s": 13.3, "grid_id": None}, {})]
    assert _payloads(texts) == [json.loads(t) for t in texts]
    assert _payloads(texts + ["null"])[-1] == {}
    with_nan = _payloads([texts[0], json.dumps({"eta_s": float("nan")})])  # json.dumps writes NaN
    assert with_nan[0] == {"to": "en_route", "callsign": "巡1"} and math.isnan(with_nan[1]["eta_s"])
    assert _payloads([{"to": "available"}, None]) == [{"to": "available"}, {}]  # PostgreSQL: dicts already


def test_positions_are_columns_and_each_unit_gets_its_own_run():
    rows = [(1, "2026-11-02 00:00:00.000000", 121.1, 31.1), (1, "2026-11-02 00:00:30.250000", 121.2, 31.2),
            (5, "2026-11-02 00:00:10.000000", 121.5, 31.5), (7, "2026-11-02 00:00:00.000000", 121.7, 31.7)]
    cols = _positions(rows)
    at0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
    assert cols.at[0] == at0 and cols.ts[1] == at0.timestamp() + 30.25
    units = {uid: _UnitTrack(row={}) for uid in (1, 5, 9)}  # 7 is not a known unit; 9 has no fix
    _attach_positions(units, cols)
    assert units[1].pos_t.tolist() == [at0.timestamp(), at0.timestamp() + 30.25]
    assert units[1].pos_lon.tolist() == [121.1, 121.2] and units[5].pos_lat.tolist() == [31.5]
    assert units[5].pos_at == [datetime(2026, 11, 2, 0, 0, 10, tzinfo=timezone.utc)]
    assert len(units[9].pos_t) == 0 and isinstance(units[9].pos_t, np.ndarray)
    _attach_positions(units, _positions([]))  # nothing recorded: nothing changes
    assert len(units[1].pos_t) == 2


def _log_db(rows: list[tuple], any_thread: bool = False) -> sqlite3.Connection:
    """(`any_thread`: usable from other threads, as the console's file databases are.)"""
    db = sqlite3.connect(":memory:", check_same_thread=not any_thread)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, occurred_at DATETIME NOT NULL, kind VARCHAR(40) NOT NULL,"
               " incident_id INTEGER, unit_id INTEGER, seat VARCHAR(64) NOT NULL, operator VARCHAR(64) NOT NULL,"
               " payload JSON NOT NULL)")
    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return db


def _same_columns(a, b) -> None:
    assert len(a) == len(b)
    for name in ("ids", "incident_ids", "unit_ids", "ts"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("at", "kinds", "seats", "operators"):
        assert getattr(a, name) == getattr(b, name), name
    assert [a.payloads.raw(k) for k in range(len(a))] == [b.payloads.raw(k) for k in range(len(b))]
    assert [a.event(k) for k in range(len(a))] == [b.event(k) for k in range(len(b))]
    decoded = [d for _, _, dicts in a.payloads.chunks() for d in dicts]
    assert decoded == [d for _, _, dicts in b.payloads.chunks() for d in dicts]


def _aggregated(db, after: int, until: str | None):  # noqa: ANN001, ANN202
    """The event columns as read_sqlite reads them (the statements on the worker thread, or
    on this one when the connection is bound to it)."""
    with log_read._Prefetch(db, after, until, list) as fetched:
        log = log_read._events_aggregated(fetched.chunks())
        assert fetched.positions() == []
    return log


def test_the_log_read_as_aggregated_chunks_equals_the_rows(monkeypatch):
    """SQLite's fast path (one aggregated row per chunk of ids) gives the very columns the
    rows give: sparse ids, no incident or unit, text with commas, quotes and control
    characters, NaN and null payloads, `until` and the ids after a checkpoint."""
    monkeypatch.setattr(log_read, "CHUNK", 3)
    texts = [{"to": "en_route", "note": "a, b; [c]"}, {"caller_name": "王\u001f五", "q": "\"x\""}, {}, None]
    rows = []
    for k, eid in enumerate([1, 2, 3, 7, 8, 20, 21, 22, 23, 50, 51, 1000]):
        payload = json.dumps({"eta_s": float("nan")}) if k == 4 else json.dumps(texts[k % len(texts)])
        rows.append((eid, f"2026-11-02 00:{k:02d}:0{k % 10}.{k * 1000:06d}", ["call.received", "unit.status"][k % 2],
                     None if k % 3 == 0 else 100 + k, None if k % 2 == 0 else 5, "席位,01" if k % 4 else '席"位', "" if k == 5 else "操作员",
                     payload))
    plain = "SELECT " + log_read._EVENT_COLUMNS + " FROM events WHERE id > ? {} ORDER BY id"
    for db, (after, until) in itertools.product(
            (_log_db(rows), _log_db(rows, any_thread=True)),
            ((0, None), (3, None), (0, "2026-11-02 00:07:07.007000"), (22, "2026-11-02 00:10:00"), (1000, None))):
        fast = _aggregated(db, after, until)
        assert fast is not None
        args = [after] + ([until] if until else [])
        slow = log_read._events(db.execute(plain.format("AND occurred_at <= ?" if until else ""), args).fetchall())
        _same_columns(fast, slow)
        assert len(fast) == len(slow) and (len(fast) > 0) == (after < 1000)
    every = _aggregated(db, 0, None)
    assert every is not None and math.isnan(every.payload(4)["eta_s"]) and every.payload(3) == {}


def test_a_text_holding_the_separator_raw_is_read_row_by_row():
    for (seat, payload), any_thread in itertools.product((("s", '{"a": "x\x1fy"}'), ("席\x1f位", '{"a": 1}')),
                                                        (False, True)):
        db = _log_db([(1, "2026-11-02 00:00:00.000000", "incident.noted", 1, None, "s", "o", '{"a": 1}'),
                      (2, "2026-11-02 00:00:01.000000", "incident.noted", 1, None, seat, "o", payload)],
                     any_thread)
        assert _aggregated(db, 0, None) is None  # the caller then reads the rows


def test_positions_in_table_order_are_sorted_by_unit_time_and_id():
    rows = [(5, "2026-11-02 00:00:10.000000", 121.5, 31.5, 4), (1, "2026-11-02 00:00:30.250000", 121.2, 31.2, 2),
            (1, "2026-11-02 00:00:00.000000", 121.1, 31.1, 3), (1, "2026-11-02 00:00:00.000000", 121.0, 31.0, 1)]
    cols = log_read._sorted_columns(*log_read._row_columns(rows))
    ordered = sorted(rows, key=lambda r: (r[0], r[1], r[4]))
    expect = _positions([r[:4] for r in ordered])
    for name in ("unit_ids", "lon", "lat", "ts"):
        assert np.array_equal(getattr(cols, name), getattr(expect, name)), name
    assert cols.at == expect.at and cols.lon.tolist() == [121.0, 121.1, 121.2, 121.5]
    assert len(log_read._sorted_columns(*log_read._row_columns([]))) == 0


def test_a_failing_statement_on_the_worker_is_raised_to_the_reader():
    db = _log_db([], any_thread=True)
    db.execute("DROP TABLE events")
    try:
        _aggregated(db, 0, None)
    except sqlite3.OperationalError as exc:
        assert "events" in str(exc)
    else:
        raise AssertionError("a missing table read as an empty log")


def test_positions_read_aggregated_are_the_rows_exactly(monkeypatch):
    """The positions as one row per range of ids (floats written with 17 digits) are the
    very values the rows hold: full-precision doubles, sparse ids, the period's bounds."""
    monkeypatch.setattr(log_read, "CHUNK", 7)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE positions (id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL, at DATETIME NOT NULL,"
               " lon FLOAT NOT NULL, lat FLOAT NOT NULL)")
    rng = np.random.default_rng(5)
    rows = [(int(i), int(rng.integers(1, 9)), f"2026-11-02 00:{k // 60:02d}:{k % 60:02d}.{k * 7919 % 10**6:06d}",
             float(121 + rng.random()), float(31 + rng.random() / 3))
            for k, i in enumerate(sorted(rng.choice(10_000, 60, replace=False) + 1))]
    rows.append((20_000, 3, "2026-11-02 01:00:00.000000", 121.1 + 1e-13, 31.2 - 1 / 3))
    db.executemany("INSERT INTO positions VALUES (?, ?, ?, ?, ?)", rows)
    for where, args in (("", []), (" WHERE at <= ? AND at >= ?", ["2026-11-02 00:00:40", "2026-11-02 00:00:05"])):
        fast = log_read._positions_aggregated(db, where, args)
        slow = log_read._row_columns(db.execute(f"SELECT unit_id, at, lon, lat, id FROM positions{where}",
                                                args).fetchall())
        assert fast is not None and len(fast[0]) == len(slow[0]) > 0
        for a, b in zip(fast, slow):
            assert (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b)
        assert fast[2].tobytes() == slow[2].tobytes() and fast[3].tobytes() == slow[3].tobytes()  # bit for bit
    assert len(log_read._positions_aggregated(db, " WHERE at > ?", ["2027-01-01 00:00:00"])[0]) == 0
