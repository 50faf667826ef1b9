"""The duplicate-call and premise-history rules live in the core (issue 11, item 2)."""
from __future__ import annotations

from dispatch.services import queries
from dispatch.services.locations import Location
from dispatch.services.place_context import place_context

HERE = Location("福州路与西藏中路交叉口", 121.4765, 31.2335, kind="intersection")
NEAR = Location("福州路", 121.4780, 31.2336, kind="road")          # ~140 m east
FAR = Location("南京东路外滩", 121.4900, 31.2400, kind="road")    # ~1.5 km


def _located(app, where: Location) -> int:
    iid = app.services.open_call("13800000000").incident_id
    app.services.locate(iid, where)
    return iid


def test_duplicates_are_open_close_and_recent_history_is_closed_close(app, clock):
    old_open = _located(app, HERE)
    clock.advance(3 * 3600)                       # older than the 2-hour window of duplicates
    closed = _located(app, NEAR)
    app.services.close(closed, "invalid")
    _located(app, FAR)
    recent = _located(app, NEAR)
    clock.advance(600)
    new = _located(app, HERE)
    with app.session() as s:
        ctx = place_context(s, queries.incident(s, new), clock.now())
    assert [v.id for v in ctx.possible_duplicates] == [recent]
    assert [v.id for v in ctx.closed_nearby] == [closed]
    assert old_open not in [v.id for v in ctx.possible_duplicates]
    assert ctx.grid is not None and ctx.grid.officer_callsign and ctx.grid.members
