"""转警: the incident leaves the queue closed as 转办 with its record and the units
released, in one transaction — through the services and through `act`."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.services import queries
from dispatch.services.callbacks import due
from dispatch.services.locations import Location
from dispatch.services.transfer import transfer
from dispatch.replay.timeline import describe
from dispatch.store import eventlog
from tests.integration.act_support import run_act

REPO = Path(__file__).resolve().parents[2]


def test_transfer_a_dispatched_incident(app, clock):
    sv = app.services
    iid = sv.open_call("13800000031").incident_id
    sv.categorise(iid, "complaint", narrative="小区噪音投诉")
    with app.session() as s:
        unit = next(u for u in queries.unit_snapshots(s) if u.status.value == "available")
    sv.locate(iid, Location.manual(unit.lon, unit.lat, "小区门口", point=app.reverse.describe(unit.lon, unit.lat)))
    sv.dispatch(iid, [unit.id])
    clock.advance(30)
    changes = transfer(sv.ctx, iid, "12345 政务服务热线", "属城管职责，非警务类")
    with app.session() as s:
        assert iid not in [i.id for i in queries.open_incidents(s)]
        view = queries.incident(s, iid)
        kinds = [e.kind for e in eventlog.read(s, incident_id=iid)]
        unit_after = next(u for u in queries.unit_snapshots(s) if u.id == unit.id)
    assert (view.status.value, view.result_code) == ("closed", "transferred")
    assert "12345" in view.close_note and "城管" in view.close_note and view.narrative == "小区噪音投诉"
    assert kinds[-3:] == ["incident.transferred", "unit.status", "incident.closed"]
    with app.session() as s:
        lines = [describe(e) for e in eventlog.read(s, incident_id=iid)][-3:]
    assert lines[0] == "转警至 12345 政务服务热线：属城管职责，非警务类" and lines[1].endswith("空闲（结警释放）")
    assert lines[2] == "结警：转办，转至12345 政务服务热线：属城管职责，非警务类"
    assert unit_after.status.value == "available" and unit.id in changes.units
    clock.advance(10 * 3600)
    with app.session() as s:  # the receiving body calls back, not this centre
        assert iid not in [d.incident_id for d in due(s, clock.now())]
    with pytest.raises(DispatchError, match="已结警"):
        transfer(sv.ctx, iid, "邻县 110", "再转")


def test_refusals_write_nothing(app):
    sv = app.services
    iid = sv.open_call("13800000032").incident_id
    with app.session() as s:
        before = eventlog.last_id(s)
    for to, reason in (("", "原因"), ("邻县 110", " "), ("x" * 100, "原因")):
        with pytest.raises(DispatchError):
            transfer(sv.ctx, iid, to, reason)
    with pytest.raises(DispatchError, match="不存在"):
        transfer(sv.ctx, 999999, "邻县 110", "管辖")
    with app.session() as s:
        assert eventlog.last_id(s) == before and queries.incident(s, iid).status.value == "pending"


def test_transfer_through_act(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")

    def act(cmds: list[dict]) -> list[dict]:
        return run_act(tmp_path, cmds)

    iid = act([{"op": "open_call", "number": "13800000033"}])[0]["incident_id"]
    out = act([{"op": "transfer", "incident_id": iid, "to": "嘉兴市公安局 110 指挥中心"},
               {"op": "transfer", "incident_id": iid, "to": "嘉兴市公安局 110 指挥中心", "reason": "事发地属嘉兴管辖"},
               {"op": "transfer", "incident_id": iid, "to": "x", "reason": "y"}])
    assert [o["ok"] for o in out] == [False, True, False], out
    assert "reason" in out[0]["error"] and "已结警" in out[2]["error"]


def test_fold_of_a_transferred_incident_equals_its_projection(app, clock):
    """转警 closes through the same code as 结警, so replay folds it to the same state."""
    from dataclasses import asdict

    from dispatch.replay.state import ReplayIndex
    sv = app.services
    unit = next(u for u in app.unit_snapshots() if u.kind.is_police and not u.duty)
    iid = sv.open_call("13800000000").incident_id
    sv.locate(iid, Location.manual(unit.lon, unit.lat, "小区门口", point=app.reverse.describe(unit.lon, unit.lat)))
    sv.dispatch(iid, [unit.id])
    clock.advance(30)
    transfer(sv.ctx, iid, "12345 政务服务热线", "属城管职责")
    with app.session() as s:
        live = queries.incident(s, iid)
        folded = next(i for i in ReplayIndex.load(s).final_incidents() if i.id == iid)
    assert asdict(folded) == asdict(live)
