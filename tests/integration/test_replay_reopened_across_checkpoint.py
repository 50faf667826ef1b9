"""An incident closed before a checkpoint and reopened after it: checkpoints keep only the
incidents open then, yet a period resumed from that checkpoint shows it again once
reopened, exactly as the whole log folded from the start does."""
from __future__ import annotations

from datetime import timedelta

from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import ReplayIndex
from tests.integration.replay_support import START, roster_app


def _load(app, **kw) -> ReplayIndex:
    with app.session() as s:
        return ReplayIndex.load(s, **kw)


def test_incident_reopened_after_the_checkpoint_it_was_closed_before(tmp_path):
    app, clock, places = roster_app(tmp_path)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=3, calls=40, seed=11, start=START)).run()
    early = START + timedelta(hours=2)
    with app.session() as s:
        from dispatch.services import queries
        closed = [i for i in queries.recent_closed(s, 500) if i.closed_at is not None and i.closed_at < early]
    assert closed, "the simulated shift closes some incidents in its first two hours"
    victim = min(closed, key=lambda i: i.closed_at)
    clock.set(START + timedelta(hours=3, minutes=20))  # after the checkpoints at 1 h, 2 h, 3 h
    app.services.reopen(victim.id, "报警人再次来电")
    reopened_at = clock.now()
    clock.advance(120)
    app.services.add_note(victim.id, "报警人称纠纷仍未解决")

    cache = tmp_path / "checkpoints"
    full = _load(app, cache=cache)  # writes the checkpoints
    assert full.checkpoints
    since = START + timedelta(hours=3, minutes=5)
    part = _load(app, since=since, cache=cache)
    cp = part.resumed_from
    assert cp is not None and victim.id not in cp.incidents  # closed at the checkpoint: not in it
    for at in (since, reopened_at - timedelta(seconds=1), reopened_at, reopened_at + timedelta(seconds=30),
               full.end):
        a, b = full.state_at(at), part.state_at(at)
        assert a.incidents == b.incidents, at
        assert a.as_json() == b.as_json(), at
    shown = [i.id for i in part.state_at(reopened_at).incidents]
    assert victim.id in shown
    assert victim.id not in [i.id for i in part.state_at(reopened_at - timedelta(seconds=1)).incidents]
    assert part.incident_at(victim.id, full.end) == full.incident_at(victim.id, full.end)
    assert [e.id for e in part.incident_events(victim.id)] == [e.id for e in full.incident_events(victim.id)]
