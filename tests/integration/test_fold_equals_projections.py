"""The fold of the log equals the projections: random command sequences (open, locate,
categorise, dispatch 1–3 units, acknowledge, statuses legal and illegal, note, close,
transfer, callback, 交接班, reopen and move) go through the real services on a real
SQLite file with a manual clock; after every step the replay fold of the log
(dispatch.replay.state.ReplayIndex) equals the incidents, assignments and units the
services wrote, and a refused command wrote nothing."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import DispatchError
from dispatch.domain.units import UnitStatus
from dispatch.importers.roster import add_unit
from dispatch.replay.state import ReplayIndex
from dispatch.services import accounts, calls, queries, transfer, units
from dispatch.services.clock import ManualClock
from dispatch.services.context import Actor
from dispatch.services.locations import Location
from dispatch.settings import Settings
from dispatch.store.schema import AssignmentRow, EventRow, IncidentRow, UnitRow

try:
    from dispatch.services import lead
except ImportError:  # the shift lead's powers are not in this checkout: those ops are skipped
    lead = None

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
UNITS = 4
ACTORS = (Actor("席位01", "张三"), Actor("席位02", "李四"))
OPS = ["open", "open", "locate", "categorise", "dispatch", "dispatch", "ack", "status", "status",
       "status", "note", "close", "transfer", "callback", "handover", "reopen", "move"]
STATUSES = [s.value for s in UnitStatus] + ["bogus"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A database with a few units (created by unit.created events), copied per example."""
    folder = tmp_path_factory.mktemp("fold-template")
    app = bootstrap(Settings(data_dir=folder, load_demo=False), ManualClock(START))
    with app.store.transaction() as s:
        for i in range(UNITS):
            add_unit(s, START, callsign=f"巡{i + 1}", kind="patrol_car", lon=121.47 + i / 100,
                     lat=31.23, station="示范派出所", duty=[])
    app.engine.dispose()
    return folder / "dispatch.sqlite3"


def _projections(s):
    incidents = {r.id: r for r in s.scalars(select(IncidentRow))}
    views = {i: queries.incident(s, i) for i in incidents}
    unit_rows = {u.id: (UnitStatus(u.status), queries._utc(u.status_since), u.incident_id)
                 for u in s.scalars(select(UnitRow))}
    return views, unit_rows


def _dump(s):
    return [tuple(r) for t in (EventRow, IncidentRow, AssignmentRow, UnitRow)
            for r in s.execute(select(t.__table__).order_by(*t.__table__.primary_key.columns))]


def _check_fold(app, at):
    with app.session() as s:
        index = ReplayIndex.load(s)
        views, unit_rows = _projections(s)
    folded = {i.id: i for i in index.final_incidents()}
    assert folded == views
    for uid, (status, since, incident_id) in unit_rows.items():
        u = index.unit_at(uid, at)
        assert (u.status, u.status_since, u.incident_id) == (status, since, incident_id), uid
    open_ids = sorted(i.id for i in views.values() if i.status.open)
    assert sorted(i.id for i in index.state_at(at).incidents) == open_ids


def _run(op, a, b, c, ctxs, app):
    """One command; `a`, `b`, `c` pick its incident, units and arguments (most often the
    newest incident and units that can take the move, sometimes any: refusals too)."""
    ctx = ctxs[c % 2]
    with app.session() as s:
        incidents = list(s.scalars(select(IncidentRow.id).order_by(IncidentRow.id.desc())))
        unit_rows = list(s.execute(select(UnitRow.id, UnitRow.status, UnitRow.incident_id).order_by(UnitRow.id)))
    inc = (incidents[(a // 4) % len(incidents)] if a % 4 == 3 else incidents[0]) if incidents else None
    if op == "open":
        return calls.open_call(ctx, f"1380000{a % 10000:04d}", "来电人")
    if inc is None:
        return None
    if op == "locate":
        return calls.locate(ctx, inc, Location(f"某路{b % 7}号", 121.47 + (b % 5) / 100, 31.23, "address"))
    if op == "categorise":
        return calls.categorise(ctx, inc, ["dispute", "theft", "fire", "no-such"][b % 4])
    free = [u.id for u in unit_rows if u.status == "available"] if b % 5 else [u.id for u in unit_rows]
    if op == "dispatch":
        if not free:
            return None
        chosen = list(dict.fromkeys(free[(b + k) % len(free)] for k in range(1 + c % 3)))
        return units.dispatch(ctx, inc, chosen, {chosen[0]: (120.0, 900.0)})
    busy = [u.id for u in unit_rows if u.incident_id is not None] if b % 4 else [u.id for u in unit_rows]
    unit = busy[b % len(busy)] if busy else unit_rows[b % len(unit_rows)].id
    if op == "ack":
        return units.set_status(ctx, unit, UnitStatus.ACKNOWLEDGED)
    if op == "status":
        return units.set_status(ctx, unit, STATUSES[a % len(STATUSES)])
    if op == "note":
        return calls.add_note(ctx, inc, "补充" if b % 3 else "  ")
    if op == "close":
        return calls.close(ctx, inc, ["handled", "invalid", "无效警情", "nonsense"][b % 4], "处理完毕")
    if op == "transfer":
        return transfer.transfer(ctx, inc, "消防支队" if b % 3 else "", "火情")
    if op == "callback":
        return calls.callback(ctx, inc, bool(b % 2), "满意")
    if op == "handover":
        return accounts.take_over(ctx, ctxs[(c + 1) % 2].actor.operator)
    if lead is None:
        return None
    if op == "reopen":
        return lead.reopen(ctx, inc, "复查" if b % 4 else "")
    if op == "move":
        return lead.move(ctx, inc, ACTORS[b % 2].seat, "")
    raise AssertionError(op)


steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50),
                           st.integers(0, 5), st.sampled_from([0, 0, 1, 7, 60, 600])),
                 min_size=1, max_size=30)
