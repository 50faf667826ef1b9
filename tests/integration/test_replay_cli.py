"""`simulate`, `state --at` and `stats` on a real SQLite file; replay cannot write."""
from __future__ import annotations

import json

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.cli import main
from dispatch.domain.errors import DispatchError
from dispatch.services import queries
from dispatch.services.locations import Location
from dispatch.settings import Settings
from dispatch.store import eventlog
from tests.integration.replay_support import roster_app


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulate_then_state_at_the_end_equals_the_projections(tmp_path, capsys):
    app, _clock, _places = roster_app(tmp_path)
    url = app.settings.database_url
    code, out, err = _run(capsys, "--db", url, "--no-demo", "simulate", "--hours", "1.5", "--calls", "25",
                          "--seed", "4", "--straight", "--start", "2026-11-02T09:00:00", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["calls"] == 25 and result["start"] == "2026-11-02T01:00:00Z"  # naive = Shanghai time
    with app.session() as s:
        events = eventlog.read(s)
        live_open = queries.open_incidents(s)
        live_units = queries.unit_snapshots(s)
    assert len(events) > 150
    assert {e.kind for e in events} >= {"call.received", "incident.located", "unit.dispatched",
                                        "unit.acknowledged", "unit.status", "incident.closed"}
    code, out, err = _run(capsys, "--db", url, "--no-demo", "state", "--at", result["end"], "--json")
    assert code == 0, err
    state = json.loads(out)
    assert state["at"] == result["end"]
    assert [i["id"] for i in state["incidents"]] == [i.id for i in live_open]
    assert [i["status"] for i in state["incidents"]] == [i.status.value for i in live_open]
    by_id = {u["id"]: u for u in state["units"]}
    for u in live_units:
        assert by_id[u.id]["status"] == u.status.value
        assert by_id[u.id]["lon"] == pytest.approx(u.lon) and by_id[u.id]["lat"] == pytest.approx(u.lat)
    # an instant before the shift: no incidents, everyone where the roster put them
    code, out, _ = _run(capsys, "--db", url, "--no-demo", "state", "--at", "2026-11-02T00:30:00Z", "--json")
    assert code == 0 and json.loads(out)["incidents"] == []
    code, out, _ = _run(capsys, "--db", url, "--no-demo", "stats", "--json")
    stats = json.loads(out)
    assert stats["calls"] == 25 and sum(stats["by_category"].values()) == 25


def test_state_rejects_a_bad_time_with_one_line(tmp_path, capsys):
    app, _clock, _places = roster_app(tmp_path)
    code, out, err = _run(capsys, "--db", app.settings.database_url, "--no-demo", "state", "--at", "昨天")
    assert code == 2 and "时间格式不正确" in err and "Traceback" not in err


def test_replay_app_is_read_only(tmp_path):
    app, _clock, _places = roster_app(tmp_path)
    ro = bootstrap(Settings(data_dir=tmp_path, load_demo=False), read_only=True)
    unit = ro.unit_snapshots()[0].id
    with pytest.raises(DispatchError):
        ro.services.open_call("13800000000", "张")
    with pytest.raises(DispatchError):
        ro.services.set_unit_status(unit, "off_duty")
    changes = app.services.open_call("13800000000", "张")
    app.services.locate(changes.incident_id, Location("某路", 121.48, 31.23))
    for write in (lambda: ro.services.locate(changes.incident_id, Location("别处", 121.47, 31.22)),
                  lambda: ro.services.categorise(changes.incident_id, "dispute"),
                  lambda: ro.services.dispatch(changes.incident_id, [unit]),
                  lambda: ro.services.close(changes.incident_id, "invalid")):
        with pytest.raises(DispatchError):
            write()
    with app.session() as s:
        assert [e.kind for e in eventlog.read(s) if e.kind != "unit.created"] == ["call.received", "incident.located"]


def test_simulate_refuses_to_write_before_the_end_of_the_log(tmp_path, capsys):
    app, _clock, _places = roster_app(tmp_path)
    url = app.settings.database_url
    args = ("--db", url, "--no-demo", "simulate", "--hours", "0.5", "--calls", "3", "--straight")
    assert _run(capsys, *args, "--start", "2026-11-02T09:00:00")[0] == 0
    code, _out, err = _run(capsys, *args, "--start", "2026-11-02T08:00:00")
    assert code == 2 and "早于日志" in err
    code, out, err = _run(capsys, *args, "--json")  # default: right after the log
    assert code == 0, err
    assert json.loads(out)["start"] > "2026-11-02T01:00:00Z"
    with app.session() as s:
        times = [e.occurred_at for e in eventlog.read(s)]
    assert times == sorted(times)  # the log only ever grows forward in time


def test_simulate_never_writes_into_the_live_database(tmp_path, capsys, demo_template):
    import shutil
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    live = bootstrap(Settings(data_dir=tmp_path))
    live.services.open_call("13800000000", "真实来电")  # the live log has a real call
    live.engine.dispose()
    # the default (live) database: refused before anything is opened for writing
    code, _out, err = _run(capsys, "--data-dir", str(tmp_path), "simulate", "--hours", "1", "--calls", "2",
                           "--straight")
    assert code == 2 and "不能写入实战数据库" in err
    # the live database named with --db: it has real calls, so refused too
    url = f"sqlite:///{tmp_path / 'dispatch.sqlite3'}"
    code, _out, err = _run(capsys, "--db", url, "simulate", "--hours", "1", "--calls", "2", "--straight")
    assert code == 2 and "已有实战记录" in err
    live = bootstrap(Settings(data_dir=tmp_path))
    with live.session() as s:
        assert [e.kind for e in eventlog.read(s) if e.kind != "unit.created"] == ["call.received"]
    live.engine.dispose()


def test_simulate_clock_never_passes_the_real_now(tmp_path, capsys):
    from datetime import datetime, timedelta, timezone
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    code, _out, err = _run(capsys, "--db", url, "simulate", "--hours", "2", "--calls", "2", "--straight",
                           "--start", "2099-01-01T00:00:00")
    assert code == 2 and "不能晚于当前时间" in err
    code, _out, err = _run(capsys, "--db", url, "simulate", "--hours", "2", "--calls", "2", "--straight",
                           "--start", "2999-01-01T00:00:00")  # not a date of this centre at all
    assert code == 2 and "超出范围" in err
    code, out, err = _run(capsys, "--db", url, "simulate", "--hours", "1", "--calls", "6", "--straight",
                          "--json")
    assert code == 0, err
    assert code == 0, err
    result = json.loads(out)
    now = datetime.now(timezone.utc)
    end = datetime.fromisoformat(result["end"].replace("Z", "+00:00"))
    assert end <= now and (now - end).total_seconds() < 600
    app = bootstrap(Settings(db_url=url, data_dir=tmp_path))
    with app.session() as s:
        assert max(e.occurred_at for e in eventlog.read(s)) <= now
        assert queries.open_incidents(s) == [] or all(i.received_at <= now for i in queries.open_incidents(s))
    app.engine.dispose()
    # a database made by simulate may be simulated into again, after its log
    url2 = f"sqlite:///{tmp_path / 'sim2.sqlite3'}"
    hours_ago = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, _out, err = _run(capsys, "--db", url2, "simulate", "--hours", "1", "--calls", "2", "--straight",
                           "--start", hours_ago)
    assert code == 0, err
    code, _out, err = _run(capsys, "--db", url2, "simulate", "--hours", "0.5", "--calls", "1", "--straight")
    assert code == 0, err


@pytest.mark.parametrize("bad", [("--hours", "nan"), ("--hours", "inf"), ("--hours", "-1"),
                                 ("--calls", "-3"), ("--interval", "0")])
def test_simulate_bad_numbers_one_line(tmp_path, capsys, bad):
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    code, _out, err = _run(capsys, "--db", url, "simulate", "--straight", *bad)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_checkpoints_bring_the_replay_cache_up_to_the_log_end(tmp_path, capsys):
    app, _clock, _places = roster_app(tmp_path)
    url = app.settings.database_url
    code, out, err = _run(capsys, "--data-dir", str(tmp_path), "--db", url, "--no-demo", "checkpoints", "--json")
    assert code == 0, err
    assert json.loads(out)["checkpoint"] is None  # a roster and no shift: no whole hour of log
    code, out, err = _run(capsys, "--data-dir", str(tmp_path), "--db", url, "--no-demo", "simulate", "--hours", "3", "--calls", "30",
                          "--seed", "5", "--straight", "--start", "2026-11-02T09:00:00", "--json")
    assert code == 0, err
    code, out, err = _run(capsys, "--data-dir", str(tmp_path), "--db", url, "--no-demo", "checkpoints", "--json")
    assert code == 0, err
    first = json.loads(out)
    # the last checkpoint: the last whole hour of the shift (09:00-12:00 Shanghai = 01:00-04:00Z)
    assert first["checkpoint"] == "2026-11-02T03:00:00Z" and first["events_before"] > 100
    files = sorted(p.name for p in (app.settings.cache_dir / "replay").glob("*.ckpt"))
    assert len(files) >= 3
    code, out, err = _run(capsys, "--data-dir", str(tmp_path), "--db", url, "--no-demo", "checkpoints")
    assert code == 0 and "回放检查点已更新" in out and "2026-11-02 11:00" in out, err
    assert sorted(p.name for p in (app.settings.cache_dir / "replay").glob("*.ckpt")) == files
