"""The vectorised pieces of the index build against their one-value-at-a-time
definitions, and the packed index (what the cache file holds) against the index it
came from: the same names, paths, junctions and keys."""
import random

import numpy as np
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from dispatch.geo.geocode_index import FORMAT_VERSION, GeoIndex, PlaceRecord, places_signature, read_places
from dispatch.geo.key_tables import (SortedKeys, _merge, core_names, intern_values, pack_strings,
                                     unpack_strings)
from dispatch.geo.pinyin_keys import bulk_keys, canonical, typed_keys
from dispatch.geo.text import NAME_SUFFIXES, core_name

TRICKY = ["", "a", "区", "自治区", "x自治区", "xy自治区", "新疆维吾尔自治区", "村村", "村村村", "社区居委会",
          "a社区居委会", "ab社区居委会", "ab居委会", "民族乡", "ab民族乡", "长河镇", "重庆长乐路", "乐清行长",
          "长长长", "A1路", "·", "a（b）", "\ud800长村", "𠀋村委会", "x\x00y村"]
TRICKY += list(NAME_SUFFIXES) + ["ab" + s for s in NAME_SUFFIXES] + ["a" + s for s in NAME_SUFFIXES]


def test_core_names_equal_core_name():
    rng = random.Random(5)
    alphabet = "村委会社区居街道办事处民族乡镇市县区自治州旗盟省林地苏木长重ab"
    names = TRICKY + ["".join(rng.choices(alphabet, k=rng.randint(0, 8))) for _ in range(3000)]
    assert core_names(names) == [core_name(n) for n in names]
    assert core_names([]) == [] and core_names(["福州路"]) == ["福州路"]


def test_bulk_keys_equal_typed_keys_on_tricky_names():
    names = [n for n in TRICKY if "\x00" not in n]
    cores = core_names(names)
    sounds, fulls, initials, owners, extra = bulk_keys(names, cores)
    for i, n in enumerate(names):
        keys = {fulls[i], initials[i]} | {k for o, k in zip(owners, extra) if o == i}
        assert keys - {""} == typed_keys(n), n
        assert sounds[i] == canonical(cores[i]), n


class SameHash(str):
    def __hash__(self):
        return 7


def test_intern_values_exact_with_colliding_hashes():
    rng = random.Random(3)
    values = [rng.choice(["甲", "乙", "丙", "", "a"]) for _ in range(500)]
    distinct, slots = intern_values(values)
    assert distinct == list(dict.fromkeys(values)) and [distinct[s] for s in slots] == values
    clash = [SameHash("a"), SameHash("b"), SameHash("a"), SameHash("c")]
    distinct, slots = intern_values(clash)
    assert distinct == ["a", "b", "c"] and slots.tolist() == [0, 1, 0, 2]


def test_packed_strings_and_sorted_keys_round_trip():
    for values in ([], [""], ["", ""], ["a\x00b", "", "中"], ["x𝄞y", "é", "ab"]):
        assert unpack_strings(pack_strings(values)) == values
        assert list(SortedKeys.of(values)) == values


def test_merge_is_a_stable_sort():
    rng = np.random.default_rng(1)
    a = (np.sort(rng.integers(0, 50, 400)), rng.integers(0, 1000, 400))
    b = (np.sort(rng.integers(0, 50, 60)), rng.integers(0, 1000, 60))
    order = np.argsort(np.concatenate([a[0], b[0]]), kind="stable")
    got = _merge(a, b)
    assert np.array_equal(got[0], np.concatenate([a[0], b[0]])[order])
    assert np.array_equal(got[1], np.concatenate([a[1], b[1]])[order])


def records():
    return [
        PlaceRecord(3, "福州路", "road", None, ["上海市", "黄浦区"], 121.48, 31.23, None, "osm", None),
        PlaceRecord(5, "西藏中路", "road", '["西藏路"]', '["上海市", "黄浦区"]', 121.47, 31.23, None, "osm", None),
        PlaceRecord(8, "福州路与西藏中路交叉口", "intersection", None, ["上海市", "黄浦区"], 121.475, 31.231,
                    None, "osm", {"roads": ["福州路", "西藏中路"]}),
        PlaceRecord(9, "马渚镇", "town", None, ["浙江省", "宁波市", "余姚市"], None, None, "town", "", None),
        PlaceRecord(12, "斗门村", "village", ["斗门"], ["浙江省", "宁波市", "余姚市", "马渚镇"], 121.2, 30.0,
                    None, "", None),
    ]


