"""`simulate --feed jt808://HOST:PORT` (issue 10 item 4): the simulated units' positions
go over real TCP connections, each terminal authenticated with its roster code, to a
receiver running on the same database, which stores them (source 'avl')."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from dispatch.bootstrap import bootstrap
from dispatch.cli import main
from dispatch.feeds.avl_receiver import Receiver
from dispatch.feeds.avl_store import PositionWriter
from dispatch.services.clock import ManualClock, SystemClock
from dispatch.settings import Settings
from dispatch.store.schema import PositionRow, UnitRow


class ReceiverThread:
    """`avl listen` in-process: a Receiver on an ephemeral port, in its own loop/thread."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.receiver = Receiver(app.store, SystemClock(), PositionWriter(app.store, max_delay_s=0.02))
        addrs = asyncio.run_coroutine_threadsafe(
            self.receiver.start(("127.0.0.1", 0)), self.loop).result(10)
        self.port = addrs["jt808"][1]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def sim_db(tmp_path):
    """A new simulation database (the demo roster), made an hour ago so that the
    simulated fixes of the last minutes are newer than the units' posts."""
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    app = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=ManualClock(SystemClock().now() - timedelta(hours=1)))
    yield app
    app.engine.dispose()


def test_simulated_units_drive_over_jt808_to_the_receiver(sim_db, capsys):
    rx = ReceiverThread(sim_db)
    try:
        code = main(["--db", sim_db.settings.database_url, "simulate", "--hours", "0.1", "--calls", "4",
                     "--interval", "10", "--straight", "--seed", "3", "--json",
                     "--feed", f"jt808://127.0.0.1:{rx.port}"])
        out = capsys.readouterr()
    finally:
        rx.close()
    assert code == 0, out.err
    result = json.loads(out.out)
    feed = result["feed"]
    with sim_db.session() as s:
        terminals = s.scalar(select(func.count()).select_from(UnitRow).where(UnitRow.terminal.is_not(None)))
        stored = s.scalar(select(func.count()).select_from(PositionRow))
        sources = dict(s.execute(select(UnitRow.position_source, func.count()).group_by(UnitRow.position_source)).all())
    assert feed["terminals"] == terminals > 0           # every roster terminal authenticated
    assert feed["sent"] > 0 and feed["refused"] == 0 and feed["accepted"] == feed["sent"]
    received = rx.receiver.summary()
    print(received, feed)
    assert received["stored"] == received["fixes"] > 0 and received.get("unauthenticated", 0) == 0
    assert received["stored"] == feed["sent"] > 0      # every report sent was stored by the receiver
    assert stored == feed["sent"] + feed["direct"]     # (plus any unit without a terminal, directly)
    assert sources.get("avl", 0) >= terminals           # the receiver moved them: source avl
    assert result["positions"] == feed["sent"] + feed["direct"] + feed["same_second"]


def test_feed_to_a_port_nobody_listens_on_is_one_line(sim_db, capsys):
    code = main(["--db", sim_db.settings.database_url, "simulate", "--hours", "0.05", "--calls", "1",
                 "--straight", "--feed", "jt808://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "无法连接定位接收端" in err and "Traceback" not in err


def test_feed_url_must_be_jt808(sim_db, capsys):
    code = main(["--db", sim_db.settings.database_url, "simulate", "--hours", "0.05", "--feed", "http://x:1"])
    err = capsys.readouterr().err
    assert code == 2 and "jt808://HOST:PORT" in err


def test_realtime_simulation_follows_the_wall_clock(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'rt.sqlite3'}"
    before = SystemClock().now()
    code = main(["--db", url, "simulate", "--realtime", "--hours", "0.001", "--calls", "1", "--straight",
                 "--interval", "1", "--json"])
    after = SystemClock().now()
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    start = datetime.fromisoformat(result["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(result["end"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= start <= after      # it starts now, not H hours ago
    assert end - start == timedelta(seconds=3.6)                # 0.001 h of simulated time ...
    assert after >= end                                         # ... which the wall clock reached first
    assert (after - before).total_seconds() >= 2.5              # (start is `now` cut to the second)
