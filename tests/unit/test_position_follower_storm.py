"""The position follower under a storm (issue 10): every unit is inside the overlap on each
read, yet only the rows that changed come back, with UTC times; a seed from a screen that
loaded before the last read is brought forward on the next one."""
from __future__ import annotations

from datetime import timedelta

from dispatch.feeds.position_follower import PositionFollower
from dispatch.store.positions import Fix, write_batch


def test_a_changed_row_comes_back_parsed_and_an_unchanged_one_never(app, clock):
    a, b = [u for u in app.unit_snapshots() if u.terminal][:2]
    f = PositionFollower(app.store, overlap_s=60, sweep_s=3600)
    f.read_moved()
    t = clock.now() + timedelta(seconds=5)
    write_batch(app.store, [Fix(a.id, t, a.lon + 0.001, a.lat), Fix(b.id, t, b.lon, b.lat + 0.001)])
    moved = f.read_moved()
    assert sorted((m.unit_id, m.at, m.lon, m.lat) for m in moved) == sorted(
        [(a.id, t, a.lon + 0.001, a.lat), (b.id, t, b.lon, b.lat + 0.001)])
    assert all(m.at.utcoffset() == timedelta(0) for m in moved)  # a UTC time, as the screens take it
    assert f.read_moved() == []  # both rows come back in the overlap, unchanged: nothing returned


def test_a_seed_older_than_the_row_last_read_is_brought_forward(app, clock):
    a = next(u for u in app.unit_snapshots() if u.terminal)
    f = PositionFollower(app.store, overlap_s=60, sweep_s=3600)
    f.read_moved()
    t = clock.now() + timedelta(seconds=5)
    write_batch(app.store, [Fix(a.id, t, a.lon + 0.001, a.lat)])
    assert [m.unit_id for m in f.read_moved()] == [a.id]
    # a screen that loaded before this fix seeds its older position: the next read corrects it
    f.seed([(a.id, a.lon, a.lat, a.position_at)])
    assert [(m.unit_id, m.at, m.lon) for m in f.read_moved()] == [(a.id, t, a.lon + 0.001)]
    assert f.read_moved() == []
