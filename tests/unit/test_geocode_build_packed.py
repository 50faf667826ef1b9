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
