"""The geocoder over real data (demo roads, landmarks, Ningbo POIs, the hierarchy of
Zhejiang, Shanghai and Raoyang county), without a database."""
import pytest

from dispatch.domain.errors import DispatchError
from dispatch.importers.admin_hierarchy import admin_places
from dispatch.importers.places_csv import read_places_csv

from tests.unit.geocode_fixtures import CENTRES, GEONAMES, NINGBO, build_geocoder, cut_hierarchy, demo_places

CENTRE = (121.4737, 31.2304)


@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    cut = cut_hierarchy(tmp_path_factory.mktemp("admin") / "hierarchy.txt")
    places = demo_places() + read_places_csv(NINGBO) + list(admin_places(cut, GEONAMES, CENTRES))
    return build_geocoder(places)


def top(geo, text, near=None, n=1):
    return [(c.name, c.admin) for c in geo.search(text, near=near, limit=n)]


@pytest.mark.parametrize("text", ["", "   ", "？？", "啊啊啊"])
def test_meaningless_text_is_refused(geo, text):
    with pytest.raises(DispatchError, match="请输入地点"):
        geo.search(text)


@pytest.mark.parametrize("text", ["福州路和西藏中路交叉口", "福州路与西藏中路路口", "福州路跟西藏中路十字路口",
                                  "福州路、西藏中路", "福州路/西藏中路", "福州路 西藏中路", "西藏中路福州路口",
                                  "福州路西藏中路", "福洲路西藏中路口", "西藏中路和福州路交界",
                                  "在福州路和西藏中路路口这边"])
def test_intersection_forms(geo, text):
    assert top(geo, text)[0][0] == "福州路与西藏中路交叉口"


def test_intersection_candidate_carries_roads_and_point(geo):
    c = geo.search("南京西路和成都北路")[0]
    assert c.kind == "intersection" and c.context == "南京西路 / 成都北路"
    assert 121.461 <= c.lon <= 121.486 and 31.220 <= c.lat <= 31.241


def test_road_with_house_number_keeps_number(geo):
    c = geo.search("福州路一百号")[0]
    assert (c.name, c.kind, c.qualifier) == ("福州路", "road", "100号")


def test_landmark_with_qualifier(geo):
    c = geo.search("豫园门口")[0]
    assert (c.name, c.kind, c.qualifier) == ("豫园", "landmark", "门口")


@pytest.mark.parametrize("text,name", [("xzzl", "西藏中路"), ("yy", "豫园"), ("fuzhoulu", "福州路"),
                                       ("xtd", "新天地"), ("rmgc", "人民广场站")])
def test_initials_type_ahead(geo, text, name):
    assert name in [n for n, _a in top(geo, text, near=CENTRE, n=3)]


@pytest.mark.parametrize("text", ["马渚斗门村", "马渚镇斗门村", "余姚马渚斗门村", "宁波余姚马渚斗门村",
                                  "余姚市马渚镇斗门村", "马朱斗门村", "斗门村（马渚）"])
def test_admin_prefix_any_depth(geo, text):
    name, admin = top(geo, text)[0]
    assert name == "斗门村" and admin[-2:] == ["余姚市", "马渚镇"]


def test_township_kinds_interchangeable(geo):
    name, admin = top(geo, "留楚镇大邵村")[0]
    assert name == "大邵村" and admin[-1] == "留楚乡"


def test_admin_without_suffix(geo):
    assert top(geo, "余姚")[0] == ("余姚市", ["浙江省", "宁波市"])
    assert top(geo, "马渚")[0][0] == "马渚镇"


def test_ambiguous_name_returns_alternatives_with_admin(geo):
    cands = geo.search("和平村", limit=10)
    assert len(cands) >= 5 and all(c.name == "和平村" for c in cands[:5])
    assert len({tuple(c.admin) for c in cands}) == len(cands)
    assert all(c.admin and c.context for c in cands)


def test_near_hint_ranks_the_closest(geo):
    far = geo.search("和平村", limit=20)
    target = far[-1]
    c = geo.search("和平村", near=(target.lon, target.lat), limit=3)[0]
    assert (c.lon, c.lat) == (target.lon, target.lat) and c.distance_m < 1


def test_ningbo_poi_with_county(geo):
    name, admin = top(geo, "海曙宁波效实中学附近")[0]
    assert name == "宁波效实中学" and "海曙区" in admin


def test_candidate_json(geo):
    d = geo.search("福州路", near=CENTRE)[0].as_json()
    assert set(d) == {"name", "kind", "lon", "lat", "admin", "score", "precision", "source",
                      "context", "qualifier", "distance_m", "partial", "differs", "cut"}
    assert d["partial"] is False and d["differs"] == "" and d["cut"] == 0
    assert d["admin"] == ["上海市", "黄浦区"] and 0 < d["score"] <= 1


