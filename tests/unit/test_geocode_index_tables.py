"""The index's key tables against a plain-Python reference built from the same names
with the public key functions (dicts of sets, no numpy): every key of every table
gives the same entries; the cache file round-trips; interning is exact."""
import pickle

import numpy as np
import pytest

from dispatch.geo.geocode_index import GeoIndex, PlaceRecord
from dispatch.geo.key_tables import Owners, PrefixTable, intern_values
from dispatch.geo.pinyin_keys import canonical, typed_keys
from dispatch.geo.text import core_name

from tests.unit.geocode_fixtures import GEONAMES, CENTRES, NINGBO, cut_hierarchy, demo_places


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    from dispatch.importers.admin_hierarchy import admin_places
    from dispatch.importers.places_csv import read_places_csv
    cut = cut_hierarchy(tmp_path_factory.mktemp("h") / "h.txt", provinces=("浙江省",), counties=("饶阳县",))
    places = demo_places() + read_places_csv(NINGBO) + list(admin_places(cut, GEONAMES, CENTRES))
    return [PlaceRecord(i + 1, p.name, p.kind, p.aliases, p.admin, p.lon, p.lat, p.precision, p.source,
                        p.extra) for i, p in enumerate(places)]


def reference(records):
    tables = {t: {} for t in ("exact", "core", "sound", "typed", "bigram")}
    for i, r in enumerate(records):
        for n in [r.name] + [a for a in r.aliases if a and a != r.name]:
            c = core_name(n)
            keys = {"exact": {n}, "core": {c} if c != n else set(), "sound": {canonical(c)},
                    "typed": typed_keys(n), "bigram": {n[j:j + 2] for j in range(len(n) - 1)}}
            for t, ks in keys.items():
                for k in ks:
                    tables[t].setdefault(k, set()).add(i)
    return tables


def test_tables_equal_the_reference(records):
    idx = GeoIndex.build(records, signature=("t",))
    ref = reference(records)
    assert len(records) > 25_000 and len(ref["typed"]) > 10_000
    for t, keys in ref.items():
        table = getattr(idx, t)
        assert len(table) == len(keys), t
        for k, ids in keys.items():
            got = table.get(k)
            assert sorted(got.tolist()) == sorted(ids) and len(set(got.tolist())) == len(got), (t, k)
    assert len(idx.exact.get("没有这个地名")) == 0 and len(idx.bigram.get("吖吖")) == 0
    # prefix search: the keys of the range are exactly the typed keys with that prefix
    lo, hi = idx.typed.prefix_range("ma")
    assert [idx.typed.keys[k] for k in range(lo, hi)] == sorted(k for k in ref["typed"] if k.startswith("ma"))
    assert sorted(idx.typed.key_ids(lo).tolist()) == sorted(ref["typed"][idx.typed.keys[lo]])
    # per entry arrays follow the records
    assert idx.names == [r.name for r in records]
    assert [idx.admin_of(i) for i in range(0, len(records), 997)] == \
        [tuple(records[i].admin) for i in range(0, len(records), 997)]


def test_cache_round_trip(records, tmp_path):
    idx = GeoIndex.build(records, signature=("t",))
    before = {k: idx.core.get(k).tolist() for k in list(idx.core.slot)[:500]}
    idx.save(tmp_path / "i.pkl")                 # writes the cache file; the index stays as it was
    assert {k: idx.core.get(k).tolist() for k in before} == before
    loaded = GeoIndex.load(tmp_path / "i.pkl", ("t",))
    assert loaded is not None and loaded.names == idx.names
    for t in ("exact", "core", "sound", "typed", "bigram"):
        a, b = getattr(idx, t), getattr(loaded, t)
        assert len(a) == len(b) and np.array_equal(a.ids, b.ids)
    assert GeoIndex.load(tmp_path / "i.pkl", ("other",)) is None


def test_intern_values_is_exact_and_ordered():
    values = ["b", "a", "b", "c", "a", "", "c", "b"]
    distinct, slots = intern_values(values)
    assert distinct == ["b", "a", "c", ""]
    assert [distinct[s] for s in slots] == values


def test_prefix_table_sorted_positions():
    one_each = Owners(np.arange(10), np.arange(10), 10, 10)   # name k is carried by entry k
    t = PrefixTable.from_postings(["fzl", "fuzhoulu", "a", "中"], np.array([0, 1, 2, 3, 0]),
                                  np.array([5, 5, 7, 9, 6]), one_each)
    assert list(t.keys) == ["a", "fuzhoulu", "fzl", "中"]
    assert t.get("fzl").tolist() == [5, 6] and t.count("x") == 0
    assert t.prefix_range("f") == (1, 3) and t.key_ids(3).tolist() == [9]
    assert pickle.loads(pickle.dumps(t)).get("中").tolist() == [9]


def test_typed_keys_follow_product_order():
    """The first MAX_VARIANTS combinations of the first two readings of each character,
    in itertools.product order, as full pinyin and initials."""
    import itertools

    from dispatch.geo.pinyin_keys import MAX_VARIANTS, readings

    def by_product(text):
        keys = set()
        for combo in itertools.islice(itertools.product(*[readings(c)[:2] for c in text]), MAX_VARIANTS):
            keys |= {k for k in ("".join(combo), "".join(s[0] for s in combo if s)) if k}
        return keys

    names = ["长河镇", "重庆长乐路", "厦门大学", "长长长", "六安", "福州路", "A1路", "", "乐清行长"]
    for n in names:
        assert typed_keys(n) == by_product(n), n


def test_owners_give_each_entry_once_per_key():
    # entry 0 carries names 0 and 1 (a name and its alias), entries 1 and 2 carry name 2
    owners = Owners(np.array([0, 1, 2, 2]), np.array([0, 0, 1, 2]), 3, 3)
    starts, ids = owners.csr(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 1]), 2)
    assert sorted(ids[starts[0]:starts[1]].tolist()) == [0, 1, 2]     # entry 0 once, not twice
    assert ids[starts[1]:starts[2]].tolist() == [0]
