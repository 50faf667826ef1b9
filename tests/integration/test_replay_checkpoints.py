"""Checkpoints never change what replay shows: a period loaded from a checkpoint gives the
same state at every instant as the whole log folded from the start, and a checkpoint whose
log prefix no longer matches (or a damaged file) is not used."""
from __future__ import annotations

import json
import random
import sqlite3
from datetime import timedelta

import pytest

from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import ReplayIndex, load_index
from tests.integration.replay_support import START, roster_app

HOURS = 5


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt")
    app, clock, places = roster_app(tmp)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=HOURS, calls=70, seed=7, start=START)).run()
    full = load_index(app)
    return app, full, tmp / "checkpoints"


def _load(app, **kw) -> ReplayIndex:
    with app.session() as s:
        return ReplayIndex.load(s, **kw)


def _same_states(full: ReplayIndex, part: ReplayIndex, since, n: int, seed: int) -> int:
    rng = random.Random(seed)
    span = (full.end - since).total_seconds()
    instants = [since] + [since + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)]
    for t in instants:
        for interpolate in (True, False):
            a, b = full.state_at(t, interpolate), part.state_at(t, interpolate)
            assert a.incidents == b.incidents, t
            assert a.units == b.units, t
            assert a.as_json() == b.as_json(), t
    return len(instants)


def test_period_from_a_checkpoint_equals_the_whole_log(shift):
    app, full, cache = shift
    first = _load(app, cache=cache)  # the full fold writes its checkpoints
    assert len(first.checkpoints) >= HOURS - 1
    assert len(list(cache.glob("*.ckpt"))) == len(first.checkpoints)
    assert sum(len(cp.incidents) for cp in first.checkpoints) > 0  # open incidents carried over
    files = sorted(p.name for p in cache.glob("*.ckpt"))
    again = _load(app, cache=cache)  # the same fold: what is on disk is not taken again
    assert again.checkpoints == [] and sorted(p.name for p in cache.glob("*.ckpt")) == files
    assert _same_states(full, again, START, 10, 7) == 11
    for k, minutes in enumerate((70, 135, 200, 262)):
        since = START + timedelta(minutes=minutes)
        part = _load(app, since=since, cache=cache)
        cp = part.resumed_from
        assert cp is not None and cp.at <= since.timestamp()
        assert part.event_count < full.event_count  # only the period was folded
        assert part.start == since
        assert _same_states(full, part, since, 25, k) == 26
    until = START + timedelta(minutes=100)  # a checkpoint past `until` would hold later events
    early = _load(app, since=START + timedelta(minutes=250), until=until, cache=cache).resumed_from
    assert early is not None and early.at <= until.timestamp()


def test_a_period_without_checkpoints_still_has_each_units_last_fix_before_it(shift):
    app, full, _ = shift
    since = START + timedelta(minutes=150)
    part = _load(app, since=since)
    assert part.resumed_from is None
    _same_states(full, part, since, 10, 3)
    # folded from the log's start, it keeps only the incidents still open at `since` or
    # after it (like a period loaded from a checkpoint), not every one closed before
    kept = {v.id for v in part.final_incidents()}
    gone = {v.id for v in full.final_incidents() if v.closed_at is not None and v.closed_at < since}
    assert gone and not kept & gone
    assert kept == {v.id for v in full.final_incidents()} - gone


def test_checkpoint_of_a_changed_prefix_is_ignored(shift, tmp_path):
    app, full, cache = shift
    _load(app, cache=cache)
    since = START + timedelta(minutes=200)
    cp = _load(app, since=since, cache=cache).resumed_from
    assert cp is not None
    # a copy of the database whose event at the checkpoint was rewritten: the chain hash differs
    db = app.settings.data_dir / "dispatch.sqlite3"
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    with sqlite3.connect(copy) as con:  # tampering needs the append-only triggers gone
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                   " AND tbl_name = 'events'").fetchall():
            con.execute(f'DROP TRIGGER "{name}"')
        con.execute("UPDATE events SET hash = ? WHERE id = ?", ("f" * 64, cp.event_id))
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{copy}")
    with Session(engine) as s:
        changed = ReplayIndex.load(s, since=since, cache=cache)
        assert changed.resumed_from is None or changed.resumed_from.event_id < cp.event_id
        _same_states(full, changed, since, 8, 4)
    # an earlier event removed: the count up to the checkpoint no longer matches
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE events SET hash = ? WHERE id = ?", (cp.hash, cp.event_id))
        gone = con.execute("SELECT min(id) FROM events WHERE incident_id IS NOT NULL AND id > 1").fetchone()[0]
        con.execute("DELETE FROM events WHERE id = ?", (gone,))
    with Session(engine) as s:
        resumed = ReplayIndex.load(s, since=since, cache=cache).resumed_from
        assert resumed is None or resumed.event_id < gone
    engine.dispose()


