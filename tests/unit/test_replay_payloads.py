"""The replay log's compact columns (dispatch.replay.payloads, dispatch.replay.state):
payloads kept as read and decoded when needed, equal to decoding each as json does; each
incident's or unit's events found by position, in log order."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dispatch.replay.payloads import Payloads
from dispatch.replay.state import _Grouped

DICTS = [{"to": "en_route", "callsign": "巡1"}, {"lon": 121.4800443, "admin": ["上海市"]},
         {"eta_s": 13.3, "grid_id": None}, {}, {"note": "a, b; [c]"}]


def _bytes(values: list) -> list[bytes]:
    return [json.dumps(v).encode() for v in values]


def test_joined_chunks_decode_each_payload_and_every_chunk_as_json_does():
    store = Payloads()
    store.add(_bytes(DICTS[:2]))
    store.add([])  # an empty chunk adds nothing
    store.add(_bytes(DICTS[2:]) + [b"null"])
    assert len(store) == len(DICTS) + 1
    assert [store.payload(k) for k in range(len(DICTS))] == DICTS
    assert store.payload(len(DICTS)) == {}  # JSON null: no payload
    assert [(s, e) for s, e, _ in store.chunks()] == [(0, 2), (2, 6)]
    assert [d for _, _, dicts in store.chunks() for d in dicts] == DICTS + [{}]
    with pytest.raises(IndexError):
        store.raw(len(store))


def test_what_the_fast_decoder_refuses_and_dicts_from_postgresql_decode_too():
    store = Payloads()
    store.add([json.dumps({"eta_s": float("nan")}).encode(), b'{"to": "available"}'])  # json writes NaN
    store.add([{"to": "on_scene"}, None])  # PostgreSQL: dicts already
    (_, _, first), (_, _, second) = store.chunks()
    assert math.isnan(first[0]["eta_s"]) and first[1] == {"to": "available"}
    assert math.isnan(store.payload(0)["eta_s"])
    assert second == [{"to": "on_scene"}, {}] and store.payload(2) == {"to": "on_scene"}


def test_grouped_positions_in_log_order_and_the_last_before_a_position():
    ids = np.array([5, 0, 7, 5, 5, 0, 7, 9], dtype=np.int64)
    g = _Grouped(ids)
    assert g.positions(5).tolist() == [0, 3, 4] and g.positions(7).tolist() == [2, 6]
    assert g.positions(8).tolist() == []
    assert g.last_before(np.array([5, 7, 9, 8]), 4).tolist() == [3, 2, -1, -1]
    assert g.last_before(np.array([5, 9]), 8).tolist() == [4, 7]
    assert g.last_before(np.array([5]), 0).tolist() == [-1]


def test_chunks_once_folded_are_kept_compressed_and_read_back_the_same():
    many = [{"to": "en_route", "callsign": f"巡{k % 40:02d}", "note": "到达现场，纠纷已调解"} for k in range(3000)]
    store = Payloads()
    store.add(_bytes(many[:1000]))
    store.add(_bytes(many[1000:]))
    store.add([{"to": "on_scene"}])  # dicts (PostgreSQL): kept as they are
    raw_before = [store.raw(k) for k in range(len(store))]
    size_before = sum(len(c) for c in store._chunks[:2])
    assert [d for _, _, dicts in store.chunks() for d in dicts] == many + [{"to": "on_scene"}]
    assert store._packed == [True, True, False]
    assert sum(len(c) for c in store._chunks[:2]) * 5 < size_before  # packed, not just flagged
    assert [store.raw(k) for k in range(len(store))] == raw_before  # any order of chunks
    assert [store.raw(k) for k in reversed(range(len(store)))] == raw_before[::-1]
    assert [d for _, _, dicts in store.chunks() for d in dicts] == many + [{"to": "on_scene"}]  # again
    assert store.payload(1500) == many[1500]
