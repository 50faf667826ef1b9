"""PostgreSQL: the hot actions read and decide before the append lock and take it at their
instant (store.db.Store.transaction lock_late). Another seat committing between the read
and the lock is a race: the version check at the write catches it and the action runs
again on what is there now — it goes through when it still may, and is refused with the
domain's own reason when it may not; it never overwrites, double-dispatches or puts an
instant out of log order. Each race is made deterministic: the other seat acts just
before this seat's lock statement is sent."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event, text

from dispatch.bootstrap import bootstrap
from dispatch.domain.errors import ConcurrentChange, DispatchError
from dispatch.services import queries
from dispatch.services.context import RACE_ATTEMPTS
from dispatch.services.locations import Location
from dispatch.settings import Settings
from dispatch.store import hashchain
from dispatch.store.db import StaleWrite
from tests.integration.pg_schema import fresh_schema
from tests.integration.test_one_instant import event_times, fold_mismatches

pytestmark = pytest.mark.postgres


def _before_lock(app, other: Callable[[], object], times: int = 1) -> list[int]:  # noqa: ANN001
    """Run `other` (another seat's action) just before this app's next `times` lock
    statements; returns the list of lock statements seen."""
    seen: list[int] = []

    def hook(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "pg_advisory_xact_lock" in statement:
            seen.append(1)
            if len(seen) <= times:
                other()
    event.listen(app.engine, "before_cursor_execute", hook)
    return seen


def _two_seats(url: str, tmp_path):  # noqa: ANN001, ANN202
    one = bootstrap(Settings(db_url=url, data_dir=tmp_path / "a", seat="席位01"))
    two = bootstrap(Settings(db_url=url, data_dir=tmp_path / "b", seat="席位02"))
    return one, two


def _located_call(app) -> int:  # noqa: ANN001
    iid = app.services.open_call("13800138000", "").incident_id
    app.services.locate(iid, Location(name="人民广场", lon=121.4737, lat=31.2304, kind="landmark"))
    return iid


def _available(app) -> list[int]:  # noqa: ANN001
    return [u.id for u in app.unit_snapshots() if u.status.value == "available" and u.kind.is_police]


def test_a_categorise_raced_by_a_note_runs_again_and_both_stay(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        one, two = _two_seats(url, tmp_path)
        iid = _located_call(one)
        locks = _before_lock(one, lambda: two.services.add_note(iid, "报警人称对方已离开"))
        one.services.categorise(iid, "dispute", None, "两人争执")
        assert len(locks) == 2  # raced once, then ran again
        with one.session() as s:
            inc = queries.incident(s, iid)
        assert inc.category == "dispute" and inc.narrative == "两人争执"
        with one.engine.connect() as c:
            kinds = [r[0] for r in c.execute(text("SELECT kind FROM events ORDER BY id"))]
            assert kinds[-2:] == ["incident.noted", "incident.categorised"]
            assert hashchain.verify(c).ok
        assert fold_mismatches(one) == []
        times = event_times(one)
        assert times == sorted(times)
        one.engine.dispose(); two.engine.dispose()  # noqa: E702


def test_a_unit_taken_between_the_read_and_the_lock_is_refused_for_what_it_is(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        one, two = _two_seats(url, tmp_path)
        first, second = _located_call(one), _located_call(two)
        unit = _available(one)[0]
        _before_lock(one, lambda: two.services.dispatch(second, [unit]))
        with pytest.raises(DispatchError) as refused:
            one.services.dispatch(first, [unit])
        assert not isinstance(refused.value, ConcurrentChange)  # the domain's reason, not "changed"
        assert "空闲" in str(refused.value) or "不可派" in str(refused.value) or "已派" in str(refused.value), \
            str(refused.value)
        with one.engine.connect() as c:
            open_rows = c.execute(text("SELECT incident_id FROM assignments WHERE unit_id = :u "
                                       "AND cleared_at IS NULL"), {"u": unit}).scalars().all()
            assert open_rows == [second]
            assert hashchain.verify(c).ok
        assert fold_mismatches(one) == []
        one.engine.dispose(); two.engine.dispose()  # noqa: E702


def test_a_status_raced_by_a_close_is_refused_by_the_state_machine(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        one, two = _two_seats(url, tmp_path)
        iid = _located_call(one)
        one.services.categorise(iid, "dispute")
        unit = _available(one)[0]
        one.services.dispatch(iid, [unit])
        _before_lock(one, lambda: two.services.close(iid, "mediated", "双方和解"))
        with pytest.raises(DispatchError) as refused:
            one.services.set_unit_status(unit, "acknowledged")  # the close released it meanwhile
        assert not isinstance(refused.value, ConcurrentChange), str(refused.value)
        with one.session() as s:
            u = next(x for x in queries.unit_snapshots(s) if x.id == unit)
        assert u.status.value == "available" and u.incident_id is None
        assert fold_mismatches(one) == []
        one.engine.dispose(); two.engine.dispose()  # noqa: E702


def test_an_action_raced_every_time_is_refused_naming_the_other_seat(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        one, two = _two_seats(url, tmp_path)
        iid = _located_call(one)
        notes = iter(range(100))
        locks = _before_lock(one, lambda: two.services.add_note(iid, f"第{next(notes)}次补充"), times=RACE_ATTEMPTS)
        with pytest.raises(StaleWrite) as refused:
            one.services.categorise(iid, "theft")
        assert len(locks) == RACE_ATTEMPTS
        assert "席位02" in str(refused.value)
        with one.session() as s:
            assert not queries.incident(s, iid).category  # nothing of it written
        with one.engine.connect() as c:
            assert hashchain.verify(c).ok
        one.engine.dispose(); two.engine.dispose()  # noqa: E702


def test_a_refused_action_takes_no_lock(pg_url, tmp_path):
    with fresh_schema(pg_url) as url:
        one, _two = _two_seats(url, tmp_path)
        iid = one.services.open_call("13800138000", "").incident_id  # not located
        locks = _before_lock(one, lambda: None, times=0)
        with pytest.raises(DispatchError):
            one.services.dispatch(iid, [_available(one)[0]])
        assert locks == []  # decided and refused on the read alone: the room's lock untouched
        one.engine.dispose(); _two.engine.dispose()  # noqa: E702
