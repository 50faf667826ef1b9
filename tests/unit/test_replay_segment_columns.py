"""A fold segment's columns give back exactly the states the fold made: every field's
value and type (an ETA of 600 stays an int, 600.0 a float; None stays None), instants to
the microsecond, admin chains as lists (one holding the separator too), hostile text,
assignments shared between states, and unit statuses; through pickle, as on disk."""
from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import numpy as np

from dispatch.domain import events as ev
from dispatch.domain.evolve import evolve_incident, new_incident
from dispatch.domain.units import UnitStatus
from dispatch.replay.fold import incident_view, shared_state
from dispatch.replay.segments import LazyRows, Segment, cut
from dispatch.services.queries import AssignmentView, IncidentView

T0 = datetime(2026, 11, 2, 3, 4, 5, 999_999, tzinfo=timezone.utc)


def _states() -> list[tuple[int, float, IncidentView]]:
    """Two incidents' states after each step, as the fold makes them."""
    rows = []
    names = ["张三", "", "李四\x1f王五", "'); DROP TABLE events;--", "🚓" * 40]
    for iid in (7, 3):
        at = T0 + timedelta(seconds=iid)
        state = shared_state(new_incident(iid, at, "席位01", "王", {"caller_number": "110", "caller_name": names[iid % 5]}))
        steps = [
            (ev.INCIDENT_LOCATED, None, {"text": "外滩", "name": "外滩", "kind": "landmark",
                                         "admin": ["上海市", "黄浦区"] if iid == 7 else ["a\x1fb", ""],
                                         "lon": 121.49, "lat": None if iid == 3 else 31.24, "grid_id": None}),
            (ev.INCIDENT_CATEGORISED, None, {"category": "纠纷", "priority": "high", "narrative": names[(iid + 2) % 5]}),
            (ev.UNIT_DISPATCHED, 11, {"callsign": "黄巡01", "eta_s": 600 if iid == 7 else 600.0, "route_m": None}),
            (ev.UNIT_ACKNOWLEDGED, 11, {}),
            (ev.UNIT_DISPATCHED, 12, {"callsign": "黄巡02", "eta_s": None, "route_m": 1234.5}),
            (ev.UNIT_STATUS, 11, {"to": "en_route"}),
            (ev.UNIT_STATUS, 11, {"to": "on_scene"}),
            (ev.INCIDENT_CLOSED, None, {"result_code": "已处置", "note": "多行\n备注"}),
        ]
        rows.append((iid, at.timestamp(), incident_view(state)))
        for k, (kind, unit, payload) in enumerate(steps):
            at = at + timedelta(seconds=37, microseconds=k * 3)
            assert evolve_incident(state, kind, at, unit, payload, AssignmentView)
            rows.append((iid, at.timestamp(), incident_view(state)))
    return rows


def _segment(rows: list, unit_rows: list) -> Segment:
    none = np.zeros(0, dtype=np.int64)
    seg = cut(0.0, 0, 1e10, 99, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
              [r[2] for r in rows], np.array([u[0] for u in unit_rows], dtype=np.int64),
              np.array([u[1] for u in unit_rows]), [u[2] for u in unit_rows],
              {"incident_ids": none, "unit_ids": none, "ts": np.zeros(0), "kinds": []})
    return pickle.loads(pickle.dumps(seg, protocol=pickle.HIGHEST_PROTOCOL))


def test_every_state_comes_back_equal_and_of_the_same_types():
    rows = _states()
    seg = _segment(rows, [])
    expect = [r[2] for r in sorted(rows, key=lambda r: (r[0], r[1]))]
    got = seg.views(list(range(len(seg))))
    assert got == expect
    for a, b in zip(got, expect):
        for name, value in vars(b).items():
            assert type(vars(a)[name]) is type(value), name
        for x, y in zip(a.assignments, b.assignments):
            assert vars(x) == vars(y) and all(type(vars(x)[k]) is type(v) for k, v in vars(y).items())
    assert got[-1].place_admin == ["上海市", "黄浦区"] and isinstance(got[-1].place_admin, list)
    assert expect[0].id == 3 and got[5].place_admin == ["a\x1fb", ""]
    assert got[-1].closed_at.microsecond == expect[-1].closed_at.microsecond
    # the same assignment object in the states it did not change between
    later = [v for v in got if v.id == 7 and len(v.assignments) == 2]
    assert later[0].assignments[1] is later[1].assignments[1]


def test_rows_are_made_when_asked_in_any_order_and_kept():
    rows = _states()
    seg = _segment(rows, [])
    lazy = LazyRows([seg, seg])
    n = len(seg)
    wanted = [n + 3, 1, n + 3, 2 * n - 1]
    got = lazy.views(wanted)
    whole = seg.views(list(range(n)))
    assert got == [whole[3], whole[1], whole[3], whole[n - 1]]
    assert got[0] is got[2] and lazy.views([1])[0] is got[1]
    assert lazy.closed_at([n - 1, 0]) == [whole[n - 1].closed_at.timestamp(), float("inf")]


def test_unit_statuses_come_back():
    when = [T0 + timedelta(minutes=k, microseconds=k) for k in range(3)]
    unit_rows = [(5, when[1].timestamp(), (UnitStatus.EN_ROUTE, when[1], 9)),
                 (4, when[0].timestamp(), (UnitStatus.AVAILABLE, when[0], None)),
                 (5, when[0].timestamp(), (UnitStatus.DISPATCHED, when[0], 9)),
                 (4, when[2].timestamp(), (UnitStatus.OFF_DUTY, None, None))]
    seg = _segment(_states(), unit_rows)
    assert seg.u_id.tolist() == [4, 4, 5, 5]
    assert seg.unit_states([0, 1, 2, 3]) == [unit_rows[1][2], unit_rows[3][2], unit_rows[2][2], unit_rows[0][2]]
    assert LazyRows([seg]).unit_states([3, 0]) == [unit_rows[0][2], unit_rows[1][2]]


def test_admin_chains_split_back_into_the_same_lists():
    from dispatch.replay.segments import _joined, _split

    chains = [[], ["上海市"], ["上海市", "黄浦区"], ["上海市", ""], [""], ["a\x1fb"]]
    assert [_split(v) for v in _joined(chains)] == chains
