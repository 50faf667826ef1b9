"""Points outside China are refused where they enter (a located incident, a manual unit
fix, a 地名补录, the caller's carrier location: the call is kept, its location is not),
all through the one box in dispatch.geo.coords; and every free text that reaches an event
or a table goes through clean_text (invisible characters out, length refused)."""
from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import func, select

from dispatch.domain.errors import DispatchError
from dispatch.feeds import avl_receiver, cti
from dispatch.geo.coords import CHINA_BOX, in_china
from dispatch.importers import city_extract, grids_geojson
from dispatch.services import queries
from dispatch.services.call_links import link
from dispatch.services.caller_history import mark_number
from dispatch.services.locations import Location
from dispatch.services.phone_calls import answer
from dispatch.store import eventlog
from dispatch.store.schema import EventRow, PlaceRow, PositionRow, UnitRow
from tests.integration.pg_schema import fresh_schema

SHANGHAI = (121.4853, 31.2394)
ABROAD = [(-121.47, -31.23), (0.0, 0.0), (180.0, 90.0), (31.23, 121.47), (math.nan, 31.2), (121.4, math.inf)]
HOSTILE = "已\x07处\x1b理\x01完\u202e毕\u200b"


def _events(app) -> int:
    with app.session() as s:
        return s.scalar(select(func.count()).select_from(EventRow))


def test_one_china_box_for_every_check():
    assert in_china(*SHANGHAI) and in_china(87.6, 43.8) and in_china(112.3, 3.9)  # 乌鲁木齐, 曾母暗沙
    assert not any(in_china(lon, lat) for lon, lat in ABROAD)
    assert not in_china("东经", 31.2) and not in_china(None, None)  # type: ignore[arg-type]
    assert CHINA_BOX[0] < SHANGHAI[0] < CHINA_BOX[2]
    for module, name in ((avl_receiver, "CHINA_BBOX"), (grids_geojson, "CHINA"), (city_extract, "CHINA_BOX")):
        assert not hasattr(module, name), f"{module.__name__}.{name}: a copy of the box"


@pytest.mark.parametrize("lon,lat", [(-121.47, -31.23), (0, 0), (180, 90), (31.23, 121.47)])
def test_locating_abroad_is_refused_and_changes_nothing(app, lon, lat):
    from dispatch.commands.act import Actions

    iid = app.services.open_call("13800000071").incident_id
    before = _events(app)
    out = Actions(app).run(json.dumps({"op": "locate", "incident_id": iid, "lon": lon, "lat": lat}))
    assert out["ok"] is False and "不在中国境内（经纬度是否写反？）" in out["error"], out
    with pytest.raises(DispatchError, match="不在中国境内"):
        app.services.locate(iid, Location.manual(lon, lat))
    assert _events(app) == before
    with app.session() as s:
        assert queries.incident(s, iid).lon is None
    assert Actions(app).run(json.dumps({"op": "locate", "incident_id": iid, "lon": SHANGHAI[0],
                                        "lat": SHANGHAI[1]}))["ok"]


def test_a_manual_unit_fix_abroad_is_refused(app):
    with app.session() as s:
        uid, lon0 = s.execute(select(UnitRow.id, UnitRow.lon).limit(1)).one()
        fixes = s.scalar(select(func.count()).select_from(PositionRow))
    for lon, lat in ABROAD:
        with pytest.raises(DispatchError, match="不在中国境内"):
            app.services.report_position(uid, lon, lat)
    with app.session() as s:
        assert s.scalar(select(func.count()).select_from(PositionRow)) == fixes
        assert s.get(UnitRow, uid).lon == lon0


def test_a_call_located_abroad_is_answered_without_its_location(app):
    ctx = app.services.ctx
    line = json.dumps({"event": "answered", "seat": ctx.actor.seat, "number": "13800000072",
                       "lon": -121.47, "lat": -31.23, "accuracy_m": 300})
    call = cti.parse_line(line)  # the call is kept, its location is not usable
    assert call.number == "13800000072" and not call.located and "不在中国境内" in call.location_problem
    iid = answer(ctx, call.number, call.lon, call.lat, call.accuracy_m)
    with app.session() as s:
        assert queries.incident(s, iid).caller_number == "13800000072"
        assert queries.incident(s, iid).lon is None
        log = list(eventlog.read(s, incident_id=iid))
    assert "call.carrier_located" not in [e.kind for e in log]
    notes = [e.payload["note"] for e in log if e.kind == "incident.noted"]
    assert notes and "-121.47,-31.23 不在中国境内（经纬度是否写反？），未采用" in notes[0]
    # malformed locations drop the location, never the call
    for extra in ({"lon": 999, "lat": 31}, {"lon": 121.4}, {"lon": "东经", "lat": 31}):
        c = cti.parse_line(json.dumps({"event": "answered", "seat": "s", "number": "110"} | extra))
        assert c.number == "110" and not c.located and c.location_problem


