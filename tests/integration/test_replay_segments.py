"""Fold segments: a period of several days reads the fold of its earlier whole days from
the segments a previous load wrote (replay.segments) and shows, at every instant, what
the whole log folded from its first event shows: the same incidents (equal views, made
only when shown), units, timelines and counts; across an incident reopened days after
it was closed; and a segment the log no longer vouches for, or a damaged file, is not
used."""
from __future__ import annotations

import pickle
import random
from datetime import timedelta

import pytest

from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.segments import SUFFIX, Segment
from dispatch.replay.state import ReplayIndex
from dispatch.services import queries
from tests.integration.replay_support import START, roster_app

DAYS = 4


def _load(app, **kw) -> ReplayIndex:  # noqa: ANN001
    with app.session() as s:
        return ReplayIndex.load(s, **kw)


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Four mornings of calls a day apart; on the third, an incident of the first is reopened."""
    tmp = tmp_path_factory.mktemp("segments")
    app, clock, places = roster_app(tmp)
    victim = None
    for d in range(DAYS):
        at = START + timedelta(days=d)
        clock.set(at)
        Simulator(app.services, clock, app.unit_snapshots(), places,
                  SimConfig(hours=3, calls=25, seed=30 + d, start=at)).run()
        if d == 0:
            with app.session() as s:
                victim = min((i for i in queries.recent_closed(s, 500) if i.closed_at is not None),
                             key=lambda i: i.closed_at)
        if d == 2:
            clock.advance(600)
            app.services.reopen(victim.id, "报警人再次来电")
            clock.advance(120)
            app.services.add_note(victim.id, "报警人称纠纷仍未解决")
    full = _load(app)  # the whole log folded from its first event: no cache
    return app, full, victim.id


def _instants(full: ReplayIndex, since, n: int = 60) -> list:  # noqa: ANN001
    rng = random.Random(3)
    span = (full.end - since).total_seconds()
    return [since, full.end] + [since + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)]


def _same_everywhere(full: ReplayIndex, part: ReplayIndex, since) -> None:  # noqa: ANN001
    for at in _instants(full, since):
        a, b = full.state_at(at), part.state_at(at)
        assert a.incidents == b.incidents, at
        assert a.units == b.units, at
        assert a.as_json() == b.as_json(), at
    finals = {i.id: i for i in full.final_incidents()}
    for view in part.final_incidents():
        assert view == finals[view.id]
    # timelines: a period resumed from a checkpoint has the events after it (of an incident
    # open then, not its earlier ones): at least every event from `since` on, in log order
    for iid in [i.id for i in part.final_incidents()]:
        _suffix_from(part.incident_events(iid), full.incident_events(iid), since, iid)
        assert part.incident_at(iid, part.end) == full.incident_at(iid, part.end)
    for uid in part.unit_ids():
        _suffix_from(part.unit_events(uid), full.unit_events(uid), since, uid)
        assert part.unit_status_spans(uid)[1:] == full.unit_status_spans(uid)[-len(part.unit_status_spans(uid)) + 1:]


def _suffix_from(mine: list, whole: list, since, what) -> None:  # noqa: ANN001
    ids, all_ids = [e.id for e in mine], [e.id for e in whole]
    assert ids == all_ids[len(all_ids) - len(ids):], what
    assert {e.id for e in whole if e.occurred_at >= since} <= set(ids), what


def test_earlier_days_come_from_segments_and_show_what_the_whole_fold_shows(days, tmp_path):
    app, full, victim = days
    cache = tmp_path / "cache"
    first = _load(app, cache=cache)  # folds the log, writes checkpoints and segments
    files = sorted(cache.glob("*" + SUFFIX))
    assert len(files) == DAYS - 1  # every whole UTC day folded (the last is not over)
    assert first.segment_events == 0
    part = _load(app, since=START, cache=cache)
    # every finished day is read, not folded
    read = [pickle.loads(p.read_bytes()) for p in files]
    assert part.segment_events == sum(s.events for s in read) > 0
    assert part.folded_count < full.folded_count <= part.folded_count + part.segment_events  # (+ a reseeded one)
    assert part.event_count == full.event_count
    assert part.incident_count == full.incident_count
    _same_everywhere(full, part, START)
    # the incident reopened on the third day: closed, gone, then shown again
    reopened = [e.occurred_at for e in full.incident_events(victim) if e.kind == "incident.reopened"][0]
    assert victim in [i.id for i in part.state_at(reopened).incidents]
    assert victim not in [i.id for i in part.state_at(reopened - timedelta(seconds=1)).incidents]
    assert part.incident_at(victim, reopened) == full.incident_at(victim, reopened)
    assert [e.id for e in part.incident_events(victim)] == [e.id for e in full.incident_events(victim)]
    first_day = [i.id for i in full.final_incidents() if i.received_at < START + timedelta(hours=4)]
    for iid in first_day:  # from the log's start: every event, though the load read none of that day's
        assert [e.id for e in part.incident_events(iid)] == [e.id for e in full.incident_events(iid)], iid


def test_a_period_starting_in_a_later_day_chains_from_its_checkpoint(days, tmp_path):
    app, full, _victim = days
    cache = tmp_path / "cache"
    _load(app, cache=cache)
    since = START + timedelta(days=1, hours=1)
    part = _load(app, since=since, cache=cache)
    _same_everywhere(full, part, since)


def test_a_segment_the_log_does_not_vouch_for_or_a_damaged_one_is_not_used(days, tmp_path):
    app, full, _victim = days
    cache = tmp_path / "cache"
    _load(app, cache=cache)
    files = sorted(cache.glob("*" + SUFFIX))
    seg: Segment = pickle.loads(files[0].read_bytes())
    seg.end_hash = "0" * 64  # as if the log had been rewritten since
    files[0].write_bytes(pickle.dumps(seg))
    files[1].write_bytes(b"not a segment")
    part = _load(app, since=START, cache=cache)
    assert part.segment_events == 0  # the chain starts with the first: nothing read
    _same_everywhere(full, part, START)


def test_a_day_or_less_is_folded_whole_though_segments_are_there(days, tmp_path):
    app, full, _victim = days
    cache = tmp_path / "cache"
    _load(app, cache=cache)
    assert list(cache.glob("*" + SUFFIX))
    since = full.end - timedelta(hours=23)
    part = _load(app, since=since, cache=cache)
    assert part.segment_events == 0  # every instant of a shift or a day shows at once
    _same_everywhere(full, part, since)


def test_segments_on_postgresql(pg_url, tmp_path):
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        app, clock, places = roster_app(tmp_path, db_url=url)
        assert app.engine.dialect.name == "postgresql"
        for d in range(3):
            at = START + timedelta(days=d)
            clock.set(at)
            Simulator(app.services, clock, app.unit_snapshots(), places,
                      SimConfig(hours=2, calls=12, seed=40 + d, start=at)).run()
        cache = tmp_path / "cache"
        full = _load(app, cache=cache)
        assert list(cache.glob("*" + SUFFIX))
        part = _load(app, since=START, cache=cache)
        assert part.segment_events > 0
        _same_everywhere(full, part, START)
        app.engine.dispose()


def test_the_catch_up_a_slice_at_a_time_writes_segments_that_chain(days, tmp_path):
    """What the console's background `checkpoints` does: slices of a few events, each on
    to the end of its six-hour block, so the segments of one slice start where the last
    ended; a week-long load then reads them all."""
    from dispatch.replay.checkpoints import CheckpointStore
    from dispatch.replay.state import catch_up

    app, full, _victim = days
    store = CheckpointStore(tmp_path / "cache")
    with app.session() as s:
        slices, _cp = catch_up(s, store, full.end.timestamp() + 1, step_events=60, to_the_end=True)
    assert slices >= DAYS
    segs = [pickle.loads(p.read_bytes()) for p in store.folder.glob("*" + SUFFIX)]
    ends = {seg.end_id for seg in segs}
    assert sum(seg.start_id == 0 for seg in segs) == 1
    assert all(seg.start_id == 0 or seg.start_id in ends for seg in segs)  # one chain from the log's start
    part = _load(app, since=START, cache=store.folder)
    assert part.segment_events == sum(seg.events for seg in segs)
    _same_everywhere(full, part, START)


def test_segments_older_than_three_months_are_not_kept(tmp_path):
    from dispatch.replay.segments import KEEP_S, SegmentStore

    store = SegmentStore(tmp_path / "cache")
    day = 86400.0
    segs = [Segment(start_at=d * day, start_id=d, end_at=(d + 1) * day, end_id=d + 1, end_hash="h")
            for d in range(20_000, 20_100)]
    assert store.save(segs[:50]) == 50
    assert store.save(segs[50:]) == 50
    newest = segs[-1].end_at
    kept = sorted(p.name for p in store.folder.glob("*" + SUFFIX))
    assert len(kept) == sum(seg.end_at >= newest - KEEP_S for seg in segs) == 93
    assert store.save(segs[:5]) == 0  # an old period folded again is not written again
    assert store.chain(segs[7].start_id, newest, lambda seg: True)[0].start_id == segs[7].start_id
    assert store.chain(segs[0].start_id, newest, lambda seg: True) == []


def test_a_period_ending_before_the_log_does_reads_only_the_segments_before_its_end(days, tmp_path):
    app, full, _victim = days
    cache = tmp_path / "cache"
    _load(app, cache=cache)
    until = START + timedelta(days=2, hours=1, minutes=30)
    part = _load(app, since=START, until=until, cache=cache)
    assert 0 < part.segment_events and part.end <= until
    rng = random.Random(8)
    for at in [START, until] + [START + timedelta(seconds=rng.uniform(0, (until - START).total_seconds()))
                                for _ in range(40)]:
        a, b = full.state_at(at), part.state_at(at)
        assert a.incidents == b.incidents and a.as_json() == b.as_json(), at
