"""`bench replay` measures in a fresh process: the period's load cold (the first of that
process) and warm apart, state_at cold and warm apart, resident memory, and the peer (the
whole log folded from the start) in the same run, with the states of both compared."""
from __future__ import annotations

import json


def test_bench_replay_prints_cold_and_warm_apart_beside_the_peer(capsys):
    from dispatch.cli import main

    code = main(["bench", "replay", "--calls", "200", "--hours", "3", "--period", "1", "--samples", "20"])
    out = capsys.readouterr().out
    assert code == 0
    line = json.loads(out.strip().splitlines()[-1])
    assert line["same_states"] is True and line["resumed"] is True
    for key in ("load_s", "load_cpu_s", "warm_load_s", "warm_load_cpu_s", "full_load_s", "full_load_cpu_s",
                "cpu_p95_ms", "warm_cpu_p95_ms", "scrub_cpu_p95_ms"):
        assert line[key] > 0, key
    assert line["import_s"] > 0  # the probe imported replay itself: a fresh process
    assert line["peak_rss_mb"] >= line["rss_mb"] > 0
    assert 0 < line["period_events"] < line["events"]
    loaded = line["loaded"]  # what was loaded, said in the line: the period, from its checkpoint
    assert loaded["checkpoint"] is not None and "resumed from the checkpoint" in loaded["what"]
    assert 0 < loaded["hours"] <= 1.0 and 0 < loaded["events_folded"] < line["events"]
    assert loaded["units"] == line["units"] and loaded["incidents"] > 0
