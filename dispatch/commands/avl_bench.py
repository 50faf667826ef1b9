"""`bench avl`: N JT/T 808 terminals over real TCP to the receiver; stored latency and drops,
beside the per-fix service path as the peer."""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import DBAPIError

from dispatch.commands.support import open_app, print_bench
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitKind, UnitStatus
from dispatch.feeds.avl_receiver import Receiver
from dispatch.feeds.avl_store import PositionWriter
from dispatch.feeds.terminal_client import TerminalClient
from dispatch.store.db import describe_db_error
from dispatch.store.schema import UnitRow


def run(args: argparse.Namespace) -> int:
    if not 0 < args.hz <= 1:
        raise DispatchError("--hz 应在 (0, 1] 之间：JT/T 808 的定位时间精确到秒")
    url = args.bench_db or getattr(args, "db", None)
    scratch = tempfile.TemporaryDirectory(prefix="avl-bench-")
    schema = None
    if url and url.startswith("postgresql"):
        schema = f"avl_bench_{os.getpid()}"
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with admin.begin() as c:
                c.execute(text(f"CREATE SCHEMA {schema}"))
        except DBAPIError as exc:
            admin.dispose()
            raise DispatchError(describe_db_error(exc)) from None
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(scratch.name) / 'bench.sqlite3'}"
    try:
        bench_args = argparse.Namespace(db=url, data_dir=scratch.name, no_demo=True)
        app = open_app(bench_args)
        figures = asyncio.run(_bench_run(app, args.units, args.hz, args.seconds, args.peer_sample))
        app.engine.dispose()
    finally:
        if schema:
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        scratch.cleanup()
    print_bench("avl", db=app.engine.dialect.name, **figures)
    return 0


def _add_units(app, n: int) -> list[tuple[int, str]]:  # noqa: ANN001
    """N patrol cars with terminals 99xxxxxxxxxx (code = number) around People's Square."""
    rng, now = random.Random(808), app.clock.now()
    rows = []
    for i in range(n):
        lon, lat = 121.475 + rng.uniform(-0.03, 0.03), 31.232 + rng.uniform(-0.03, 0.03)
        term = f"99{i:010d}"
        rows.append({"version": 1, "callsign": f"测{i:05d}", "kind": UnitKind.PATROL_CAR.value,
                     "status": UnitStatus.AVAILABLE.value, "status_since": now, "lon": lon, "lat": lat,
                     "position_at": None, "home_lon": lon, "home_lat": lat, "station": "", "duty": [],
                     "leader": "", "phone": "", "members": 2, "terminal": term, "auth_code": term,
                     "position_source": "post"})
    with app.engine.begin() as c:
        c.execute(insert(UnitRow), rows)
        ids = c.execute(text("SELECT id, terminal FROM units WHERE terminal LIKE '99%' ORDER BY id")).all()
    return [(i, t) for i, t in ids]


def _quantile_ms(values: list[float], q: float = 0.95) -> float | None:
    """The q-quantile of seconds, in milliseconds."""
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1)


