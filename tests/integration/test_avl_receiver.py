"""The position receiver over real TCP/UDP sockets on a real SQLite demo database:
JT/T 808 registration, authentication, location reports (2013 and 2019 headers) and
their 0x8001 answers, the authentication gate, faults counted, JSON lines over UDP."""
from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta

from sqlalchemy import func, select

from dispatch.geo.coords import wgs84_to_gcj02
from dispatch.store.schema import PositionRow, UnitRow
from tests.integration.avl_support import (PHONE_2019, TERMINAL, Wire, auth_2013, frame, hexb,
                                           location_hex, running_receiver, unit_id)

LAT, LON = 31230416, 121473701  # 31.230416 N, 121.473701 E (People's Square), 10^-6 degrees


def _run(coro):  # noqa: ANN001
    return asyncio.run(coro)


async def _settle(receiver, stored: int) -> None:  # noqa: ANN001
    for _ in range(200):
        if receiver.writer.stored >= stored:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"stored {receiver.writer.stored}, expected {stored}")


def _positions(app) -> int:  # noqa: ANN001
    with app.store.reader() as s:
        return s.scalar(select(func.count()).select_from(PositionRow))


def _unit(app, uid: int):  # noqa: ANN001, ANN202
    with app.store.reader() as s:
        return s.execute(select(UnitRow.lon, UnitRow.lat, UnitRow.position_at, UnitRow.position_source,
                                UnitRow.version).where(UnitRow.id == uid)).one()


def test_2013_terminal_registers_authenticates_and_moves(app):
    uid = unit_id(app)
    before = _unit(app, uid)

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            # 0x0100: province 001f, city 0065, maker[5], model[20], terminal id[7], colour 01, plate 沪A12345 (GBK)
            reg = ("0100 002d 310101000001 0001 001f 0065 4142434445 4d4f44454c" + "00" * 15
                   + " 54303030303031 01 bba6413132333435")
            assert await w.ask(frame(reg)) == frame("8100 000f 310101000001 0001 0001 00 333130313031303030303031")
            assert await w.ask(auth_2013(serial=2)) == frame("8001 0005 310101000001 0002 0002 0102 00")
            # 12:00:05 Beijing time = 04:00:05 UTC, five seconds after the unit's post position
            loc = frame(location_hex(3, LAT, LON, "261123120005"))
            assert await w.ask(loc) == frame("8001 0005 310101000001 0003 0003 0200 00")
            assert await w.ask(frame("0002 0000 310101000001 0004")) == frame(
                "8001 0005 310101000001 0004 0004 0002 00")
            await _settle(receiver, 1)
            await w.close()

    _run(go())
    after = _unit(app, uid)
    assert (after.lon, after.lat) == (121.473701, 31.230416)
    assert after.position_at.replace(tzinfo=None) == (app.clock.now() + timedelta(seconds=5)).replace(tzinfo=None)
    assert after.position_source == "avl"
    assert after.version == before.version  # a fix is not a seat's change


def test_2019_header_is_answered_in_2019_form(app):
    uid = unit_id(app)

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            code, imei, version = TERMINAL.encode().hex(), b"860000000000001".hex(), (b"V1.0" + b"\0" * 16).hex()
            auth = frame(f"0102 4030 01 {PHONE_2019} 0001 0c {code} {imei} {version}")
            assert await w.ask(auth) == frame(f"8001 4005 01 {PHONE_2019} 0001 0001 0102 00")
            loc = frame(location_hex(2, LAT + 100, LON + 100, "261123120007", phone=PHONE_2019))
            assert await w.ask(loc) == frame(f"8001 4005 01 {PHONE_2019} 0002 0002 0200 00")
            await _settle(receiver, 1)
            await w.close()

    _run(go())
    u = _unit(app, uid)
    assert (u.lon, u.lat) == (121.473801, 31.230516)


