"""JT/T 808 frames written byte by byte from the standard's tables (2013 and 2019
headers), decoded by dispatch.feeds.jt808. No database, no network."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dispatch.feeds import jt808


def hexb(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def inner(frame: bytes) -> bytes:
    """The bytes between the two 0x7e flags."""
    assert frame[0] == 0x7E and frame[-1] == 0x7E
    return frame[1:-1]


# 0x0200, 2013 header: id 0200, properties 001c (body 28 bytes), phone BCD 310101000001,
# serial 007e (escaped on the wire as 7d 02). Body: alarm 0, status 3 (ACC on, located,
# north, east), lat 01dc89d0 = 31.230416, lon 073d8aa5 = 121.473701, altitude 0004,
# speed 016d = 36.5 km/h, direction 005a = 90, time 26-11-23 12:00:00 (GMT+8). Check f6.
LOC_2013 = hexb("7e 0200 001c 310101000001 007d02 00000000 00000003 01dc89d0 073d8aa5 0004 016d 005a"
                " 261123120000 f6 7e")
# the same point, 2019 header: properties 401c (bit 14 = version flag), protocol version 01,
# phone BCD[10] 00000000310101000001, serial 0003. Check ca.
LOC_2019 = hexb("7e 0200 401c 01 00000000310101000001 0003 00000000 00000003 01dc89d0 073d8aa5 0004 016d"
                " 005a 261123120000 ca 7e")
# status 0000000f: bit 2 south, bit 3 west. Check 86.
LOC_SOUTH_WEST = hexb("7e 0200 001c 310101000001 0002 00000000 0000000f 01dc89d0 073d8aa5 0004 016d 005a"
                      " 261123120000 86 7e")
NOON_BEIJING_UTC = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


def test_location_report_2013_header_and_body():
    msg = jt808.parse_frame(inner(LOC_2013))
    h = msg.header
    assert (h.msg_id, h.phone, h.serial, h.version2019, h.body_length) == (0x0200, "310101000001", 0x7E, False, 28)
    loc = jt808.parse_location(msg.body)
    assert (loc.lon, loc.lat) == (121.473701, 31.230416)
    assert loc.at == NOON_BEIJING_UTC
    assert (loc.speed_kmh, loc.heading, loc.altitude_m, loc.alarm) == (36.5, 90, 4, 0)
    assert loc.fixed


def test_location_report_2019_header_same_terminal():
    msg = jt808.parse_frame(inner(LOC_2019))
    h = msg.header
    assert (h.version2019, h.protocol_version, h.phone, h.serial) == (True, 1, "00000000310101000001", 3)
    assert h.terminal == jt808.parse_frame(inner(LOC_2013)).header.terminal == "310101000001"
    loc = jt808.parse_location(msg.body)
    assert (loc.lon, loc.lat, loc.at) == (121.473701, 31.230416, NOON_BEIJING_UTC)


def test_south_and_west_status_bits_flip_the_signs():
    loc = jt808.parse_location(jt808.parse_frame(inner(LOC_SOUTH_WEST)).body)
    assert (loc.lon, loc.lat) == (-121.473701, -31.230416)


def test_unlocated_report_is_flagged():
    body = hexb("00000000 00000001 01dc89d0 073d8aa5 0004 016d 005a 261123120000")  # ACC only
    assert not jt808.parse_location(body).fixed


def test_batch_upload_items():
    # 0x0704: count 0002, type 01 (blind-area supplement), each item length 001c + location
    frame = hexb("7e 0704 003f 310101000001 0009 0002 01"
                 " 001c 00000000 00000003 01dc89d0 073d8aa5 0004 016d 005a 261123120000"
                 " 001c 00000000 00000003 01dc8a9a 073d8b6f 0004 016d 005a 261123120010 94 7e")
    msg = jt808.parse_frame(inner(frame))
    kind, items = jt808.parse_batch(msg.body)
    assert kind == 1 and len(items) == 2
    assert (items[1].lon, items[1].lat) == (121.473903, 31.230618)
    assert (items[1].at - items[0].at).total_seconds() == 10


def test_authentication_2013_is_the_code_and_2019_has_length_imei_version():
    auth13 = hexb("7e 0102 000c 310101000001 0001 333130313031303030303031 3d 7e")
    msg = jt808.parse_frame(inner(auth13))
    assert jt808.parse_auth(msg.body, msg.header.version2019) == "310101000001"
    auth19 = hexb("7e 0102 4030 01 00000000310101000001 0001 0c 333130313031303030303031"
                  " 383630303030303030303030303031 56312e30" + "00" * 16 + " 0a 7e")
    msg = jt808.parse_frame(inner(auth19))
    assert msg.header.body_length == 48
    assert jt808.parse_auth(msg.body, msg.header.version2019) == "310101000001"


def test_escapes_both_ways_and_broken_escape():
    assert jt808.unescape(hexb("30 7d02 08 7d01 55")) == hexb("30 7e 08 7d 55")
    assert jt808.escape(hexb("30 7e 08 7d 55")) == hexb("30 7d02 08 7d01 55")
    for broken in ("30 7d 03", "30 7d", "7d 7e"):
        with pytest.raises(jt808.FrameError) as err:
            jt808.unescape(hexb(broken))
        assert err.value.kind == "bad_escape"


def test_bad_check_code_keeps_the_header_for_the_answer():
    bad = bytearray(inner(LOC_2013))
    bad[-1] ^= 0x01
    with pytest.raises(jt808.FrameError) as err:
        jt808.parse_frame(bytes(bad))
    assert err.value.kind == "bad_checksum"
    assert err.value.header.serial == 0x7E and err.value.header.msg_id == 0x0200


def test_truncated_frames():
    for cut in (3, 11, 20, 35):
        with pytest.raises(jt808.FrameError) as err:
            jt808.parse_frame(inner(LOC_2013)[:cut])
        assert err.value.kind in ("truncated", "bad_checksum")
    # a good check code over a body shorter than the header's length (28): truncated
    short = hexb("0200 001c 310101000001 0001 00000000 00000003 2c")
    with pytest.raises(jt808.FrameError) as err:
        jt808.parse_frame(short)
    assert err.value.kind == "truncated" and err.value.header.serial == 1


def test_platform_general_response_bytes():
    # 0x8001 to the 2013 report above: reply serial 007e, reply id 0200, result 00;
    # platform serial 0001. On the wire the 7e of the body is escaped. Check c9.
    body = jt808.general_response_body(0x7E, 0x0200, jt808.OK)
    assert body == hexb("007e 0200 00")
    header = jt808.parse_frame(inner(LOC_2013)).header
    assert jt808.reply_to(header, 0x8001, 1, body) == hexb("7e 8001 0005 310101000001 0001 007d02 0200 00 c9 7e")
    # and in the 2019 edition to the 2019 authentication: properties 4005, version 01. Check f6.
    header19 = jt808.Header(0x0102, "00000000310101000001", 1, True, 1)
    assert jt808.reply_to(header19, 0x8001, 1, jt808.general_response_body(1, 0x0102, 0)) == hexb(
        "7e 8001 4005 01 00000000310101000001 0001 0001 0102 00 f6 7e")


def test_registration_response_carries_the_code_only_on_success():
    assert jt808.register_response_body(1, 0, "310101000001") == hexb("0001 00 333130313031303030303031")
    assert jt808.register_response_body(1, 4, "ignored") == hexb("0001 04")


def test_splitter_cuts_the_stream_and_drops_garbage():
    s = jt808.FrameSplitter()
    stream = b"junk" + LOC_2013 + LOC_2019[:10]
    frames = s.feed(stream)
    assert frames == [inner(LOC_2013)]
    assert s.feed(LOC_2019[10:]) == [inner(LOC_2019)]
    # a run without flags longer than any legal frame is dropped, and the stream resynchronises
    s.feed(b"\x7e" + b"\x01" * (jt808.MAX_ESCAPED + 10))
    assert s.oversized == 1
    assert s.feed(b"\x7e" + LOC_2013) == [inner(LOC_2013)]


def test_bcd_time_that_does_not_exist_is_refused():
    body = hexb("00000000 00000003 01dc89d0 073d8aa5 0004 016d 005a 261332250000")  # month 13
    with pytest.raises(jt808.FrameError) as err:
        jt808.parse_location(body)
    assert err.value.kind == "bad_time"
