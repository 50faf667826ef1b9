"""地名补录: the caller's words kept as a new place at the point set on the map, found
at once by this seat's geocoder, confirmed by the shift lead; bad input writes nothing."""
import math

import pytest
from sqlalchemy import func, select

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.geo.geocoder import load_geocoder
from dispatch.store.schema import EventRow, PlaceRow

WORDS = "老城隍庙小吃广场东门"
POINT = (121.4893, 31.2272)


def counts(app):
    with app.session() as s:
        return (s.scalar(select(func.count()).select_from(PlaceRow)),
                s.scalar(select(func.count()).select_from(EventRow)))


def events_of(app, kind):
    with app.session() as s:
        return [r.payload for r in s.scalars(select(EventRow).where(EventRow.kind == kind))]


def test_proposed_place_is_found_first_at_once_then_confirmed(app, tmp_path):
    geo = app.geocoder
    before = geo.search(WORDS)[0]
    assert before.name != WORDS
    app.services.propose_place(WORDS, *POINT)
    c = geo.search(WORDS)[0]
    assert (c.name, c.source, c.partial) == (WORDS, "地名补录", False)
    assert (c.lon, c.lat) == POINT and c.qualifier == "东门"
    assert geo.search("老城隍庙小吃广场")[0].name == WORDS
    [proposed] = events_of(app, ev.PLACE_PROPOSED)
    assert proposed["words"] == WORDS and (proposed["lon"], proposed["lat"]) == POINT
    with app.session() as s:
        row = s.get(PlaceRow, proposed["place_id"])
        assert row.extra["status"] == "proposed" and row.extra["seat"] == app.settings.seat
    # another seat (a new process) finds it once its index is rebuilt from the table
    other = load_geocoder(app.engine, tmp_path / "other-cache")
    assert other.search(WORDS)[0].name == WORDS

    app.services.confirm_place(proposed["place_id"])
    [confirmed] = events_of(app, ev.PLACE_CONFIRMED)
    assert confirmed["place_id"] == proposed["place_id"]
    with app.session() as s:
        assert s.get(PlaceRow, proposed["place_id"]).extra["status"] == "confirmed"
    with pytest.raises(DispatchError, match="已确认"):
        app.services.confirm_place(proposed["place_id"])


def test_alias_of_an_existing_place(app):
    geo = app.geocoder
    yu = geo.search("豫园")[0]
    app.services.propose_place("豫园商场九曲桥", 121.4921, 31.2276, alias_of_place_id=yu.place_id)
    c = geo.search("豫园商场九曲桥")[0]
    assert c.name == "豫园商场九曲桥" and c.kind == yu.kind and c.admin == yu.admin
    [p] = events_of(app, ev.PLACE_PROPOSED)
    assert p["alias_of"] == yu.place_id


@pytest.mark.parametrize("words,lon,lat,alias,message", [
    ("", *POINT, None, "不能为空"), ("   ", *POINT, None, "不能为空"), ("啊啊", *POINT, None, "不能为空"),
    (WORDS, 181.0, 31.2, None, "不在中国境内"), (WORDS, 121.4, -91.0, None, "不在中国境内"),
    (WORDS, math.nan, 31.2, None, "不在中国境内"), (WORDS, -121.47, -31.23, None, "不在中国境内（经纬度是否写反？）"),
    (WORDS, 31.23, 121.47, None, "不在中国境内"), (WORDS, "东经", 31.2, None, "不是数字"),
    ("福" * 65, *POINT, None, "过长"), (WORDS, *POINT, 99_999_999, "不存在"),
])
def test_bad_proposal_is_refused_and_writes_nothing(app, words, lon, lat, alias, message):
    geo = app.geocoder
    before = counts(app)
    with pytest.raises(DispatchError, match=message):
        app.services.propose_place(words, lon, lat, alias_of_place_id=alias)
    assert counts(app) == before and len(geo) == len(geo.index)


def test_confirm_unknown_place_is_refused(app):
    before = counts(app)
    with pytest.raises(DispatchError, match="没有待确认"):
        app.services.confirm_place(1)  # a place of the demo, not a proposal
    assert counts(app) == before


def test_place_events_leave_replay_and_timeline_readable(app):
    from dispatch.replay.state import ReplayIndex
    app.services.open_call("13800000000")
    app.services.propose_place(WORDS, *POINT)
    with app.session() as s:
        index = ReplayIndex.load(s)
    assert index is not None
    assert ev.KIND_LABELS[ev.PLACE_PROPOSED] == "地名补录"


def test_shift_lead_lists_and_confirms_proposals_from_the_command_line(app, capsys):
    import json

    from dispatch.cli import main
    app.services.propose_place(WORDS, *POINT)
    data = ["--data-dir", str(app.settings.data_dir)]
    app.engine.dispose()
    assert main([*data, "gazetteer", "proposals", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["words"] == WORDS and row["status"] == "proposed"
    assert main([*data, "gazetteer", "confirm", str(row["id"])]) == 0
    assert "已确认" in capsys.readouterr().out
    assert main([*data, "gazetteer", "proposals", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*data, "gazetteer", "confirm", str(row["id"])]) == 2  # twice: refused in one line
    assert "已确认" in capsys.readouterr().err