def test_reports_before_authentication_are_refused_and_never_stored(app):
    stored_before = _positions(app)
    other = "310101000002"

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            loc = frame(location_hex(1, LAT, LON, "261123120005"))
            assert await w.ask(loc) == frame("8001 0005 310101000001 0001 0001 0200 01")
            assert await w.ask(auth_2013(code="123456", serial=2)) == frame(
                "8001 0005 310101000001 0002 0002 0102 01")  # wrong code
            assert (await w.ask(frame(location_hex(3, LAT, LON, "261123120006"))))[-7:-2] == hexb("0003 0200 01")
            # right code for one terminal does not let the connection speak for another
            assert (await w.ask(auth_2013(serial=4)))[-3] == 0
            forged = frame(location_hex(5, LAT, LON, "261123120007", phone=other))
            assert await w.ask(forged) == frame(f"8001 0005 {other} 0005 0005 0200 01")
            # nor does an authentication on another connection
            w2 = await Wire.open(addrs["jt808"])
            assert (await w2.ask(frame(location_hex(6, LAT, LON, "261123120008"))))[-3] == 1
            await w.close()
            await w2.close()
            await asyncio.sleep(0.05)
            return dict(receiver.stats)

    stats = _run(go())
    assert stats["unauthenticated"] == 4 and stats["auth_failed"] == 1
    assert stats.get("fixes", 0) == 0
    assert _positions(app) == stored_before


def test_unknown_terminal_cannot_register_or_authenticate(app):
    async def go():
        async with running_receiver(app) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            reg = frame("0100 0025 999999999999 0001 001f 0065 4142434445 " + "00" * 20 + " 00" * 7 + " 00")
            assert await w.ask(reg) == frame("8100 0003 999999999999 0001 0001 04")
            assert (await w.ask(auth_2013(code="999999999999", serial=2, phone="999999999999")))[-3] == 1
            await w.close()
            return dict(receiver.stats)

    assert _run(go())["unknown_terminal"] == 2


def test_faults_are_counted_and_the_connection_kept(app):
    uid = unit_id(app)
    stored_before = _positions(app)

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            assert (await w.ask(auth_2013()))[-3] == 0
            good = frame(location_hex(2, LAT, LON, "261123120020"))
            bad_check = good.replace(hexb("016d 005a"), hexb("016e 005a"))  # speed changed, check not
            assert await w.ask(bad_check) == frame("8001 0005 310101000001 0002 0002 0200 02")
            await w.send(hexb("7e 0200 7d 05 0000 7e"))  # broken escape: nothing to answer
            await w.send(hexb("7e 0200 00 7e"))  # truncated header
            results = []
            for serial, lat, lon, when in (
                    (3, 0, 0, "261123120021"),                  # Gulf of Guinea: outside China
                    (4, LAT, LON, "261123123000"),              # 30 min ahead of the clock
                    (5, LAT, LON, "261121120000"),              # two days old
                    (6, LAT, LON, "261123120020"),              # as accepted, then again
                    (7, LAT, LON, "261123120020"),              # duplicate
                    (8, LAT + 50, LON + 50, "261123120010")):   # older than the last: out of order
                results.append((await w.ask(frame(location_hex(serial, lat, lon, when))))[-3])
            assert results == [0] * 6  # well-formed reports are acknowledged even when not used
            unsupported = frame("0900 0001 310101000001 0009 01")
            assert await w.ask(unsupported) == frame("8001 0005 310101000001 0009 0009 0900 03")
            assert (await w.ask(frame("0002 0000 310101000001 000a")))[-3] == 0  # still answering
            await _settle(receiver, 2)
            await w.close()
            return dict(receiver.stats)

    stats = _run(go())
    for kind in ("bad_checksum", "bad_escape", "truncated", "outside_china", "future_time", "past_time",
                 "duplicate", "out_of_order", "unsupported"):
        assert stats[kind] == 1, kind
    assert stats["fixes"] == 2
    assert _positions(app) == stored_before + 2  # the out-of-order fix is kept for the track
    u = _unit(app, uid)
    assert (u.lon, u.lat) == (121.473701, 31.230416)  # ...but does not pull the unit back