def test_close_and_callback_notes_are_cleaned_and_bounded(app):
    iid = app.services.open_call("13800000073").incident_id
    with pytest.raises(DispatchError, match="结警说明过长"):
        app.services.close(iid, "advised", "\x07\x1b\x01" + "长" * 17_831)
    app.services.close(iid, "advised", HOSTILE)
    with pytest.raises(DispatchError, match="回访情况过长"):
        app.services.callback(iid, True, "\u202e\x00" + "访" * 9_000)
    app.services.callback(iid, True, "满意\u202e\x00")
    with app.session() as s:
        log = {e.kind: e.payload for e in eventlog.read(s, incident_id=iid)}
    assert log["incident.closed"]["note"] == "已处理完毕"
    assert log["callback.done"]["note"] == "满意"


def test_other_free_texts_are_cleaned(app):
    sv, ctx = app.services, app.services.ctx
    a = sv.open_call("13800000074").incident_id
    b = sv.open_call("13800000075").incident_id
    link(ctx, b, a, "同一\u202e事件\x00")
    mark_number(ctx, "13800000075", "repeat", "多次\x07来电")
    sv.notify_agency(a, "119", "phone", "编\u200b号1", "已\x1b通知")
    sv.move_incident(a, "席位\u202e2", "换\x00人")
    c = sv.open_call("13800000076").incident_id
    sv.transfer(c, "区\u202e指挥中心\n", "管\x01辖")
    with app.session() as s:
        payloads = [e.payload for e in eventlog.read(s) if e.incident_id in (a, b, c) or e.incident_id is None]
    text = json.dumps(payloads, ensure_ascii=False)
    for bad in ("\u202e", "\u200b", "\\u0000", "\\u0007", "\\u001b", "\\u0001"):
        assert bad not in text, bad
    assert "席位2" in text and "区指挥中心" in text and "多次来电" in text
    with pytest.raises(DispatchError, match="转往单位过长"):
        sv.transfer(sv.open_call("13800000077").incident_id, "单" * 65, "原因")


def test_unit_status_note_is_cleaned(app):
    from dispatch.domain.decide import UnitFacts, decide_unit_status
    from dispatch.domain.units import UnitStatus

    facts = UnitFacts(1, "沪巡01", UnitStatus.DISPATCHED, 7)
    [draft] = decide_unit_status(facts, "acknowledged", "收\u202e到\x00")
    assert draft.payload["note"] == "收到"
    with pytest.raises(DispatchError, match="状态说明过长"):
        decide_unit_status(facts, "acknowledged", "长" * 201)


def test_place_proposal_words_lose_invisible_characters(app):
    app.services.propose_place("\u202e老\u200b槐树\x07下", *SHANGHAI)
    with app.session() as s:
        names = s.scalars(select(PlaceRow.name).where(PlaceRow.source == "地名补录")).all()
    assert "老槐树下" in names and not any("\u202e" in n for n in names)


def test_close_note_with_nul_on_postgres(tmp_path, pg_url, clock):
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings

    with fresh_schema(pg_url) as url:
        pg = bootstrap(Settings(db_url=url, data_dir=tmp_path), clock=clock)
        try:
            iid = pg.services.open_call("13800000078").incident_id
            pg.services.close(iid, "advised", "处理\x00完毕\u202e")
            pg.services.callback(iid, False, "不\x00满意")
            with pg.session() as s:
                log = {e.kind: e.payload for e in eventlog.read(s, incident_id=iid)}
            assert log["incident.closed"]["note"] == "处理完毕" and log["callback.done"]["note"] == "不满意"
        finally:
            pg.engine.dispose()