async def _bench_run(app, n: int, hz: float, seconds: int, peer_sample: int) -> dict:  # noqa: ANN001
    units = _add_units(app, n)
    from dispatch.commands.avl_visible import ConsoleProbe  # an offscreen console on the same database
    probe = ConsoleProbe(app)
    try:
        await probe.ready()
    except BaseException:
        probe.kill()
        raise
    sent: dict[tuple[int, datetime], float] = {}
    latencies: list[tuple[float, float]] = []  # (sent monotonic, commit - sent)

    def on_commit(batch, committed: float) -> None:  # noqa: ANN001 (writer thread)
        for f in batch:
            t = sent.get((f.unit_id, f.at))
            if t is not None:
                latencies.append((t, committed - t))

    writer = PositionWriter(app.store, on_commit=on_commit)
    received: list[float] = []  # sent -> decoded and queued by the receiver (the loop's share)

    def submit(fix) -> None:  # noqa: ANN001
        t = sent.get((fix.unit_id, fix.at))
        if t is not None:
            received.append(time.monotonic() - t)
        PositionWriter.submit(writer, fix)

    writer.submit = submit  # type: ignore[method-assign]
    receiver = Receiver(app.store, app.clock, writer)
    host, port = (await receiver.start(("127.0.0.1", 0)))["jt808"]
    clients = [TerminalClient(t) for _, t in units]
    gate = asyncio.Semaphore(100)

    async def login(c: TerminalClient) -> None:
        async with gate:
            await c.connect(host, port)
            if await c.authenticate(c.terminal) != 0:
                raise DispatchError(f"终端 {c.terminal} 鉴权失败")

    await asyncio.gather(*(login(c) for c in clients))
    rng = random.Random(1)
    pos = {uid: [121.475 + rng.uniform(-0.03, 0.03), 31.232 + rng.uniform(-0.03, 0.03)] for uid, _ in units}
    period, rounds = 1.0 / hz, max(1, round(seconds * hz))
    base_at = app.clock.now().replace(microsecond=0) + timedelta(seconds=1)
    cpu0, t0 = time.process_time(), time.monotonic() + 0.2
    slot = 0.01
    per_slot = max(1, round(n * slot / period))
    for k in range(rounds):
        at = base_at + timedelta(seconds=int(k * period))  # whole seconds, as BCD time carries
        for s0 in range(0, n, per_slot):
            due = t0 + k * period + (s0 / n) * period
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for i in range(s0, min(n, s0 + per_slot)):
                uid, _ = units[i]
                p = pos[uid]
                p[0] += rng.uniform(-1e-4, 1e-4)
                p[1] += rng.uniform(-1e-4, 1e-4)
                sent[(uid, at)] = time.monotonic()
                clients[i].send_location(p[0], p[1], at, 36.0, 90)
    send_wall = time.monotonic() - t0
    deadline = time.monotonic() + 15
    while len(latencies) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)  # the console's next polls
    visible = probe.finish(sent, _quantile_ms)
    for c in clients:
        await c.close()
    await receiver.close()
    cpu = time.process_time() - cpu0
    lat_all = [d for _, d in latencies]
    warm = [d for t, d in latencies if t >= t0 + 5]
    peer = await asyncio.get_running_loop().run_in_executor(
        None, _peer, app, units, min(peer_sample, len(sent)))
    stored = len(latencies)
    return {"units": n, "hz": hz, "seconds": seconds, "fixes": len(sent),
            "fixes_per_s": round(stored / send_wall, 1), "dropped": len(sent) - stored,
            "stored_p50_ms": _quantile_ms(lat_all, 0.5), "stored_p95_ms": _quantile_ms(lat_all),
            "stored_p95_ms_warm": _quantile_ms(warm), "received_p95_ms": _quantile_ms(received),
            "stored_max_ms": round(max(lat_all) * 1000, 1) if lat_all else None,
            "batches": receiver.writer.batches,
            "write_ms_per_fix": round(receiver.writer.busy_s * 1000 / max(1, receiver.writer.stored), 3),
            "receiver": receiver.summary(), "cpu_s": round(cpu, 2), "wall_s": round(send_wall, 2),
            "loadavg_1m": round(os.getloadavg()[0], 2), **visible, **peer,
            "peer_ratio_per_fix_write": round(peer["peer_ms_per_fix"] * receiver.writer.stored
                                              / max(1e-9, receiver.writer.busy_s * 1000), 1) if peer else None}


def _peer(app, units: list[tuple[int, str]], sample: int) -> dict:  # noqa: ANN001
    """The same kind of fix through services.report_position (one transaction per fix)."""
    if sample <= 0:
        return {}
    rng = random.Random(2)
    at = app.clock.now().replace(microsecond=0) + timedelta(seconds=120)
    times = []
    for k in range(sample):
        uid, _ = units[k % len(units)]
        t = time.monotonic()
        app.services.report_position(uid, 121.475 + rng.uniform(-0.03, 0.03), 31.232 + rng.uniform(-0.03, 0.03),
                                     at=at + timedelta(seconds=k // len(units)), speed=36.0, heading=90)
        times.append(time.monotonic() - t)
    total = sum(times)
    return {"peer": "services.report_position, one transaction per fix, same process",
            "peer_fixes": sample, "peer_ms_per_fix": round(total * 1000 / sample, 3),
            "peer_p95_ms": _quantile_ms(times)}