def test_json_lines_over_udp_with_gcj02_converted(app):
    uid, uid2 = unit_id(app), unit_id(app, "310101000002")
    now = app.clock.now()
    # 外滩 (the Bund) in WGS-84, as a Chinese phone app would send it in GCJ-02
    glon, glat = wgs84_to_gcj02(121.490317, 31.241701)
    code = TERMINAL  # (the demo's codes are the terminal numbers)
    lines = [
        {"terminal": TERMINAL, "code": code, "lon": 121.4805, "lat": 31.2351,
         "at": (now + timedelta(seconds=3)).isoformat(), "speed_kmh": 20.5, "heading": 180, "crs": "wgs84"},
        {"terminal": "310101000002", "code": "310101000002", "lon": glon, "lat": glat,
         "at": "2026-11-23T12:00:04+08:00", "speed_kmh": 0, "heading": 0, "crs": "gcj02"},
        {"terminal": "000000000000", "code": "000000000000", "lon": 121.48, "lat": 31.23,
         "at": now.isoformat()},  # unknown
        {"terminal": TERMINAL, "code": code, "lon": 121.48, "lat": 31.23, "at": "2026-11-23T04:00:09"},  # no offset
        {"terminal": TERMINAL, "code": code, "lon": "121.48", "lat": 31.23, "at": now.isoformat()},  # lon a string
        {"terminal": TERMINAL, "code": code, "lon": 121.48, "lat": 31.23, "at": now.isoformat(), "crs": "bd09"},
        # anyone on the network who knows a terminal number: no code, a wrong one, not a string
        {"terminal": TERMINAL, "lon": 121.40, "lat": 31.20, "at": now.isoformat()},
        {"terminal": TERMINAL, "code": "310101000002", "lon": 121.40, "lat": 31.20, "at": now.isoformat()},
        {"terminal": TERMINAL, "code": 310101000001, "lon": 121.40, "lat": 31.20, "at": now.isoformat()},
    ]
    payload = "\n".join(json.dumps(d) for d in lines).encode() + b"\nnot json\n\xff\xfe\n"

    async def go():
        async with running_receiver(app, udp=True) as (receiver, addrs):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(payload, addrs["udp"])
            await _settle(receiver, 2)
            return dict(receiver.stats)

    stats = _run(go())
    assert stats["fixes"] == 2
    assert (stats["unknown_terminal"], stats["bad_time"], stats["bad_crs"], stats["bad_json"]) == (1, 1, 1, 3)
    assert stats["auth_failed"] == 3
    u = _unit(app, uid)
    assert (u.lon, u.lat, u.position_source) == (121.4805, 31.2351, "avl")
    u2 = _unit(app, uid2)
    assert abs(u2.lon - 121.490317) < 1e-6 and abs(u2.lat - 31.241701) < 1e-6


def test_a_terminal_added_while_running_is_served_after_the_roster_is_reread(app):
    from sqlalchemy import update

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            with app.engine.begin() as c:  # 黄巡02 gets a new terminal while the receiver runs
                c.execute(update(UnitRow).where(UnitRow.terminal == "310101000002")
                          .values(terminal="310101009999", auth_code="310101009999"))
            w = await Wire.open(addrs["jt808"])
            auth = auth_2013(code="310101009999", phone="310101009999")
            assert (await w.ask(auth))[-3] == 1  # not yet: the roster is re-read at most every 30 s
            app.clock.advance(31)
            assert (await w.ask(auth_2013(code="310101009999", serial=2, phone="310101009999")))[-3] == 0
            await w.close()

    _run(go())


def test_terminal_client_2019_registers_authenticates_and_reports(app):
    from dispatch.feeds.terminal_client import TerminalClient

    uid = unit_id(app, "310101000003")

    async def go():
        async with running_receiver(app) as (receiver, addrs):
            c = TerminalClient("310101000003", version2019=True)
            await c.connect(*addrs["jt808"])
            result, code = await c.register()
            assert (result, code) == (0, "310101000003")
            assert await c.authenticate(code) == 0
            assert await c.heartbeat() == 0
            c.send_location(121.4702, 31.2299, app.clock.now() + timedelta(seconds=30), 42.0, 270)
            await _settle(receiver, 1)
            await asyncio.sleep(0.05)
            await c.close()
            return c.results

    assert _run(go()) == {0: 1}  # the report's 0x8001, counted by the client
    u = _unit(app, uid)
    assert (u.lon, u.lat, u.position_source) == (121.4702, 31.2299, "avl")


def test_a_silent_connection_is_closed_after_the_idle_timeout(app):
    async def go():
        async with running_receiver(app, idle_timeout_s=0.3) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            assert (await w.ask(auth_2013()))[-3] == 0
            assert await asyncio.wait_for(w.reader.read(100), 5) == b""  # closed by the platform
            await w.close()
            return dict(receiver.stats)

    assert _run(go())["idle_timeout"] == 1
