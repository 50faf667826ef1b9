"""The position receiver: JT/T 808 over TCP and JSON lines over UDP, in one asyncio
loop; accepted fixes go to the batch writer (feeds.avl_store).

Every fault is counted by kind in `Receiver.stats` and logged at most once a minute
per terminal; none stops the receiver or closes a connection, except a connection
silent for longer than `idle_timeout_s` or one that does not read its answers.
Location reports are stored only from a terminal that authenticated (0x0102 with the
roster's code) on that same connection; before that they are answered with result 1.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from dispatch.feeds import jt808
from dispatch.feeds.avl_store import PositionWriter
from dispatch.store.positions import Fix
from dispatch.geo.coords import gcj02_to_wgs84, in_china
from dispatch.store.db import Store
from dispatch.store.schema import UnitRow

log = logging.getLogger("dispatch.avl")

_RECENT = 16  # fix times remembered per unit to spot duplicates


@dataclass(frozen=True, slots=True)
class Terminal:
    unit_id: int
    callsign: str
    auth_code: str


def load_terminals(store: Store) -> dict[str, Terminal]:
    """The roster's terminals, keyed by normalised terminal number."""
    with store.reader() as s:
        rows = s.execute(select(UnitRow.id, UnitRow.callsign, UnitRow.terminal, UnitRow.auth_code)
                         .where(UnitRow.terminal.is_not(None)))
        return {jt808.normalise_terminal(t): Terminal(i, c, a or "") for i, c, t, a in rows if t}


@dataclass
class _Connection:
    peer: str
    authed: set[str] = field(default_factory=set)
    serial: int = 0

    def next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial


