"""The queue and board models obey Qt's model contract (pytest-qt's modeltester)."""
from __future__ import annotations

from dispatch.services import queries
from dispatch.services.locations import Location
from ui.incident_queue import IncidentQueueModel
from ui.unit_board import UnitBoardModel


def test_models_pass_the_model_tester(qtmodeltester, app, clock):
    sv = app.services
    iid = sv.open_call("13800000000", "").incident_id
    sv.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    sv.dispatch(iid, [1])
    clock.advance(120)  # long enough to be unacknowledged
    with app.session() as s:
        incidents, units = queries.open_incidents(s), queries.unit_snapshots(s)
    q = IncidentQueueModel()
    q.set_incidents(incidents, clock.now())
    qtmodeltester.check(q)
    b = UnitBoardModel(ack_timeout_s=60)
    b.set_units(units, incidents, clock.now())
    qtmodeltester.check(b)
    assert b.alert(1) == "未签收" and b.alert(2) is None
