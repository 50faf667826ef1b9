"""The simulator's positions as a real vehicle terminal sends them: JT/T 808 over TCP.

`Jt808Feed` opens one connection per unit that has a terminal in the roster, each
authenticated (0x0102) with the roster's code, and turns every `report_position` of
the simulator into a 0x0200 location report on that unit's connection; the receiver
(`avl listen`) stores it. The report's time is in whole seconds, so a second report of
a unit within the same second is not sent (counted as `same_second`). The connections live in an asyncio loop on their own thread,
so the (synchronous) simulator never waits on the network. A unit without a terminal
has no way to send a 0x0200; its fixes go through `fallback` (the services), counted
apart as `direct`.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from dispatch.domain.errors import DispatchError
from dispatch.feeds.avl_receiver import load_terminals
from dispatch.feeds.terminal_client import TerminalClient
from dispatch.store.db import Store


def parse_feed_url(url: str) -> tuple[str, int]:
    """'jt808://HOST:PORT' -> (host, port); anything else is a DispatchError."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "jt808" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise DispatchError(f"定位接收端地址应为 jt808://HOST:PORT: {url}")
    return parts.hostname, port


class Jt808Feed:
    """Sends fixes over JT/T 808. `open()` connects and authenticates every terminal
    (a refused code is a DispatchError naming the unit); `close()` waits until each
    report has its 0x8001 answer (or `timeout_s`) and disconnects."""

    def __init__(self, store: Store, host: str, port: int,
                 fallback: Callable | None = None) -> None:  # noqa: ANN001
        self.host, self.port = host, port
        self.fallback = fallback
        self.terminals = {t.unit_id: (number, t.auth_code, t.callsign)
                          for number, t in load_terminals(store).items()}
        self.clients: dict[int, TerminalClient] = {}
        self.sent = 0
        self.direct = 0
        self.same_second = 0  # a second report of a unit within one second: not sent
        self._last_second: dict[int, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-jt808", daemon=True)

    # ---- life cycle ------------------------------------------------------------------
    def open(self, timeout_s: float = 30.0) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self._loop).result(timeout_s)

    async def _open_all(self) -> None:
        for unit_id, (number, code, callsign) in self.terminals.items():
            client = TerminalClient(number)
            await client.connect(self.host, self.port)
            self.clients[unit_id] = client
            try:
                result = await client.authenticate(code)
            except (ConnectionError, asyncio.TimeoutError):
                raise DispatchError(f"定位接收端 {self.host}:{self.port} 没有应答 {callsign} 的鉴权") from None
            if result != 0:
                raise DispatchError(f"定位接收端拒绝了 {callsign}（终端 {number}）的鉴权，结果 {result}："
                                    "接收端须使用与模拟相同的数据库")

    def close(self, timeout_s: float = 10.0) -> dict:
        """Wait for the answers, disconnect, stop the thread; returns the counts."""
        if self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self._close_all(timeout_s), self._loop)
            try:
                fut.result(timeout_s + 5)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(5)
        return self.summary()

    async def _close_all(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for c in self.clients.values():
            try:
                await c.drain()
            except (ConnectionError, OSError):
                pass
        while self._answered() < self.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for c in self.clients.values():
            await c.close()

    def _answered(self) -> int:
        return sum(sum(c.results.values()) for c in self.clients.values())

    def summary(self) -> dict:
        accepted = sum(c.results.get(0, 0) for c in self.clients.values())
        return {"terminals": len(self.clients), "sent": self.sent, "accepted": accepted,
                "refused": self._answered() - accepted, "direct": self.direct, "same_second": self.same_second}

    # ---- the simulator's side ----------------------------------------------------------
    def report_position(self, unit_id: int, lon: float, lat: float, at: datetime | None = None,
                        speed: float | None = None, heading: float | None = None) -> None:
        """Same signature as services.report_position (speed in m/s as the simulator gives it)."""
        client = self.clients.get(unit_id)
        if client is None:
            if self.fallback is not None:
                self.fallback(unit_id, lon, lat, at, speed, heading)
                self.direct += 1
            return
        if at is None:
            raise ValueError("模拟位置缺少时间")
        second = int(at.timestamp())  # JT/T 808 carries whole seconds: one report per second
        if self._last_second.get(unit_id) == second:
            self.same_second += 1
            return
        self._last_second[unit_id] = second
        kmh = (speed or 0.0) * 3.6
        self._loop.call_soon_threadsafe(client.send_location, lon, lat, at, kmh, int(heading or 0) % 360)
        self.sent += 1
