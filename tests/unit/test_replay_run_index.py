"""replay.run_index: the last entry at or before an instant in every run at once equals,
run by run, the plain answer (the largest index whose time is <= the instant), for runs
that are empty, hold equal times, start before or after others, and instants before,
on, between and after the entries, with the bucket table small or large."""
from __future__ import annotations

import random

import numpy as np
import pytest

from dispatch.replay import run_index
from dispatch.replay.run_index import RunIndex


def _plain(runs: list[list[float]], te: float) -> list[int]:
    out, off = [], 0
    for times in runs:
        best = off - 1
        for k, t in enumerate(times):
            if t <= te:
                best = off + k
        out.append(best)
        off += len(times)
    return out


def _random_runs(rng: random.Random, n: int, t0: float, span: float) -> list[list[float]]:
    runs = []
    for _ in range(n):
        m = rng.choice([0, 1, 2, 5, 40, 200])
        times = sorted(round(t0 + rng.uniform(0, span), 1) for _ in range(m))
        if times and rng.random() < 0.3:  # the same instant twice (two fixes in one second)
            times.insert(len(times) // 2, times[len(times) // 2])
        runs.append(times)
    return runs


@pytest.mark.parametrize("cells", [1, 64, 1 << 18])
def test_every_run_at_any_instant_is_the_plain_answer(monkeypatch, cells):
    monkeypatch.setattr(run_index, "TABLE_CELLS", cells)
    rng = random.Random(cells)
    t0, span = 1_793_552_400.0, 86_400.0
    runs = _random_runs(rng, 60, t0, span)
    flat = np.array([t for r in runs for t in r], dtype=float)
    index = RunIndex(flat, [len(r) for r in runs], t0, t0 + span)
    entries = [t for r in runs for t in r]
    instants = ([t0 - 3600, t0, t0 + span, t0 + span + 3600, t0 + span * 10]
                + rng.sample(entries, 40) + [rng.uniform(t0, t0 + span) for _ in range(200)])
    for te in instants:
        want = _plain(runs, te)
        assert index.at(te).tolist() == want, te
        assert [index.one(r, te) for r in range(len(runs))] == want


def test_no_runs_and_only_empty_runs():
    assert RunIndex(np.empty(0), [], 0.0, 0.0).at(5.0).tolist() == []
    index = RunIndex(np.empty(0), [0, 0, 0], 10.0, 20.0)
    assert index.at(15.0).tolist() == [-1, -1, -1]
