"""Writes tests/data/geocode_queries.jsonl from the real data shipped in the repository:
the demo OSM roads and intersections, the demo landmarks, the Ningbo POIs and the
national hierarchy (resources/national/).

Every query names a place that exists in those files; the spoken forms, qualifiers
and homophone substitutions are applied to real names. Homophones replace one
character by the most frequent other character with the same reading among all
names of the hierarchy. Run:
    python tests/data/make_geocode_queries.py > tests/data/geocode_queries.jsonl
"""
from __future__ import annotations

import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from dispatch.geo.pinyin_keys import canonical, typed_keys
from dispatch.geo.text import core_name
from dispatch.importers.admin_hierarchy import admin_places
from dispatch.importers.data_files import NINGBO_POIS
from dispatch.importers.gazetteer_osm import intersection_places, road_places
from dispatch.geo.osm import read_osm
from dispatch.importers.places_csv import read_places_csv

ROOT = Path(__file__).resolve().parents[2]
rng = random.Random(110)
OUT: list[dict] = []


def q(text, name, admin=None, near=None, tag=""):
    d = {"text": text, "expect": {"name": name}}
    if admin:
        d["expect"]["admin_contains"] = admin
    if near:
        d["near"] = [round(near[0], 5), round(near[1], 5)]
    d["form"] = tag
    OUT.append(d)