def test_packed_index_gives_back_the_index(tmp_path):
    idx = GeoIndex.build(records(), signature=("t",), cache=tmp_path / "i.pkl")
    assert idx.names == ["福州路", "西藏中路", "福州路与西藏中路交叉口", "马渚镇", "斗门村"]
    assert idx.admin_of(4) == ("浙江省", "宁波市", "余姚市", "马渚镇")
    assert idx.admin_of(4)[3] is idx.names[3]          # one object for a name said in a path
    assert idx.context == {2: "福州路 / 西藏中路"} and idx.road_pairs == {("福州路", "西藏中路"): 2}
    assert idx.road_entries == [0, 1]
    assert idx.exact.get("西藏路").tolist() == [1] and idx.core.get("斗门").tolist() == [4]
    loaded = GeoIndex.load(tmp_path / "i.pkl", ("t",))
    assert loaded is not None
    again = GeoIndex.from_state(idx.state())
    for other in (loaded, again):
        assert other.names == idx.names and other.paths == idx.paths and other.context == idx.context
        assert other.road_pairs == idx.road_pairs and other.road_entries == idx.road_entries
        for t in ("exact", "core", "sound"):
            a, b = getattr(idx, t), getattr(other, t)
            assert list(a.slot) == list(b.slot) and np.array_equal(a.ids, b.ids), t
        assert list(other.typed.keys) == list(idx.typed.keys)
        assert np.array_equal(other.bigram.codes, idx.bigram.codes)
    assert GeoIndex.load(tmp_path / "i.pkl", ("other",)) is None
    empty = GeoIndex.build([], signature=("e",))
    assert len(empty) == 0 and empty.names == [] and empty.exact.get("福州路").tolist() == []


def test_signature_of_the_rows_read_is_places_signature(tmp_path):
    from dispatch.geo.gazetteer import Place, write_places
    from dispatch.store.schema import Base
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    Base.metadata.create_all(engine)
    assert GeoIndex.build(read_places(engine), signature=None).signature == places_signature(engine)
    with Session(engine) as s:
        write_places(s, [Place(r.name, r.kind, r.lon, r.lat, list(r.admin) if isinstance(r.admin, list) else [])
                         for r in records()])
        s.commit()
    built = GeoIndex.build(read_places(engine), signature=None)
    assert built.signature == places_signature(engine) and built.signature[0] == FORMAT_VERSION
    assert len(built) == 5


@pytest.mark.parametrize("bad", [b"", b"garbage", None])
def test_a_bad_cache_file_is_not_loaded(tmp_path, bad):
    path = tmp_path / "i.pkl"
    if bad is not None:
        path.write_bytes(bad)
    assert GeoIndex.load(path, ("t",)) is None


def test_sorted_order_equals_sorting_the_keys():
    from dispatch.geo.key_tables import sorted_order
    rng = random.Random(8)
    # long shared prefixes (ties on the 18 characters numpy sorts by), characters from
    # 127 on (read as 127), NUL (as the padding of a shorter key), astral characters
    for alphabet in ("ab", "abz中\U0001d11e\x00é\x7f\x80", "zhongshanlu"):
        for size in (10, 3000):
            keys = list({"".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(size)})
            keys += ["zhongshanlu" * 3 + k for k in keys[:50]]
            keys = list(dict.fromkeys(keys))
            assert sorted_order(keys) == sorted(range(len(keys)), key=keys.__getitem__), alphabet


def test_decoded_all_equals_decoding_one_by_one():
    from dispatch.geo.geocode_index import _decoded_all, decoded_json
    cases = [['["a"]', "[]", "", None, ("x",), '["b", "c"]'], ["1, 2", "[3]"], ["[1]", " "],
             ["[1]]", "[[2]"], ['"a"', "null"], ['["\\u4e0a\\u6d77\\u5e02"]', '["上海市"]']]
    for values in cases:
        try:
            want = [decoded_json(v, ()) for v in values]
        except ValueError:
            with pytest.raises(ValueError):
                _decoded_all(values)
        else:
            assert _decoded_all(values) == want, values


def _place_rows_db(tmp_path, odd_name: str | None = None):
    from dispatch.geo.gazetteer import Place, write_places
    from dispatch.store.schema import Base
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    Base.metadata.create_all(engine)
    rng = random.Random(4)
    kinds = ["road", "intersection", "town", "village", "poi", "landmark"]
    places = []
    for i in range(2500):   # more kinds, precisions and sources than a CASE has at first
        kind = rng.choice(kinds) if i % 700 else f"kind{i}"
        extra = {"roads": [f"路{i}", f"街{i}"]} if kind == "intersection" else ({"code": str(i)} if i % 3 else {})
        name = odd_name if odd_name is not None and i == 1234 else f"名{rng.randint(0, 400)}"
        places.append(Place(name, kind, rng.uniform(73, 135) if i % 11 else None,
                            rng.uniform(18, 53), admin=["浙江省", f"市{rng.randint(0, 30)}"],
                            aliases=[f"别名{i}"] if i % 17 == 0 else [], precision=rng.choice(["point", "town", ""]),
                            source=f"src{rng.randint(0, 80)}", extra=extra))
    with Session(engine) as s:
        write_places(s, places)
        s.commit()
    return engine


