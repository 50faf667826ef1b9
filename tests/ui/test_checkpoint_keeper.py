"""The console keeps the replay cache current in a child process: after a run the cache
holds the log's checkpoints (what F11/F12 resume from), one run at a time, and closing
the console stops a run still going."""
from __future__ import annotations

from datetime import timedelta

from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.checkpoints import CheckpointStore
from tests.integration.replay_support import START, roster_app
from ui.checkpoint_keeper import CheckpointKeeper


def test_a_run_writes_the_logs_checkpoints_one_run_at_a_time(qtbot, tmp_path):
    app, clock, places = roster_app(tmp_path)
    Simulator(app.services, clock, app.unit_snapshots(), places,
              SimConfig(hours=3, calls=30, seed=8, start=START)).run()
    store = CheckpointStore(app.settings.cache_dir / "replay")
    assert not store.stored()
    keeper = CheckpointKeeper(app.settings, first_s=3600)  # (started here, not by its timer)
    assert keeper.run_now()
    assert not keeper.run_now()  # one run at a time
    qtbot.waitUntil(lambda: not keeper.running(), timeout=120_000)
    assert keeper.runs == 1
    with app.session() as s:
        newest = store.latest_valid(s, (START + timedelta(days=1)).timestamp())
    assert newest is not None and newest.at == (START + timedelta(hours=2)).timestamp()
    assert len(store.stored()) >= 2
    assert keeper.run_now()  # the next run starts
    keeper.stop()  # the console closes: stopped, not left behind
    assert not keeper.running()
