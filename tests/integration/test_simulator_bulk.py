"""The bench's fast path writes what the services write: the same shift run through
the real services and through the bulk recorder leaves identical databases."""
from __future__ import annotations

from sqlalchemy import select

from dispatch.feeds.bulk import BulkRecorder
from dispatch.feeds.simulator import SimConfig, Simulator
from dispatch.services.context import Actor
from dispatch.store.schema import AssignmentRow, EventRow, IncidentRow, PositionRow, UnitRow
from tests.integration.replay_support import START, roster_app


def _dump(app):
    out = {}
    with app.session() as s:
        for row in (EventRow, PositionRow, IncidentRow, AssignmentRow, UnitRow):
            t = row.__table__
            out[t.name] = [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key.columns))]
    return out


def test_bulk_recorder_leaves_the_same_database_as_the_services(tmp_path):
    cfg = SimConfig(hours=2, calls=30, seed=7, start=START)
    live, clock, places = roster_app(tmp_path / "live")
    Simulator(live.services, clock, live.unit_snapshots(), places, cfg).run()

    bulk_app, clock2, places2 = roster_app(tmp_path / "bulk")
    rec = BulkRecorder(bulk_app.store, clock2, Actor(bulk_app.settings.seat, bulk_app.settings.operator),
                       grid_of=bulk_app._grid_of)
    Simulator(rec, clock2, bulk_app.unit_snapshots(), places2, cfg).run()
    rec.flush()

    a, b = _dump(live), _dump(bulk_app)
    assert len(a["events"]) > 200 and len(a["positions"]) > 100
    for table in a:
        assert a[table] == b[table], table