@pytest.mark.parametrize("odd_name", [None, "名\x1f号"])
def test_place_columns_read_what_the_rows_hold(tmp_path, monkeypatch, odd_name):
    import dispatch.geo.geocode_index as gi
    engine = _place_rows_db(tmp_path, odd_name)
    monkeypatch.setattr(gi, "CHUNK", 300)     # many statements, the CASE growing between them
    by_rows = []
    rows = gi.PlaceColumns._rows
    monkeypatch.setattr(gi.PlaceColumns, "_rows", lambda self, cur, a, b: by_rows.append(a) or rows(self, cur, a, b))
    columns = gi.read_places(engine)
    assert isinstance(columns, gi.PlaceColumns)
    from_columns = gi.build_state(columns, signature=None)
    from_rows = gi.build_state(gi.read_place_rows(engine), signature=None)
    assert from_columns.keys() == from_rows.keys()
    for key, value in from_rows.items():
        got = from_columns[key]
        if isinstance(value, np.ndarray):
            assert value.dtype == got.dtype and np.array_equal(value, got, equal_nan=True), key
        elif key in ("typed", "bigram"):
            for slot in type(value).__slots__:
                a, b = getattr(value, slot), getattr(got, slot)
                assert (np.array_equal(a, b) if isinstance(a, np.ndarray) else list(a) == list(b)), (key, slot)
        else:
            assert repr(got) == repr(value), key
    assert len(from_rows["kind_names"]) > 6 and len(from_rows["src_names"]) > 64
    # a name holding the separator: its range (and only it) read row by row
    assert len(by_rows) == (0 if odd_name is None else 1)


def test_a_loaded_index_brings_the_readings_of_its_names(tmp_path):
    import dispatch.geo.pinyin_keys as pk
    idx = GeoIndex.build(records(), signature=("t",), cache=tmp_path / "i.pkl")
    assert idx.names
    saved = dict(pk._READINGS)
    try:
        pk._READINGS.clear()
        assert GeoIndex.load(tmp_path / "i.pkl", ("t",)) is not None
        for ch in "福州路西藏中路马渚镇斗门村":
            assert pk._READINGS[ch] == pk._read(ch), ch
    finally:
        pk._READINGS.clear()
        pk._READINGS.update(saved)


def test_readings_read_together_equal_one_by_one():
    import dispatch.geo.pinyin_keys as pk
    chars = list("长重行乐藏厦堡单曾会都石解六番尉蚌埔浒莞荥丽济泊圳涌车家沙大柏洞地传广调台觉秘角蔚铅阿宿率校场还仇查盖区员相省"
                 "福州路西藏中路马渚镇斗门村𠀀〇·、（），０ｅ\ue170 a1!")
    saved = dict(pk._READINGS)
    try:
        pk._READINGS.clear()
        pk.read_all(chars)
        assert "福" in pk._READINGS and "长" in pk._READINGS
        together = {c: pk.readings(c) for c in chars}
        pk._READINGS.clear()
        assert together == {c: pk._read(c) for c in chars}
    finally:
        pk._READINGS.clear()
        pk._READINGS.update(saved)


def test_place_columns_read_rows_when_a_range_is_too_long_for_sqlite(tmp_path, monkeypatch):
    import sqlite3

    from sqlalchemy import event

    import dispatch.geo.geocode_index as gi
    engine = _place_rows_db(tmp_path)
    engine.dispose()
    event.listen(engine, "connect", lambda conn, _rec: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 5_000))
    monkeypatch.setattr(gi, "CHUNK", 300)     # 300 admin texts joined: longer than 5,000
    by_rows = []
    rows = gi.PlaceColumns._rows
    monkeypatch.setattr(gi.PlaceColumns, "_rows", lambda self, cur, a, b: by_rows.append(a) or rows(self, cur, a, b))
    from_columns = gi.build_state(gi.read_places(engine), signature=None)
    from_rows = gi.build_state(gi.read_place_rows(engine), signature=None)
    assert by_rows
    assert repr(from_columns["kind_names"]) == repr(from_rows["kind_names"])
    for key in ("place_ids", "kinds", "lon", "lat", "path_id", "prec", "src", "entry_name"):
        assert np.array_equal(from_columns[key], from_rows[key], equal_nan=True), key
