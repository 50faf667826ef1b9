"""Another seat's change reaches this seat through the log, the same path as its own."""
from __future__ import annotations

import pytest

from dispatch.bootstrap import bootstrap
from dispatch.services.context import Actor
from ui.incident_queue import IncidentQueue
from ui.log_follower import LogFollower


def test_other_seat_change_arrives_by_cursor(qtbot, app, clock):
    other = bootstrap(app.settings, clock=clock)  # a second seat on the same database
    seat_b = other.services_for(Actor("席位02", "接警员乙"))
    follower = LogFollower(app, interval_ms=50)
    queue = IncidentQueue()
    qtbot.addWidget(queue)

    def refresh(_events):
        from dispatch.services import queries
        with app.session() as s:
            queue.set_incidents(queries.open_incidents(s), clock.now())

    follower.changed.connect(refresh)
    with qtbot.waitSignal(follower.changed, timeout=2000) as blocker:
        iid = seat_b.open_call("13700000000", "").incident_id
    events = blocker.args[0]
    assert [e.kind for e in events] == ["call.received"] and events[0].seat == "席位02"
    qtbot.waitUntil(lambda: queue.model.row_of(iid) >= 0, timeout=2000)
    follower.stop()
    other.engine.dispose()


@pytest.mark.postgres
def test_notify_wakes_the_seat_on_postgresql(qtbot, pg_url, tmp_path, clock):
    """On PostgreSQL the change arrives by NOTIFY: the fallback timer (60 s) never fires."""
    from dispatch.settings import Settings
    from tests.integration.pg_schema import fresh_schema

    with fresh_schema(pg_url) as url:
        settings = Settings(db_url=url, data_dir=tmp_path, load_demo=False)
        app, other = bootstrap(settings, clock=clock), bootstrap(settings, clock=clock)
        follower = LogFollower(app, interval_ms=60_000)
        qtbot.waitUntil(lambda: follower._follower.listener.connected.is_set(), timeout=5000)
        seat_b = other.services_for(Actor("席位02", "接警员乙"))
        with qtbot.waitSignal(follower.changed, timeout=2000) as blocker:
            iid = seat_b.open_call("13700000000", "").incident_id
        assert [(e.kind, e.incident_id) for e in blocker.args[0]] == [("call.received", iid)]
        follower.stop()
        app.engine.dispose()
        other.engine.dispose()
