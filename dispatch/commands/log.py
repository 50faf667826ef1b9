"""The log's integrity and safety: verify-log, backup, restore, and the follower bench."""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from typing import Any

from dispatch.commands.support import open_app, positive_int, print_bench, print_json
from dispatch.domain.errors import DispatchError


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("verify-log", help="check the event log's hash chain and anchor (exit 1 if broken)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_verify)

    p = commands.add_parser("backup", help="back up the running database into FILE")
    p.add_argument("file")
    p.add_argument("--format", choices=["jsonl"], help="force a logical export (JSON lines)")
    p.set_defaults(handler=_backup)

    p = commands.add_parser("restore", help="restore FILE into a new, empty database")
    p.add_argument("file")
    p.add_argument("--db", dest="restore_db", metavar="NEW_URL", required=True,
                   help="the new (empty) database to restore into")
    p.set_defaults(handler=_restore)

    p = commands.add_parser("db-console-role",
                            help="PostgreSQL, as the owner: create the console's role (log: INSERT and SELECT only)")
    p.add_argument("role")
    p.add_argument("--password-stdin", action="store_true", help="read the role's password from stdin")
    p.set_defaults(handler=_console_role)

    p = bench.add_parser("follow", help="another seat's change visible to a follower: p50/p95")
    p.add_argument("--n", type=positive_int, default=200, help="actions to time")
    p.set_defaults(handler=_bench_follow)


def _verify(args: argparse.Namespace) -> int:
    from dispatch.store import hashchain
    app = open_app(args)
    with app.engine.connect() as conn:
        verdict = hashchain.verify(conn)
    if args.json:
        print_json(verdict.as_json())
    elif verdict.ok:
        print(f"事件日志完整：{verdict.events} 个事件，哈希链与锚点一致")
    else:
        print(f"事件日志被改动：第一个异常事件 id {verdict.first_bad}（{verdict.reason}）")
    return 0 if verdict.ok else 1


def _backup(args: argparse.Namespace) -> int:
    from dispatch.store import backup as backups
    app = open_app(args)
    result = backups.backup(app.engine, args.file, args.format)
    print_json(result)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from dispatch.store import backup as backups
    print_json(backups.restore(args.file, args.restore_db))
    return 0


def _console_role(args: argparse.Namespace) -> int:
    from dispatch.store.pg_roles import grant_console_role

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    print_json(grant_console_role(open_app(args).engine, args.role, password))
    return 0


def _bench_follow(args: argparse.Namespace) -> int:
    """A second seat (its own engine) opens calls; this seat's follower sees them. Timed
    from the writer's commit to the follower's read; the peer is the old 500 ms poll."""
    from dispatch.bootstrap import bootstrap
    from dispatch.services.context import Actor

    app = open_app(args)
    writer = bootstrap(app.settings.with_overrides(load_demo=False), clock=app.clock)
    seat = writer.services_for(Actor("席位-bench", "bench"))
    mode = "listen" if app.engine.dialect.name == "postgresql" else "poll 100 ms"
    figures: dict[str, Any] = {"db": app.engine.dialect.name}
    try:
        for name, interval_s, listen in (("new", 0.1, True), ("peer_poll_500ms", 0.5, False)):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            lat = _visible_latencies(app, seat, args.n, interval_s, listen)
            figures[name] = {"mode": mode if listen else "poll 500 ms", "p50_ms": round(_pct(lat, 50), 1),
                             "p95_ms": round(_pct(lat, 95), 1), "missed": args.n - len(lat),
                             "wall_s": round(time.perf_counter() - wall0, 2),
                             "cpu_s": round(time.process_time() - cpu0, 2)}
        figures["ratio_p95"] = round(figures["peer_poll_500ms"]["p95_ms"] / max(figures["new"]["p95_ms"], 1e-3), 2)
    finally:
        writer.engine.dispose()
    print_bench("follow", n=args.n, **figures)
    return 0


def _visible_latencies(app, seat, n: int, interval_s: float, listen: bool) -> list[float]:  # noqa: ANN001
    import random

    from dispatch.feeds.follower import Follower

    follower = Follower(app.store)
    committed: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = threading.Event()
    if listen:
        follower.listen()
        if follower.listener is not None:
            follower.listener.connected.wait(5)

    def follow() -> None:
        while not done.is_set() or len(seen) < len(committed):
            follower.wait(interval_s)  # woken by NOTIFY when listening, else one poll interval
            for e in follower.read_new():
                if e.incident_id is not None:
                    seen.setdefault(e.incident_id, time.perf_counter())
            if done.is_set() and time.perf_counter() - last[0] > 3:
                break

    last = [time.perf_counter()]
    t = threading.Thread(target=follow, daemon=True)
    t.start()
    rng = random.Random(7)
    try:
        for _ in range(n):
            iid = seat.open_call("13800000000", "").incident_id
            committed[iid] = last[0] = time.perf_counter()
            time.sleep(rng.uniform(0.02, 0.12))
    finally:
        done.set()
        t.join(10)
        follower.close()
    return [(seen[i] - c) * 1000 for i, c in committed.items() if i in seen]


def _pct(values: list[float], p: float) -> float:
    if not values:
        raise DispatchError("没有测到任何可见延迟")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
