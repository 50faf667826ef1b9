"""A simulated shift in a temporary database, opened read-only for replay."""
from __future__ import annotations

from dispatch.bootstrap import bootstrap
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.replay.state import load_index
from dispatch.settings import Settings
from tests.integration.replay_support import START, roster_app


def simulated_replay(tmp_path, hours: float = 2.0, calls: int = 30, seed: int = 9):
    live, clock, places = roster_app(tmp_path)
    Simulator(live.services, clock, live.unit_snapshots(), places,
              SimConfig(hours=hours, calls=calls, seed=seed, start=START)).run()
    ro = bootstrap(Settings(data_dir=tmp_path, load_demo=False), read_only=True)
    return live, ro, load_index(ro)
