"""The console's position feed as a process of its own (Qt-free).

    python -m dispatch.feeds.position_feed_worker --interval-ms 250

reads the database URL as its first line on stdin (never on the command line, where
`ps` would show a password), then polls `PositionFollower.read_moved()` every interval
on a read-only engine and writes one JSON line per read to stdout:

    {"reads": N, "moved": [[unit id, lon, lat, ISO time | null, source], ...]}

(`moved` only when some unit moved), or `{"reads": N, "failed": "text"}` for the first
of a run of failed reads. Later stdin lines are `{"seed": [[unit id, lon, lat, ISO time
| null], ...]}`: what the console shows after a full load (PositionFollower.seed). The
process ends when stdin closes (the console closed or died).

Why a process: in a thread of the console, each read (2,000 rows in an AVL storm, a few
ms of Python) held the GIL; on a busy machine the OS preempted that thread while it held
it, and the GUI thread waited for the GIL for 50-250 ms (bench avl, sampling the GUI
thread's futex address against the interpreter's). A process shares no GIL.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import datetime
from typing import IO, Any

from dispatch.feeds.position_follower import Moved, PositionFollower
from dispatch.store.db import Store
from dispatch.store.readonly import make_read_only_engine


def encode_moved(moved: list[Moved]) -> list[list[Any]]:
    return [[m.unit_id, m.lon, m.lat, m.at.isoformat() if m.at is not None else None, m.source] for m in moved]


def decode_moved(rows: list[list[Any]]) -> list[Moved]:
    return [Moved(uid, lon, lat, datetime.fromisoformat(at) if at is not None else None, source)
            for uid, lon, lat, at, source in rows]


def encode_seed(positions: Any) -> list[list[Any]]:  # noqa: ANN401 (iterable of tuples)
    return [[uid, lon, lat, at.isoformat() if at is not None else None] for uid, lon, lat, at in positions]


def _decode_seed(rows: list[list[Any]]) -> list[tuple[int, float, float, datetime | None]]:
    return [(uid, lon, lat, datetime.fromisoformat(at) if at is not None else None) for uid, lon, lat, at in rows]


def serve(url: str, interval_s: float, stdin: IO[str], stdout: IO[str]) -> None:
    """Poll until stdin closes; seeds are taken from stdin meanwhile."""
    engine = make_read_only_engine(url)
    follower = PositionFollower(Store(engine))
    stop = threading.Event()

    def take_seeds() -> None:
        for line in stdin:
            try:
                message = json.loads(line)
                follower.seed(_decode_seed(message["seed"]))
            except (ValueError, KeyError, TypeError) as exc:
                print(f"位置数据进程收到无法识别的消息：{exc}", file=sys.stderr)
        stop.set()

    threading.Thread(target=take_seeds, name="seeds", daemon=True).start()
    failing = False
    try:
        while not stop.wait(interval_s):
            try:
                moved = follower.read_moved()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not stop the feed
                if not failing:
                    _send(stdout, {"reads": follower.reads, "failed": str(exc).splitlines()[0][:120]})
                failing = True
                continue
            failing = False
            _send(stdout, {"reads": follower.reads, "moved": encode_moved(moved)} if moved
                  else {"reads": follower.reads})
    except BrokenPipeError:  # the console went away
        pass
    finally:
        engine.dispose()


def _send(stdout: IO[str], message: dict) -> None:
    stdout.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
    stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dispatch.feeds.position_feed_worker")
    p.add_argument("--interval-ms", type=int, default=250)
    args = p.parse_args(argv)
    url = sys.stdin.readline().strip()
    if not url:
        print("位置数据进程没有收到数据库地址", file=sys.stderr)
        return 2
    serve(url, args.interval_ms / 1000, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