PRELUDE = [("open", 0, 0, 0, 0), ("locate", 0, 0, 0, 5)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_fold_of_the_log_equals_the_projections_after_every_step(template, ops):
    with tempfile.TemporaryDirectory(prefix="fold-") as tmp:
        shutil.copy(template, Path(tmp) / "dispatch.sqlite3")
        clock = ManualClock(START)
        app = bootstrap(Settings(data_dir=Path(tmp), load_demo=False), clock)
        base = app.services.ctx
        ctxs = [replace(base, actor=a) for a in ACTORS]
        try:
            for op, a, b, c, advance in PRELUDE + ops:
                clock.advance(advance)
                with app.session() as s:
                    before = _dump(s)
                try:
                    _run(op, a, b, c, ctxs, app)
                except DispatchError:
                    with app.session() as s:  # refused: nothing written
                        assert _dump(s) == before, op
                _check_fold(app, clock.now())
        finally:
            app.engine.dispose()


def test_the_property_reaches_every_kind_of_step(template):
    """A fixed sequence through every op, so the random test's domain is known to reach
    dispatch, arrival, stand-down, close, transfer, handover (and reopen/move if present)."""
    with tempfile.TemporaryDirectory(prefix="fold-") as tmp:
        shutil.copy(template, Path(tmp) / "dispatch.sqlite3")
        clock = ManualClock(START)
        app = bootstrap(Settings(data_dir=Path(tmp), load_demo=False), clock)
        ctxs = [replace(app.services.ctx, actor=a) for a in ACTORS]
        seq = [("open", 0, 0, 0), ("locate", 0, 1, 0), ("categorise", 0, 1, 0), ("dispatch", 0, 1, 2),
               ("ack", 0, 1, 0), ("status", 4, 1, 0), ("status", 0, 2, 0), ("close", 0, 1, 0),
               ("open", 1, 0, 0), ("locate", 1, 0, 0), ("dispatch", 1, 3, 0), ("transfer", 1, 1, 0),
               ("open", 2, 0, 0), ("handover", 2, 0, 1), ("reopen", 11, 1, 0), ("move", 11, 1, 0)]
        try:
            for op, a, b, c in seq:
                clock.advance(30)
                _run(op, a, b, c, ctxs, app)
                _check_fold(app, clock.now())
            with app.session() as s:
                kinds = set(s.scalars(select(EventRow.kind)))
                assert s.scalar(select(func.count()).select_from(AssignmentRow)) == 4
            assert {"unit.created", "unit.dispatched", "unit.acknowledged", "unit.status", "incident.closed",
                    "incident.transferred", "incident.handed_over"} <= kinds
            if lead is not None:
                assert {"incident.reopened", "incident.moved"} <= kinds
        finally:
            app.engine.dispose()


def test_a_unit_exists_in_replay_from_its_creation(template):
    """unit.created: replay knows a unit from its creation (absent before, available since then)."""
    with tempfile.TemporaryDirectory(prefix="fold-") as tmp:
        shutil.copy(template, Path(tmp) / "dispatch.sqlite3")
        clock = ManualClock(START)
        app = bootstrap(Settings(data_dir=Path(tmp), load_demo=False), clock)
        try:
            later = clock.advance(3600)
            with app.store.transaction() as s:
                new = add_unit(s, later, callsign="新增巡5", kind="foot_patrol", lon=121.48, lat=31.22,
                               station="示范派出所", duty=[]).id
            with app.session() as s:
                index = ReplayIndex.load(s)
            before = index.state_at(START.replace(minute=30))
            after = index.state_at(later)
            assert new not in {u.id for u in before.units} and len(before.units) == UNITS
            unit = next(u for u in after.units if u.id == new)
            assert (unit.status, unit.status_since, unit.callsign) == (UnitStatus.AVAILABLE, later, "新增巡5")
            assert [e.kind for e in index.unit_events(new)] == ["unit.created"]
        finally:
            app.engine.dispose()