class Receiver:
    """Decodes, checks and forwards fixes. `clock` is the injected clock (time window
    of fixes, log rate limit). Use `start()`/`close()` inside a running event loop."""

    def __init__(self, store: Store, clock, writer: PositionWriter | None = None, *,  # noqa: ANN001
                 max_future_s: float = 300.0, max_past_s: float = 86_400.0,
                 idle_timeout_s: float = 600.0, log_every_s: float = 60.0) -> None:
        self.store, self.clock = store, clock
        self.writer = writer or PositionWriter(store)
        self.terminals = load_terminals(store)
        self._loaded_at = clock.now()
        self.max_future = timedelta(seconds=max_future_s)
        self.max_past = timedelta(seconds=max_past_s)
        self.idle_timeout_s = idle_timeout_s
        self.log_every = timedelta(seconds=log_every_s)
        self.stats: Counter[str] = Counter()
        self._recent: dict[int, deque] = {}
        self._latest: dict[int, datetime] = {}
        self._logged: dict[str, datetime] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------ lifecycle

    async def start(self, jt808_addr: tuple[str, int] | None = None,
                    udp_addr: tuple[str, int] | None = None) -> dict[str, tuple[str, int]]:
        """Listen; returns the bound addresses (port 0 picks a free one)."""
        bound: dict[str, tuple[str, int]] = {}
        if jt808_addr is not None:
            server = await asyncio.start_server(self._serve, *jt808_addr, backlog=4096)
            self._servers.append(server)
            bound["jt808"] = server.sockets[0].getsockname()[:2]
        if udp_addr is not None:
            loop = asyncio.get_running_loop()
            self._udp, _ = await loop.create_datagram_endpoint(lambda: _JsonLines(self), local_addr=udp_addr)
            bound["udp"] = self._udp.get_extra_info("sockname")[:2]
        return bound

    async def close(self) -> None:
        """Stop listening, drop the connections, write every queued fix."""
        for server in self._servers:
            server.close()
        for w in list(self._conns):
            w.close()
        for server in self._servers:
            await server.wait_closed()
        if self._udp is not None:
            self._udp.close()
        await asyncio.get_running_loop().run_in_executor(None, self.writer.close)

    def summary(self) -> dict:
        return {"stored": self.writer.stored, "store_failed": self.writer.failed,
                **dict(sorted(self.stats.items()))}

    # ------------------------------------------------------------ faults

    def _fault(self, kind: str, who: str, detail: str = "") -> None:
        self.stats[kind] += 1
        now = self.clock.now()
        last = self._logged.get(who)
        if last is None or now - last >= self.log_every:
            if len(self._logged) > 10_000:  # garbage names must not grow it without bound
                self._logged.clear()
            self._logged[who] = now
            log.warning("定位数据异常 终端=%s 类型=%s %s（同一终端每分钟最多记录一次）", who, kind, detail)

    # ------------------------------------------------------------ fixes (both feeds)

    def accept_fix(self, unit_id: int, who: str, at: datetime, lon: float, lat: float,
                   speed_kmh: float | None, heading: float | None) -> bool:
        """Check one fix and queue it for writing; False (and counted) when refused."""
        if not in_china(lon, lat):  # a fix outside China (or NaN) is a fault
            self._fault("outside_china", who, f"{lon},{lat}")
            return False
        now = self.clock.now()
        if at > now + self.max_future:
            self._fault("future_time", who, at.isoformat())
            return False
        if at < now - self.max_past:
            self._fault("past_time", who, at.isoformat())
            return False
        recent = self._recent.setdefault(unit_id, deque(maxlen=_RECENT))
        if at in recent:
            self._fault("duplicate", who, at.isoformat())
            return False
        recent.append(at)
        latest = self._latest.get(unit_id)
        if latest is not None and at < latest:
            # kept for the track (a blind-area supplement is late by nature); the
            # writer's projection never moves a unit back in time
            self._fault("out_of_order", who, at.isoformat())
        else:
            self._latest[unit_id] = at
        self.writer.submit(Fix(unit_id, at, lon, lat, speed_kmh, heading, "avl"))
        self.stats["fixes"] += 1
        return True

    # ------------------------------------------------------------ JT/T 808

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn = _Connection(f"{peer[0]}:{peer[1]}" if peer else "?")
        splitter = jt808.FrameSplitter()
        self._conns.add(writer)
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout_s):  # no task per read, unlike wait_for
                        data = await reader.read(65536)
                except TimeoutError:
                    self._fault("idle_timeout", conn.peer)
                    break
                if not data:
                    break
                before = splitter.oversized
                answers = [a for raw in splitter.feed(data) for a in self.handle_frame(conn, raw)]
                for _ in range(splitter.oversized - before):
                    self._fault("oversized", conn.peer)
                if answers:
                    writer.write(b"".join(answers))
                    if writer.transport.get_write_buffer_size() > 1 << 20:
                        try:
                            await asyncio.wait_for(writer.drain(), 5.0)
                        except asyncio.TimeoutError:
                            self._fault("not_reading", conn.peer)
                            break
        except (ConnectionError, OSError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    def handle_frame(self, conn: _Connection, raw: bytes) -> list[bytes]:
        """Answers to one frame (the bytes between two 0x7e)."""
        self.stats["frames"] += 1
        try:
            msg = jt808.parse_frame(raw)
        except jt808.FrameError as exc:
            who = exc.header.terminal if exc.header else conn.peer
            self._fault(exc.kind, who, str(exc))
            return [self._general(conn, exc.header, jt808.BAD_MESSAGE)] if exc.header else []
        except Exception as exc:  # noqa: BLE001 - a frame must never stop the receiver
            self._fault("bad_frame", conn.peer, repr(exc))
            return []
        h = msg.header
        if h.encryption or h.subpackaged:
            self._fault("unsupported", h.terminal, "encrypted or subpackaged")
            return [self._general(conn, h, jt808.UNSUPPORTED)]
        try:
            return self._dispatch(conn, msg)
        except jt808.FrameError as exc:
            self._fault(exc.kind, h.terminal, str(exc))
            return [self._general(conn, h, jt808.BAD_MESSAGE)]
        except Exception as exc:  # noqa: BLE001 - e.g. the roster unreadable for a moment
            self._fault("internal_error", h.terminal, repr(exc)[:120])
            return [self._general(conn, h, jt808.FAIL)]

    def _dispatch(self, conn: _Connection, msg: jt808.Message) -> list[bytes]:
        h = msg.header
        who = h.terminal
        if h.msg_id == jt808.TERMINAL_GENERAL_RESPONSE:
            return []
        if h.msg_id == jt808.REGISTER:
            term = self._terminal(who)
            if term is None:
                self._fault("unknown_terminal", who)
                body = jt808.register_response_body(h.serial, jt808.REG_NO_TERMINAL)
            else:
                body = jt808.register_response_body(h.serial, jt808.REG_OK, term.auth_code)
            return [jt808.reply_to(h, jt808.REGISTER_RESPONSE, conn.next_serial(), body)]
        if h.msg_id == jt808.AUTHENTICATE:
            code = jt808.parse_auth(msg.body, h.version2019)
            term = self._terminal(who)
            if term is None:
                self._fault("unknown_terminal", who)
                return [self._general(conn, h, jt808.FAIL)]
            if not term.auth_code or code != term.auth_code:
                self._fault("auth_failed", who)
                return [self._general(conn, h, jt808.FAIL)]
            conn.authed.add(who)
            self.stats["authenticated"] += 1
            return [self._general(conn, h, jt808.OK)]
        if h.msg_id == jt808.HEARTBEAT:
            return [self._general(conn, h, jt808.OK)]
        if h.msg_id == jt808.LOGOUT:
            conn.authed.discard(who)
            return [self._general(conn, h, jt808.OK)]
        if h.msg_id in (jt808.LOCATION, jt808.BATCH_LOCATION):
            if who not in conn.authed:
                self._fault("unauthenticated", who)
                return [self._general(conn, h, jt808.FAIL)]
            term = self.terminals.get(who)
            if term is None:  # removed from the roster since it authenticated
                conn.authed.discard(who)
                self._fault("unknown_terminal", who)
                return [self._general(conn, h, jt808.FAIL)]
            if h.msg_id == jt808.LOCATION:
                locations: list = [jt808.parse_location(msg.body)]
            else:
                _kind, locations = jt808.parse_batch(msg.body)
            for loc in locations:
                if isinstance(loc, jt808.FrameError):
                    self._fault(loc.kind, who, str(loc))
                elif not loc.fixed:
                    self._fault("no_fix", who)
                else:
                    self.accept_fix(term.unit_id, who, loc.at, loc.lon, loc.lat, loc.speed_kmh, loc.heading)
            return [self._general(conn, h, jt808.OK)]
        self._fault("unsupported", who, f"message 0x{h.msg_id:04x}")
        return [self._general(conn, h, jt808.UNSUPPORTED)]

    def _terminal(self, who: str) -> Terminal | None:
        """The roster's terminal; an unknown number re-reads the roster (at most every
        30 s), so units added while the receiver runs are served without a restart."""
        term = self.terminals.get(who)
        if term is None and self.clock.now() - self._loaded_at >= timedelta(seconds=30):
            self._loaded_at = self.clock.now()
            self.terminals = load_terminals(self.store)
            term = self.terminals.get(who)
        return term

    def _general(self, conn: _Connection, h: jt808.Header, result: int) -> bytes:
        body = jt808.general_response_body(h.serial, h.msg_id, result)
        return jt808.reply_to(h, jt808.PLATFORM_GENERAL_RESPONSE, conn.next_serial(), body)

    # ------------------------------------------------------------ JSON lines

    def handle_json_line(self, line: bytes | str) -> bool:
        """One JSON fix {"terminal","code","lon","lat","at","speed_kmh","heading","crs"}
        (`code`: the terminal's authentication code, as JT/T 808 terminals send once)."""
        self.stats["json_lines"] += 1
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise ValueError("not an object")
            who = d["terminal"]
            lon, lat = d["lon"], d["lat"]
            if not isinstance(who, str) or not all(_number(v) for v in (lon, lat)):
                raise ValueError("terminal must be a string, lon/lat numbers")
            speed, heading = d.get("speed_kmh"), d.get("heading")
            if not all(v is None or _number(v) for v in (speed, heading)):
                raise ValueError("speed_kmh/heading must be numbers")
            if not (speed is None or 0 <= speed <= 500) or not (heading is None or 0 <= heading <= 360):
                raise ValueError("speed_kmh/heading out of range")
            at = datetime.fromisoformat(d["at"]) if isinstance(d.get("at"), str) else None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self._fault("bad_json", "udp", str(exc)[:80])
            return False
        if at is None or at.tzinfo is None:
            self._fault("bad_time", who, "at must be ISO 8601 with an offset")
            return False
        crs = d.get("crs", "wgs84")
        if crs not in ("wgs84", "gcj02"):
            self._fault("bad_crs", who, str(crs)[:20])
            return False
        term = self._terminal(jt808.normalise_terminal(who))
        if term is None:
            self._fault("unknown_terminal", who[:24])
            return False
        # the code the terminal authenticates with over JT/T 808, in every datagram: UDP has
        # no connection to authenticate once, and a fix from anyone who knows a unit's
        # terminal number would move that unit on every screen
        code = d.get("code")
        if not isinstance(code, str) or not term.auth_code or not hmac.compare_digest(
                code.encode("utf-8", "replace"), term.auth_code.encode("utf-8")):
            self._fault("auth_failed", who[:24], "udp: missing or wrong code")
            return False
        lon, lat = float(lon), float(lat)
        if crs == "gcj02" and math.isfinite(lon) and math.isfinite(lat):
            lon, lat = gcj02_to_wgs84(lon, lat)
        return self.accept_fix(term.unit_id, who, at.astimezone(timezone.utc), lon, lat,
                               None if speed is None else float(speed),
                               None if heading is None else float(heading))


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _JsonLines(asyncio.DatagramProtocol):
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        for line in data.splitlines():
            if line.strip():
                self.receiver.handle_json_line(line)