def test_partial_match_is_marked_and_says_what_differs(geo):
    """南京东路 (a pedestrian street) is not in the demo: 南京西路 must not look sure."""
    cands = geo.search("南京东路外滩", limit=5)
    assert cands and all(c.partial for c in cands)
    west = next(c for c in cands if c.name == "南京西路")
    assert "东→西" in west.differs and "外滩" in west.differs
    assert west.as_json()["partial"] is True and west.score < 0.85


def test_full_matches_rank_before_partial_ones(geo):
    cands = geo.search("福州路西藏中路", limit=5)
    assert not cands[0].partial and cands[0].name == "福州路与西藏中路交叉口"
    flags = [c.partial for c in cands]
    assert flags == sorted(flags) and any(flags)


@pytest.mark.parametrize("text,name", [("福洲路西藏中路口", "福州路与西藏中路交叉口"),  # same sound
                                       ("黄浦区福州路", "福州路"),                       # own admin said
                                       ("老城隍庙", "城隍庙"),                           # alias
                                       ("效实中学", "宁波效实中学")])                    # name said short
def test_full_match_is_not_partial(geo, text, name):
    c = geo.search(text)[0]
    assert (c.name, c.partial, c.differs) == (name, False, "")


def test_other_admin_said_makes_it_partial(geo):
    c = next(c for c in geo.search("余姚福州路", limit=10) if c.name == "福州路")
    assert c.partial and "余姚" in c.differs


@pytest.mark.parametrize("limit", [0, -5, 101, 2.5, True])
def test_limit_out_of_range_is_refused(geo, limit):
    with pytest.raises(DispatchError, match="候选数量"):
        geo.search("福州路", limit=limit)


def test_every_kind_the_gazetteer_holds_has_a_chinese_label():
    """The candidate list shows Candidate.kind_label: no English kind ever reaches the screen."""
    from dispatch.geo.gazetteer import KIND_LABELS, Candidate
    kinds = set(KIND_LABELS) | {"segment", "square", "intersection", "road"}
    for k in kinds:
        label = Candidate(None, "x", k, 0.0, 0.0, [], 1.0, "point", "").kind_label
        assert label != k and all("\u4e00" <= ch <= "\u9fff" or ch == "/" for ch in label), (k, label)


def _admin_paths_by_definition(geo, piece):
    """What Geocoder._admin_paths answers, looked up without its shortcuts."""
    import numpy as np

    from dispatch.geo.geocode_junctions import MAX_IDS_PER_KEY
    from dispatch.geo.pinyin_keys import canonical
    from dispatch.geo.text import core_name
    idx = geo.index
    c = core_name(piece)
    lists = [g for g in (idx.exact.get(piece), idx.core.get(piece), idx.core.get(c),
                         idx.sound.get(canonical(c))) if len(g)]
    if not lists:
        return None
    ids = np.concatenate(lists)
    ids = ids[np.isin(idx.kinds[ids], geo._admin_codes)][:MAX_IDS_PER_KEY]
    under = [u for u in (geo._under.get(idx.full_path(int(i))) for i in ids) if u is not None]
    return np.unique(np.concatenate(under)) if under else None


def test_admin_paths_equal_their_definition(geo):
    texts = ["浙江省宁波市余姚市马渚镇斗门村", "宁波江北区慈城镇", "上海黄浦区外滩", "饶阳县城关镇",
             "余姚马渚", "鄞州区中国人民解放军联勤保障部队第906医院", "浙江宁波", "上海市上海"]
    pieces = {t[i:j] for t in texts for i in range(len(t)) for j in range(i + 1, min(len(t), i + 16) + 1)}
    from dispatch.geo.pinyin_keys import canonical
    from dispatch.geo.text import core_name
    idx = geo.index
    admin = [idx.names[i] for i in range(len(idx)) if idx.kinds[i] in geo._admin_codes][::7]
    same_sound = {}   # a character for each reading: 镇海 -> 震海 (found by sound only)
    for name in idx.names[::5]:
        for ch in name:
            same_sound.setdefault(canonical(ch), ch)
    for name in admin:
        core = core_name(name)
        pieces |= {name, core, core + "区", core + "乡"}
        if len(core) > 1 and (other := same_sound.get(canonical(core[0]), core[0])) != core[0]:
            pieces.add(other + core[1:])
    hits = 0
    for piece in sorted(pieces):
        want = _admin_paths_by_definition(geo, piece)
        got = geo._admin_paths(piece)
        assert (got is None) == (want is None), piece
        if want is not None:
            hits += 1
            assert got.tolist() == want.tolist(), piece
    assert hits > 200