def main() -> None:
    places = list(admin_places())
    chars_by_sound: dict[str, Counter] = defaultdict(Counter)
    for p in places:
        for ch in p.name:
            chars_by_sound[canonical(ch)][ch] += 1

    def homophone(name: str, avoid_last: int = 1) -> str | None:
        core = core_name(name)
        idxs = list(range(len(core)))
        rng.shuffle(idxs)
        for i in idxs:
            ch = core[i]
            for other, _n in chars_by_sound[canonical(ch)].most_common(4):
                if other != ch:
                    return name[:i] + other + name[i + 1:]
        return None

    osm = read_osm(ROOT / "resources/demo/shanghai-huangpu.osm")
    roads = road_places(osm, ["上海市", "黄浦区"], "OSM")
    xs = intersection_places(osm, ["上海市", "黄浦区"], "OSM")
    centre = (121.4737, 31.2304)
    # intersections in spoken forms
    forms = ["{a}和{b}交叉口", "{a}与{b}路口", "{a}跟{b}十字路口", "{a}、{b}", "{a}/{b}", "{a} {b}",
             "{a}{b}口", "{a}{b}", "在{a}和{b}路口这边", "{b}与{a}交界", "{a}同{b}交叉路口", "{a}和{b}的路口"]
    sample = rng.sample(xs, min(72, len(xs)))
    for k, x in enumerate(sample):
        a, b = x.extra["roads"]
        if k % 2:
            a, b = b, a
        q(forms[k % len(forms)].format(a=a, b=b), x.name, ["黄浦区"], tag="intersection")
    for x in rng.sample(xs, 30):
        a, b = x.extra["roads"]
        ha = homophone(a)
        if ha:
            q(f"{ha}{b}口" if rng.random() < 0.5 else f"{b}和{ha}路口", x.name, ["黄浦区"], tag="intersection-typo")
    # roads: plain, house number, qualifier, homophone, initials
    for r in rng.sample(roads, 40):
        n = rng.randint(1, 999)
        form = rng.choice(["{r}{n}号", "{r}{cn}号", "{r}", "{r}附近", "{r}{n}号对面", "我在{r}往东100米"])
        q(form.format(r=r.name, n=n, cn=_cn(n)), r.name, ["黄浦区"], tag="road")
    for r in rng.sample(roads, 25):
        h = homophone(r.name)
        if h:
            q(h + rng.choice(["", "门口", f"{rng.randint(1, 300)}号"]), r.name, ["黄浦区"], tag="road-typo")
    for r in rng.sample(roads, 15):
        ini = min(typed_keys(r.name), key=len)
        q(ini, r.name, ["黄浦区"], near=centre, tag="initials")
    # landmarks
    for lm in read_places_csv(ROOT / "resources/demo/landmarks.csv"):
        q(lm.name, lm.name, tag="landmark")
        q(lm.name + rng.choice(["附近", "门口", "对面", "往南50米"]), lm.name, tag="landmark")
        q(min(typed_keys(lm.name), key=len), lm.name, near=centre, tag="initials")
        h = homophone(lm.name)
        if h:
            q(h, lm.name, near=centre, tag="landmark-typo")
    # Ningbo POIs
    pois = read_places_csv(NINGBO_POIS)
    names = Counter(p.name for p in pois)
    uniq = [p for p in pois if names[p.name] == 1]
    for p in rng.sample(uniq, 30):
        county = p.admin[-1]
        form = rng.choice(["{c}{n}", "{n}", "{n}门口", "{cc}{n}附近", "{n}对面"])
        q(form.format(c=county, cc=core_name(county), n=p.name), p.name, [county], tag="poi")
    for p in rng.sample(uniq, 12):
        h = homophone(p.name)
        if h:
            q(h, p.name, [p.admin[-1]], tag="poi-typo")
    # national hierarchy: village with town / county context
    villages = [p for p in places if p.kind == "village"]
    combo = Counter((core_name(p.admin[-1]), p.name) for p in villages if p.admin)
    towns = Counter(p.name for p in places if p.kind == "town")
    for p in rng.sample(villages, 400):
        if len(OUT) > 10_000:
            break
        town = p.admin[-1]
        if combo[(core_name(town), p.name)] != 1 or len(p.name) < 2:
            continue
        county = p.admin[-2] if len(p.admin) >= 3 else ""
        r = rng.random()
        if r < 0.3:
            text = core_name(town) + p.name
        elif r < 0.5:
            text = town + p.name
        elif r < 0.65 and town.endswith(("乡", "镇")):
            text = town[:-1] + ("镇" if town.endswith("乡") else "乡") + p.name
        elif r < 0.8 and county:
            text = core_name(county) + core_name(town) + p.name
        else:
            text = town + p.name + rng.choice(["附近", "村口", "那边"])
        q(text, p.name, [town], tag="village")
        if len([o for o in OUT if o["form"] == "village"]) >= 90:
            break
    for p in rng.sample(villages, 300):
        town = p.admin[-1]
        if combo[(core_name(town), p.name)] != 1:
            continue
        h = homophone(p.name)
        if h:
            q(core_name(town) + h, p.name, [town], tag="village-typo")
        if len([o for o in OUT if o["form"] == "village-typo"]) >= 30:
            break
    # towns alone, with/without suffix, 乡/镇 swapped
    uniq_towns = [p for p in places if p.kind == "town" and towns[p.name] == 1
                  and sum(1 for _ in ()) == 0]
    core_count = Counter(core_name(p.name) for p in places if p.kind in ("town", "county", "prefecture"))
    uniq_towns = [p for p in uniq_towns if core_count[core_name(p.name)] == 1]
    for p in rng.sample(uniq_towns, 25):
        q(rng.choice([p.name, core_name(p.name), core_name(p.admin[-1]) + p.name]), p.name,
          [p.admin[-1]], tag="town")
    # ambiguous names with the caller's location as a hint
    by_name = defaultdict(list)
    for p in villages:
        by_name[p.name].append(p)
    common = [n for n, ps in by_name.items() if 10 <= len(ps) and len(n) == 3]
    for n in rng.sample(common, 25):
        pts = Counter((p.lon, p.lat) for p in by_name[n])
        cands = [p for p in by_name[n] if p.lon is not None and pts[(p.lon, p.lat)] == 1]
        if not cands:
            continue
        p = rng.choice(cands)
        q(n, p.name, [p.admin[-1]], near=(p.lon + 0.01, p.lat - 0.01), tag="ambiguous-near")
    # the examples of the issue and of domain.md that exist in the data
    for text, name, admin, near in [
            ("马渚斗门村", "斗门村", ["马渚镇"], None), ("留楚镇大邵村", "大邵村", ["留楚乡"], None),
            ("福洲路西藏中路口", "福州路与西藏中路交叉口", ["黄浦区"], None),
            ("在南京西路和成都北路路口这边", "南京西路与成都北路交叉口", ["黄浦区"], None),
            ("宁波余姚马渚斗门村", "斗门村", ["余姚市"], None), ("余姚", "余姚市", ["宁波市"], None),
            ("余姚市", "余姚市", ["宁波市"], None), ("马渚", "马渚镇", ["余姚市"], None),
            ("马渚镇", "马渚镇", ["余姚市"], None), ("庄市", "庄市街道", ["镇海区"], None),
            ("问鹤社区", "问鹤社区", ["青田县"], None), ("慈溪长河镇", "长河镇", ["慈溪市"], None),
            ("长河", "长河镇", ["慈溪市"], (121.25, 30.2)), ("xzzl", "西藏中路", ["黄浦区"], centre),
            ("福州路100号", "福州路", ["黄浦区"], None), ("豫园附近", "豫园", [], None),
            ("新天地往东100米", "新天地", [], None), ("斗门村（马渚）", "斗门村", ["马渚镇"], None),
            ("余姚 马渚 斗门村", "斗门村", ["马渚镇"], None), ("留楚乡大邵", "大邵村", ["留楚乡"], None),
            ("斗门村马渚", "斗门村", ["马渚镇"], None), ("余姚马渚镇斗门材", "斗门村", ["马渚镇"], None),
            ("效实中学", "宁波效实中学", ["海曙区"], None), ("鹤城问鹤社区", "问鹤社区", ["鹤城街道"], None)]:
        q(text, name, admin, near=near, tag="issue")
    for o in OUT:
        sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")


def _cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    return "".join(digits[int(c)] for c in str(n))


if __name__ == "__main__":
    main()