def test_a_damaged_checkpoint_file_is_not_used(shift, tmp_path):
    app, full, cache = shift
    _load(app, cache=cache)
    since = START + timedelta(minutes=230)
    used = _load(app, since=since, cache=cache).resumed_from
    path = cache / f"{used.at:.0f}_{used.event_id}.ckpt"
    good = path.read_bytes()
    try:
        path.write_bytes(good[: len(good) // 2])
        part = _load(app, since=since, cache=cache)
        assert part.resumed_from is None or part.resumed_from.at < used.at
        _same_states(full, part, since, 8, 5)
    finally:
        path.write_bytes(good)


def test_period_from_a_checkpoint_on_postgresql(pg_url, tmp_path):
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app, clock, places = roster_app(tmp_path, db_url=url)
        assert app.engine.dialect.name == "postgresql"
        Simulator(app.services, clock, app.unit_snapshots(), places,
                  SimConfig(hours=3, calls=35, seed=9, start=START)).run()
        cache = tmp_path / "checkpoints"
        full = _load(app, cache=cache)
        assert full.checkpoints
        since = START + timedelta(minutes=130)
        part = _load(app, since=since, cache=cache)
        assert part.resumed_from is not None and part.event_count < full.event_count
        _same_states(full, part, since, 15, 6)
        app.engine.dispose()


def test_old_checkpoints_are_thinned_to_one_every_six_hours(tmp_path):
    from dispatch.replay.checkpoints import BLOCK_S, HOURLY_S, Checkpoint, CheckpointStore

    store = CheckpointStore(tmp_path / "ck")
    day = 86400.0
    hours = [1_790_000_000.0 // day * day + h * 3600.0 for h in range(0, 24 * 5, 1)]
    every = [Checkpoint(at=t, event_id=k + 1, count=k + 1, hash="x") for k, t in enumerate(hours)]
    assert store.save(every) == 48 + 1 + 12  # the last 48 h hourly, the first of each older six hours
    assert store.save(every) == 0  # a second full fold writes nothing again
    kept = sorted(at for at, _, _ in store._files())
    newest = hours[-1]
    assert [t for t in kept if t >= newest - HOURLY_S] == [t for t in hours if t >= newest - HOURLY_S]
    old = [t for t in kept if t < newest - HOURLY_S]
    assert old == sorted({t // BLOCK_S * BLOCK_S for t in hours if t < newest - HOURLY_S})  # each block's first


def test_bench_replay_loads_the_period_from_checkpoints_beside_the_full_fold(capsys):
    from dispatch.cli import main

    code = main(["bench", "replay", "--calls", "300", "--hours", "4", "--period", "1", "--samples", "30"])
    out = capsys.readouterr().out
    assert code == 0
    line = json.loads(out.strip().splitlines()[-1])
    assert line["resumed"] is True and line["same_states"] is True
    assert 0 < line["period_events"] < line["events"]
    assert line["checkpoints"] >= 3 and line["full_load_s"] > 0 and line["p95_ms"] > 0
    assert main(["bench", "replay", "--period", "0"]) == 2


def test_a_fold_takes_only_the_checkpoints_the_store_would_keep_and_does_not_have():
    from dispatch.replay.checkpoints import EVERY_S, HOURLY_S, _wanted, worth_taking

    day0 = 20_000 * 86400.0  # a UTC midnight
    hours = [day0 + h * EVERY_S for h in range(24 * 5)]  # five days of whole hours
    newest = hours[-1]
    have: set[tuple[float, int]] = set()
    taken = []
    for k, at in enumerate(hours):
        if worth_taking(at, k, have, newest):
            taken.append(at)
            have.add((at, k))
    assert set(taken) == _wanted(hours)  # exactly what the store keeps of them all
    assert len(taken) == 12 + HOURLY_S / EVERY_S + 1  # the first of twelve older blocks, the last 48 h
    assert not worth_taking(hours[-1], len(hours) - 1, have, newest)  # on disk already
    assert worth_taking(hours[-1], 10**6, have, newest)  # the same hour after other events: a new fold
