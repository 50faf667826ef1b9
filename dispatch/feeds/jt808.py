"""JT/T 808 (2013 and 2019 editions): framing, message header, and the messages a
position receiver needs (registration, authentication, heartbeat, location report,
batch upload, the platform's general response and registration response).

A frame on the wire is 0x7e, escaped(header + body + check code), 0x7e. Escaping:
0x7e -> 0x7d 0x02, 0x7d -> 0x7d 0x01. The check code is the XOR of header and body.
Header (2013): id u16, properties u16, phone BCD[6], serial u16 [, total u16, index u16].
Header (2019, properties bit 14 set): id u16, properties u16, protocol version u8,
phone BCD[10], serial u16 [, total u16, index u16].
Properties: bits 0-9 body length, 10-12 encryption, 13 subpackage, 14 version flag.
Pure code: no I/O, no clock.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

FLAG = 0x7E
ESC = 0x7D
MAX_BODY = 0x3FF  # 10 bits of body length
# header (2019, subpackaged) 21 + body 1023 + check 1, all escaped at worst: a frame
# between flags is never longer than this; anything longer is garbage.
MAX_ESCAPED = 2 * (21 + MAX_BODY + 1)

# message ids
TERMINAL_GENERAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
BATCH_LOCATION = 0x0704
PLATFORM_GENERAL_RESPONSE = 0x8001
REGISTER_RESPONSE = 0x8100

# 0x8001 results
OK, FAIL, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
# 0x8100 results
REG_OK, REG_VEHICLE_TAKEN, REG_NO_VEHICLE, REG_TERMINAL_TAKEN, REG_NO_TERMINAL = 0, 1, 2, 3, 4

# status bits of a location report
STATUS_FIXED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3

BEIJING = timezone(timedelta(hours=8))


class FrameError(ValueError):
    """A frame that cannot be used; `kind` names the fault for the receiver's counters.
    `header` is set when the header could still be read (so it can be answered)."""

    def __init__(self, kind: str, message: str, header: "Header | None" = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.header = header


@dataclass(frozen=True, slots=True)
class Header:
    msg_id: int
    phone: str              # the BCD digits as written (12 for 2013, 20 for 2019)
    serial: int
    version2019: bool = False
    protocol_version: int = 0
    encryption: int = 0
    body_length: int = 0
    packet_total: int = 0  # 0 when not subpackaged
    packet_index: int = 0

    @property
    def subpackaged(self) -> bool:
        return self.packet_total > 0

    @property
    def terminal(self) -> str:
        """The terminal number as the roster keys it (leading zeros of the BCD field dropped)."""
        return normalise_terminal(self.phone)


@dataclass(frozen=True, slots=True)
class Message:
    header: Header
    body: bytes


@dataclass(frozen=True, slots=True)
class Location:
    """One location report (0x0200 body), WGS-84 degrees, time in UTC."""

    alarm: int
    status: int
    lon: float
    lat: float
    altitude_m: int
    speed_kmh: float
    heading: int
    at: datetime

    @property
    def fixed(self) -> bool:
        return bool(self.status & STATUS_FIXED)


def normalise_terminal(number: str) -> str:
    """Terminal numbers compare without leading zeros: the 2019 header pads a 12-digit
    number to 20 digits, the 2013 header may pad an 11-digit phone number to 12."""
    return number.strip().lstrip("0") or "0"


# ---------------------------------------------------------------- framing

def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo the escaping; a 0x7d not followed by 0x01/0x02 is a broken escape."""
    if ESC not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == ESC:
            if i + 1 >= n or data[i + 1] not in (1, 2):
                raise FrameError("bad_escape", "0x7d not followed by 0x01 or 0x02")
            out.append(ESC if data[i + 1] == 1 else FLAG)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def check_code(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def bcd(digits: str) -> bytes:
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even number of digits: {digits!r}")
    return bytes.fromhex(digits)


def from_bcd(data: bytes) -> str:
    text = data.hex()
    if not text.isdigit():
        raise FrameError("bad_header", f"not BCD: {text}")
    return text


class FrameSplitter:
    """Cuts a TCP byte stream into frames: every 0x7e is a delimiter and the non-empty
    runs between two of them are frames (a run that is not a frame fails to parse).
    Bytes before the first flag are skipped; a run longer than MAX_ESCAPED is dropped
    and counted as oversized, so a flood of garbage cannot grow the buffer."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._started = False
        self._discarding = False
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        start = 0
        while True:
            j = data.find(b"\x7e", start)
            part = data[start:] if j < 0 else data[start:j]
            if self._started and not self._discarding:
                if len(self._buf) + len(part) > MAX_ESCAPED:
                    self.oversized += 1
                    self._buf.clear()
                    self._discarding = True
                else:
                    self._buf += part
            if j < 0:
                return frames
            if self._buf:
                frames.append(bytes(self._buf))
                self._buf.clear()
            self._started, self._discarding = True, False
            start = j + 1


# ---------------------------------------------------------------- header and frames

def parse_frame(escaped: bytes) -> Message:
    """Decode one frame (without its flags). Raises FrameError."""
    raw = unescape(escaped)
    if len(raw) < 13:  # shortest 2013 header 12 + check 1
        raise FrameError("truncated", f"frame of {len(raw)} bytes")
    data, code = raw[:-1], raw[-1]
    msg_id, props = struct.unpack_from(">HH", data, 0)
    body_length, encryption = props & 0x3FF, (props >> 10) & 0x7
    sub, v2019 = bool(props & 0x2000), bool(props & 0x4000)
    pos = 4
    protocol_version = 0
    if v2019:
        if len(data) < 17:
            raise FrameError("truncated", "2019 header cut short")
        protocol_version = data[pos]
        pos += 1
        phone = from_bcd(data[pos:pos + 10])
        pos += 10
    else:
        phone = from_bcd(data[pos:pos + 6])
        pos += 6
    serial, = struct.unpack_from(">H", data, pos)
    pos += 2
    total = index = 0
    if sub:
        if len(data) < pos + 4:
            raise FrameError("truncated", "subpackage fields cut short")
        total, index = struct.unpack_from(">HH", data, pos)
        pos += 4
    header = Header(msg_id, phone, serial, v2019, protocol_version, encryption, body_length, total, index)
    if check_code(data) != code:
        raise FrameError("bad_checksum", "check code mismatch", header)
    body = data[pos:]
    if len(body) != body_length:
        kind = "truncated" if len(body) < body_length else "bad_length"
        raise FrameError(kind, f"body {len(body)} bytes, header says {body_length}", header)
    return Message(header, body)


def build_frame(msg_id: int, phone: str, serial: int, body: bytes = b"", version2019: bool = False,
                protocol_version: int = 1) -> bytes:
    """A complete frame with flags (used for the platform's answers and by terminals)."""
    if len(body) > MAX_BODY:
        raise ValueError("body longer than 1023 bytes needs subpackaging")
    props = len(body) | (0x4000 if version2019 else 0)
    digits = phone.rjust(20 if version2019 else 12, "0")
    head = struct.pack(">HH", msg_id, props)
    if version2019:
        head += bytes([protocol_version])
    head += bcd(digits) + struct.pack(">H", serial & 0xFFFF)
    data = head + body
    return b"\x7e" + escape(data + bytes([check_code(data)])) + b"\x7e"


def reply_to(header: Header, msg_id: int, serial: int, body: bytes) -> bytes:
    """A platform message to the terminal of `header`, in the same header edition."""
    return build_frame(msg_id, header.phone, serial, body, header.version2019,
                       header.protocol_version or 1)


def general_response_body(reply_serial: int, reply_id: int, result: int) -> bytes:
    return struct.pack(">HHB", reply_serial & 0xFFFF, reply_id & 0xFFFF, result)


def parse_general_response(body: bytes) -> tuple[int, int, int]:
    """(reply serial, reply id, result) of a 0x8001 or 0x0001 body."""
    if len(body) != 5:
        raise FrameError("truncated", "general response is 5 bytes")
    return struct.unpack(">HHB", body)


def register_response_body(reply_serial: int, result: int, auth_code: str = "") -> bytes:
    body = struct.pack(">HB", reply_serial & 0xFFFF, result)
    return body + auth_code.encode("gbk") if result == REG_OK else body


def parse_register_response(body: bytes) -> tuple[int, int, str]:
    if len(body) < 3:
        raise FrameError("truncated", "registration response cut short")
    serial, result = struct.unpack_from(">HB", body)
    return serial, result, body[3:].decode("gbk", errors="replace")


# ---------------------------------------------------------------- terminal messages

def parse_auth(body: bytes, version2019: bool) -> str:
    """The authentication code of a 0x0102 body. 2013: the whole body; 2019: length u8,
    code, IMEI[15], software version[20]."""
    if not version2019:
        return body.decode("gbk", errors="replace")
    if not body:
        raise FrameError("truncated", "empty authentication")
    n = body[0]
    if len(body) != 1 + n + 15 + 20:
        raise FrameError("bad_length", "2019 authentication is length + code + IMEI 15 + version 20")
    return body[1:1 + n].decode("gbk", errors="replace")


def auth_body(code: str, version2019: bool, imei: str = "000000000000000", software: str = "") -> bytes:
    raw = code.encode("gbk")
    if not version2019:
        return raw
    return (bytes([len(raw)]) + raw + imei.encode("ascii")[:15].ljust(15, b"\0")
            + software.encode("ascii")[:20].ljust(20, b"\0"))


def register_body(version2019: bool, plate: str = "") -> bytes:
    """A registration body: province, city, maker, model, terminal id, plate colour, plate."""
    maker, model, tid = (11, 30, 30) if version2019 else (5, 20, 7)
    return (struct.pack(">HH", 31, 101) + b"DSPCH".ljust(maker, b"\0") + b"SIM".ljust(model, b"\0")
            + b"T1".ljust(tid, b"\0") + bytes([0]) + plate.encode("gbk"))


def _bcd_time(data: bytes) -> datetime:
    text = data.hex()
    if not text.isdigit():
        raise FrameError("bad_time", f"time not BCD: {text}")
    try:
        local = datetime(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]),
                         int(text[6:8]), int(text[8:10]), int(text[10:12]), tzinfo=BEIJING)
    except ValueError:
        raise FrameError("bad_time", f"no such time: {text}") from None
    return local.astimezone(timezone.utc)


