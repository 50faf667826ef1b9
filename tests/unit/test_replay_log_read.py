"""Reading the log for replay (dispatch.replay.log_read): payloads decoded as json would,
positions as columns split per unit (dispatch.replay.state._attach_positions)."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import numpy as np

from dispatch.replay.log_read import _positions
from dispatch.replay.payloads import decode_many as _payloads
from dispatch.replay.state import _attach_positions, _UnitTrack


def test_payloads_decode_as_json_does_including_what_the_fast_decoder_refuses():
    texts = [json.dumps(p) for p in ({"to": "en_route", "callsign": "巡1"}, {"lon": 121.4800443, "admin": ["上海市"]},
                                     {"eta_s": 13.3, "grid_id": None}, {})]
    assert _payloads(texts) == [json.loads(t) for t in texts]
    assert _payloads(texts + ["null"])[-1] == {}
    with_nan = _payloads([texts[0], json.dumps({"eta_s": float("nan")})])  # json.dumps writes NaN
    assert with_nan[0] == {"to": "en_route", "callsign": "巡1"} and math.isnan(with_nan[1]["eta_s"])
    assert _payloads([{"to": "available"}, None]) == [{"to": "available"}, {}]  # PostgreSQL: dicts already


def test_positions_are_columns_and_each_unit_gets_its_own_run():
    rows = [(1, "2026-11-02 00:00:00.000000", 121.1, 31.1), (1, "2026-11-02 00:00:30.250000", 121.2, 31.2),
            (5, "2026-11-02 00:00:10.000000", 121.5, 31.5), (7, "2026-11-02 00:00:00.000000", 121.7, 31.7)]
    cols = _positions(rows)
    at0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
    assert cols.at[0] == at0 and cols.ts[1] == at0.timestamp() + 30.25
    units = {uid: _UnitTrack(row={}) for uid in (1, 5, 9)}  # 7 is not a known unit; 9 has no fix
    _attach_positions(units, cols)
    assert units[1].pos_t.tolist() == [at0.timestamp(), at0.timestamp() + 30.25]
    assert units[1].pos_lon.tolist() == [121.1, 121.2] and units[5].pos_lat.tolist() == [31.5]
    assert units[5].pos_at == [datetime(2026, 11, 2, 0, 0, 10, tzinfo=timezone.utc)]
    assert len(units[9].pos_t) == 0 and isinstance(units[9].pos_t, np.ndarray)
    _attach_positions(units, _positions([]))  # nothing recorded: nothing changes
    assert len(units[1].pos_t) == 2
