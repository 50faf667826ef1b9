"""Catching the replay checkpoints up with a long log a slice at a time: a period far into
the log folds at most a slice before it, never the whole log in one go, and shows what
the whole log folded from the start shows."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay import state as replay_state
from dispatch.replay.checkpoints import CheckpointStore
from dispatch.replay.state import ReplayIndex, catch_up, load_index
from dispatch.store.schema import EventRow
from tests.integration.replay_support import START, roster_app

STEP = 150  # events per slice here (more than an hour of this log; a busy day's in the console)
GAP = timedelta(days=4)  # a silent stretch of the log (a training copy used twice)


@pytest.fixture(scope="module")
def long_log(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("catchup")
    app, clock, places = roster_app(tmp)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=4, calls=50, seed=11, start=START)).run()
    later = START + GAP
    clock.set(later)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=3, calls=40, seed=12, start=later)).run()
    return app, load_index(app)


def _events_between(app, after_id: int, upto: float) -> int:
    with app.session() as s:
        rows = s.execute(select(EventRow.occurred_at).where(EventRow.id > after_id)).scalars().all()
    return sum(1 for t in rows if replay_state._ts(replay_state.as_utc(t)) < upto)


def _same(full: ReplayIndex, part: ReplayIndex, since, n: int = 12, until=None) -> None:  # noqa: ANN001
    rng = random.Random(5)
    span = ((until or full.end) - since).total_seconds()
    for t in [since] + [since + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)]:
        assert full.state_at(t).as_json() == part.state_at(t).as_json(), t


def _busiest_block(app) -> int:  # noqa: ANN001
    """The most events in one block of six UTC hours (checkpoints.BLOCK_S)."""
    from collections import Counter

    from dispatch.replay.checkpoints import BLOCK_S
    with app.session() as s:
        rows = s.execute(select(EventRow.occurred_at)).scalars().all()
    return max(Counter(int(replay_state._ts(replay_state.as_utc(t)) // BLOCK_S) for t in rows).values())


def test_a_period_late_in_the_log_is_caught_up_a_slice_at_a_time(long_log, tmp_path, monkeypatch):
    app, full = long_log
    store = CheckpointStore(tmp_path / "cache")
    since = START + GAP + timedelta(hours=2, minutes=10)
    upto = since.timestamp()
    folded: list[int] = []
    fold = replay_state._fold

    def counting(units, log, *args):  # noqa: ANN001, ANN202  (the real fold, counted)
        folded.append(len(log))
        return fold(units, log, *args)

    monkeypatch.setattr(replay_state, "_fold", counting)
    with app.session() as s:
        total = s.scalar(select(func.count()).select_from(EventRow))
        slices, cp = catch_up(s, store, upto, step_events=STEP)
        assert cp is not None and cp.event_id == store.latest_valid(s, upto).event_id
    assert total > 4 * STEP
    assert slices == len(folded) >= 2
    # memory of a slice, not of the log: a slice goes on to the end of the six hours its
    # last event is in (where fold segments meet), so a busy block adds its events
    assert max(folded) <= STEP + _busiest_block(app) + 1 < total
    # from the newest checkpoint, at most a slice of events remains before the period
    assert cp is not None and cp.at <= upto and _events_between(app, cp.event_id, upto) <= STEP
    with app.session() as s:
        assert catch_up(s, store, upto, step_events=STEP) == (0, cp)  # caught up: nothing more
    monkeypatch.setattr(replay_state, "_fold", fold)
    with app.session() as s:
        part = ReplayIndex.load(s, since=since, cache=store.folder)
    assert part.resumed_from is not None and part.resumed_from.event_id == cp.event_id
    _same(full, part, since)


def test_a_load_with_a_cache_catches_up_first(long_log, tmp_path, monkeypatch):
    """Through ReplayIndex.load (what F11/F12, 回放时段 and `state --at` use): a period
    after the silent gap resumes near it, the gap and all, and shows the same states."""
    app, full = long_log
    monkeypatch.setattr(replay_state, "STEP_EVENTS", STEP)
    cache = tmp_path / "cache"
    for hours in (1.5, 2.75):
        since = START + GAP + timedelta(hours=hours)
        with app.session() as s:
            part = ReplayIndex.load(s, since=since, cache=cache)
        cp = part.resumed_from
        assert cp is not None and _events_between(app, cp.event_id, since.timestamp()) <= STEP
        _same(full, part, since)
    # a period before the gap: resumes from a checkpoint before it, not after
    early = START + timedelta(hours=3)
    with app.session() as s:
        part = ReplayIndex.load(s, since=early, until=early + timedelta(minutes=30), cache=cache)
    assert part.resumed_from is not None and part.resumed_from.at <= early.timestamp()
    _same(full, part, early, 4, until=early + timedelta(minutes=30))


def test_an_empty_log_or_cache_at_the_start_folds_nothing(tmp_path):
    app, _clock, _places = roster_app(tmp_path)
    store = CheckpointStore(tmp_path / "cache")
    with app.session() as s:
        assert catch_up(s, store, (START + timedelta(days=1)).timestamp(), step_events=STEP) == (0, None)
    assert not store.stored()
