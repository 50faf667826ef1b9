"""The phone line (CTI): the console listens on a local TCP socket for the telephone
system's call events, one JSON object per line:

    {"event": "ringing"|"answered"|"hangup", "seat": "席位1", "number": "13800000001",
     "lon": 121.47, "lat": 31.23, "accuracy_m": 350}

(lon/lat WGS-84, the carrier's location of the caller, optional; accuracy_m its radius.)
A call is never dropped for its location: a malformed one (not numbers, only one of the
two, a bad radius) is left out, one outside China kept in lon/lat but not `located`
(phone_calls.answer notes it on the incident instead of storing it); either way
`location_problem` says what was wrong. The address comes from DISPATCH_CTI=HOST:PORT; without it the listener is off. A bad line
is counted in `CtiListener.bad_lines` and ignored; nothing stops the listener.

What the console then does with a call is dispatch.services.phone_calls (answer, caller
history). Qt-free: the screen bridges events to its thread (ui.cti_feed).
"""
from __future__ import annotations

import json
import logging
import math
import re
import socketserver
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import NOT_IN_CHINA, in_china

log = logging.getLogger("dispatch.cti")

ENV = "DISPATCH_CTI"
EVENTS = ("ringing", "answered", "hangup")
MAX_LINE = 4096
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


@dataclass(frozen=True, slots=True)
class CallEvent:
    event: str
    seat: str
    number: str
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    location_problem: str = ""  # why the carrier location was left out ("" when it was fine or absent)

    @property
    def located(self) -> bool:
        """A carrier location to use: given, and in China."""
        return self.lon is not None and self.lat is not None and in_china(self.lon, self.lat)


def address_from_env(env: Mapping[str, str]) -> tuple[str, int] | None:
    """HOST:PORT from DISPATCH_CTI (port 0: any free port), or None when it is unset or empty (CTI off)."""
    raw = (env.get(ENV) or "").strip()
    if not raw:
        return None
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise DispatchError(f"{ENV} 应为 主机:端口，如 127.0.0.1:7110（现为 {raw!r}）")
    return host, int(port)


def parse_line(line: str | bytes) -> CallEvent:
    """One line of the phone system -> CallEvent; ValueError (in Chinese) when malformed."""
    if isinstance(line, bytes):
        if len(line) > MAX_LINE:
            raise ValueError("行过长")
        line = line.decode("utf-8")
    if len(line) > MAX_LINE:
        raise ValueError("行过长")
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("不是有效的 JSON") from exc
    if not isinstance(obj, dict):
        raise ValueError("应为 JSON 对象")
    event, seat, number = obj.get("event"), obj.get("seat"), obj.get("number", "")
    if event not in EVENTS:
        raise ValueError(f"未知的事件 {event!r}")
    if not isinstance(seat, str) or not seat.strip() or len(seat) > 64:
        raise ValueError("缺少席位 seat")
    if not isinstance(number, str) or (number and not _NUMBER.match(number.strip())):
        raise ValueError("来电号码格式不正确")
    lon, lat, acc, problem = _location(obj)
    if problem:
        log.warning("CTI: 来电 %s 的位置未采用：%s", number.strip() or "（未显示号码）", problem)
    return CallEvent(event, seat.strip(), number.strip(), lon, lat, acc, problem)


def _location(obj: dict) -> tuple[float | None, float | None, float | None, str]:
    """The carrier location of a call line: (lon, lat, accuracy_m, problem). A malformed
    one is left out (None) with the problem said; one outside China is kept for the
    service to refuse (and note) — the call itself is always kept."""
    try:
        lon, lat, acc = (_coord(obj, k) for k in ("lon", "lat", "accuracy_m"))
    except ValueError as exc:
        return None, None, None, f"{exc}，来电位置已忽略"
    if (lon is None) != (lat is None):
        return None, None, None, "经纬度应同时给出，来电位置已忽略"
    if acc is not None and not 0 <= acc <= 100_000:
        return lon, lat, None, "accuracy_m 应在 0 到 100000 米之间，精度已忽略"
    if lon is not None and lat is not None and not in_china(lon, lat):
        return lon, lat, acc, f"来电位置 {lon:g},{lat:g} {NOT_IN_CHINA}，未采用"
    return lon, lat, acc, ""


def _coord(obj: dict, key: str) -> float | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{key} 应为有限的数字")
    return float(v)


class CtiListener:
    """A TCP server on (host, port) reading JSON lines; each good one goes to `on_event`
    (called on the listener's threads), each bad one is counted. Port 0 picks a free port."""

    def __init__(self, host: str, port: int, on_event: Callable[[CallEvent], None]) -> None:
        self.on_event = on_event
        self.received = 0
        self.bad_lines = 0
        self._lock = threading.Lock()
        listener = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.connection.settimeout(300)
                try:
                    while True:
                        raw = self.rfile.readline(MAX_LINE + 1)
                        if not raw:
                            return
                        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                            listener._bad("行过长")  # one bad line: the rest of it is skipped, not parsed
                            while raw and not raw.endswith(b"\n"):
                                raw = self.rfile.readline(MAX_LINE + 1)
                            continue
                        if raw.strip():
                            listener._line(raw.rstrip(b"\r\n"))
                except OSError:  # reset or idle connection: only this connection ends
                    return

        class _Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = _Server((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def _bad(self, why: str) -> None:
        with self._lock:
            self.bad_lines += 1
        log.warning("CTI: ignored a bad line (%s)", why)

    def _line(self, raw: bytes) -> None:
        try:
            call = parse_line(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._bad(str(exc))
            return
        with self._lock:
            self.received += 1
        try:
            self.on_event(call)
        except Exception:  # a failing consumer never stops the line
            log.exception("CTI: the consumer failed on %s", call)

    def start(self) -> CtiListener:
        self._thread = threading.Thread(target=self._server.serve_forever, name="cti-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