def bcd_time(at: datetime) -> bytes:
    return bcd(at.astimezone(BEIJING).strftime("%y%m%d%H%M%S"))


LOCATION_BASE = 28


def parse_location(body: bytes) -> Location:
    """A 0x0200 body (the 28 basic bytes; additional items are ignored)."""
    if len(body) < LOCATION_BASE:
        raise FrameError("truncated", f"location of {len(body)} bytes")
    alarm, status, lat_u, lon_u, alt, speed, heading = struct.unpack_from(">IIIIHHH", body)
    lat = lat_u / 1e6 * (-1 if status & STATUS_SOUTH else 1)
    lon = lon_u / 1e6 * (-1 if status & STATUS_WEST else 1)
    return Location(alarm, status, lon, lat, alt, speed / 10.0, heading, _bcd_time(body[22:28]))


def location_body(lon: float, lat: float, at: datetime, speed_kmh: float = 0.0, heading: int = 0,
                  altitude_m: int = 0, alarm: int = 0, fixed: bool = True) -> bytes:
    status = (STATUS_FIXED if fixed else 0) | (STATUS_SOUTH if lat < 0 else 0) | (STATUS_WEST if lon < 0 else 0)
    return struct.pack(">IIIIHHH", alarm, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6),
                       altitude_m & 0xFFFF, round(speed_kmh * 10) & 0xFFFF, heading % 360) + bcd_time(at)


def parse_batch(body: bytes) -> tuple[int, list[Location | FrameError]]:
    """A 0x0704 body: count u16, type u8 (0 normal, 1 blind-area supplement), then per
    item length u16 + location. Returns the type and each item decoded or its fault."""
    if len(body) < 3:
        raise FrameError("truncated", "batch header cut short")
    count, kind = struct.unpack_from(">HB", body)
    pos = 3
    items: list[Location | FrameError] = []
    for _ in range(count):
        if pos + 2 > len(body):
            raise FrameError("truncated", "batch item cut short")
        n, = struct.unpack_from(">H", body, pos)
        pos += 2
        if pos + n > len(body):
            raise FrameError("truncated", "batch item cut short")
        try:
            items.append(parse_location(body[pos:pos + n]))
        except FrameError as exc:
            items.append(exc)
        pos += n
    if pos != len(body):
        raise FrameError("bad_length", "bytes after the last batch item")
    return kind, items


def batch_body(locations: list[bytes], blind_area: bool = False) -> bytes:
    out = struct.pack(">HB", len(locations), 1 if blind_area else 0)
    for loc in locations:
        out += struct.pack(">H", len(loc)) + loc
    return out
