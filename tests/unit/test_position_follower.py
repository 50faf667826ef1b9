"""The console's position follower (Qt-free) on a real SQLite file: it returns only the
units that moved, never misses a fix committed late with an older terminal time (the
overlap window), and catches one older than the overlap at its next full sweep."""
from __future__ import annotations

import time
from datetime import timedelta

from dispatch.store.positions import Fix, write_batch
from dispatch.feeds.position_follower import PositionFollower, arrival_distance, arrival_fix
from dispatch.replay.timeline import describe_fix


def _units(app, n: int):
    return [u for u in app.unit_snapshots() if u.terminal][:n]


def test_only_moved_units_and_each_change_once(app, clock):
    a, b, c = _units(app, 3)
    f = PositionFollower(app.store, overlap_s=60, sweep_s=3600)
    baseline = f.read_moved()                       # every unit with a position time, once
    assert {m.unit_id for m in baseline} >= {a.id, b.id, c.id}
    assert f.read_moved() == []
    now = clock.now() + timedelta(seconds=5)
    write_batch(app.store, [Fix(a.id, now, a.lon + 0.001, a.lat), Fix(b.id, now, b.lon, b.lat + 0.001)])
    moved = f.read_moved()
    assert {m.unit_id for m in moved} == {a.id, b.id}
    assert all(m.source == "avl" and m.at == now for m in moved)
    assert f.read_moved() == []                     # nothing new: nothing returned


def test_late_commit_with_an_older_fix_time_is_not_missed(app, clock):
    a, b = _units(app, 2)
    f = PositionFollower(app.store, overlap_s=60, sweep_s=3600)
    f.read_moved()
    t = clock.now() + timedelta(minutes=2)
    write_batch(app.store, [Fix(a.id, t, a.lon + 0.001, a.lat)])
    assert [m.unit_id for m in f.read_moved()] == [a.id]
    # b's terminal is 40 s behind a's; its fix is committed after the read above
    write_batch(app.store, [Fix(b.id, t - timedelta(seconds=40), b.lon + 0.001, b.lat)])
    assert [m.unit_id for m in f.read_moved()] == [b.id]


def test_fix_older_than_the_overlap_is_caught_by_the_sweep(app, clock):
    a, b = _units(app, 2)
    f = PositionFollower(app.store, overlap_s=60, sweep_s=0.3)
    f.read_moved()
    t = clock.now() + timedelta(minutes=10)
    write_batch(app.store, [Fix(a.id, t, a.lon + 0.001, a.lat)])
    f.read_moved()
    # a blind-area upload: 9 minutes old, still newer than b's post position
    write_batch(app.store, [Fix(b.id, t - timedelta(minutes=9), b.lon + 0.002, b.lat)])
    assert f.read_moved() == []                     # outside the overlap window ...
    time.sleep(0.35)
    assert [m.unit_id for m in f.read_moved()] == [b.id]   # ... but the sweep finds it
    assert f.sweeps >= 2


def test_arrival_distance_and_note():
    # 福州路 at 31.234 N: 0.000315 degrees of longitude is 30.0 m, 0.00126 is 120 m
    scene = (121.4820, 31.2340)
    d = arrival_distance(scene[0] + 0.000315, scene[1], *scene)
    assert d is not None and abs(d - 30.0) < 0.5
    assert arrival_distance(scene[0] + 0.00126, scene[1], *scene) is None
    assert arrival_distance(scene[0], scene[1], None, None) is None
    from datetime import datetime, timezone
    fix = arrival_fix(121.482315, 31.234, datetime(2026, 11, 23, 4, 1, 2, tzinfo=timezone.utc), 30.04, "avl")
    assert fix == {"lon": 121.482315, "lat": 31.234, "at": "2026-11-23T04:01:02Z", "source": "avl", "metres": 30.0}
    note = describe_fix(fix)
    assert "121.482315,31.234000" in note and "2026-11-23T04:01:02Z" in note and "30米" in note


def test_seeded_with_what_the_screen_loaded_reports_only_changes(app, clock):
    """The window seeds the follower after each full load: no flood of every unit on the
    first read (2,000 updates at start), yet a fix after the load still comes out."""
    units = app.unit_snapshots()
    f = PositionFollower(app.store, overlap_s=60, sweep_s=3600)
    f.seed((u.id, u.lon, u.lat, u.position_at) for u in units)
    assert f.read_moved() == []
    a = units[0]
    write_batch(app.store, [Fix(a.id, clock.now() + timedelta(seconds=3), a.lon + 0.001, a.lat)])
    assert [m.unit_id for m in f.read_moved()] == [a.id]
