"""Another seat's change reaches this seat through the log, the same path as its own."""
from __future__ import annotations

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
