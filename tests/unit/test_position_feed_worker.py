"""The console's position feed as its own process (no thread of the console holds the
GIL for the reads): on a real SQLite file, the process reports a fix that was written,
nothing for units that did not move, the seed it was given, one clear message for a
database it cannot read, and it ends when its stdin closes."""
from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from datetime import timedelta

from dispatch.feeds.position_feed_worker import decode_moved, encode_moved, encode_seed
from dispatch.feeds.position_follower import Moved
from dispatch.store.positions import Fix, write_batch


def _start(url: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "dispatch.feeds.position_feed_worker", "--interval-ms", "50"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write(url + "\n")
    proc.stdin.flush()
    return proc


def _next(proc: subprocess.Popen, timeout: float = 30.0) -> dict:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the feed process said nothing"
    return json.loads(proc.stdout.readline())


def _until(proc: subprocess.Popen, wanted, timeout: float = 30.0) -> dict:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        message = _next(proc, end - time.monotonic())
        if wanted(message):
            return message
    raise AssertionError("the expected message never came")


def test_the_process_reports_only_what_moved_after_its_seed(app, clock):
    units = [u for u in app.unit_snapshots() if u.terminal]
    a, b = units[0], units[1]
    proc = _start(app.store.engine.url.render_as_string(hide_password=False))
    try:
        proc.stdin.write(json.dumps({"seed": encode_seed((u.id, u.lon, u.lat, u.position_at) for u in units)}) + "\n")
        proc.stdin.flush()
        first = _until(proc, lambda m: m.get("reads", 0) >= 2)
        assert "moved" not in first and "failed" not in first  # seeded: the loaded positions are not news
        at = clock.now() + timedelta(seconds=5)
        write_batch(app.store, [Fix(a.id, at, a.lon + 0.001, a.lat)])
        message = _until(proc, lambda m: "moved" in m)
        assert decode_moved(message["moved"]) == [Moved(a.id, a.lon + 0.001, a.lat, at, "avl")]
        assert b.id not in {m.unit_id for m in decode_moved(message["moved"])}
        later = _until(proc, lambda m: m["reads"] > message["reads"])
        assert "moved" not in later  # reported once
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0  # stdin closed: the process ends by itself
        proc.stdout.close()


def test_an_unreadable_database_is_said_once_and_the_process_goes_on(tmp_path):
    proc = _start(f"sqlite:///{tmp_path / 'missing' / 'nothing.sqlite3'}")
    try:
        message = _next(proc)
        assert message["failed"] and message["reads"] == 0
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        assert not ready  # the next failed reads are not repeated
        assert proc.poll() is None
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0
        proc.stdout.close()


def test_moved_and_seed_survive_the_line_format(clock):
    at = clock.now()
    moved = [Moved(3, 121.5, 31.2, at, "avl"), Moved(4, 121.4, 31.3, None, "post")]
    assert decode_moved(json.loads(json.dumps(encode_moved(moved)))) == moved
    assert encode_seed([(3, 121.5, 31.2, at)]) == [[3, 121.5, 31.2, at.isoformat()]]
