"""A JT/T 808 vehicle terminal over TCP (asyncio), for the simulator and the bench:
register, authenticate, heartbeat, and send location reports and batches.
Requests that expect an answer await it by serial number; location reports can also
be sent without waiting (`send_location`), their answers counted in `results`."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from dispatch.domain.errors import DispatchError
from dispatch.feeds import jt808


class TerminalClient:
    def __init__(self, terminal: str, version2019: bool = False) -> None:
        self.terminal = terminal
        self.version2019 = version2019
        self.results: Counter[int] = Counter()  # 0x8001 results of fire-and-forget reports
        self._serial = 0
        self._waiting: dict[tuple[int, int], asyncio.Future] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    async def connect(self, host: str, port: int) -> None:
        try:
            self._reader, self._writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise DispatchError(f"无法连接定位接收端 {host}:{port}: {exc.strerror or exc}") from None
        self._task = asyncio.create_task(self._read_answers())

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self._task is not None:
            self._task.cancel()

    def _open_writer(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise ConnectionError("终端未连接")
        return self._writer

    def _frame(self, msg_id: int, body: bytes) -> tuple[int, bytes]:
        self._serial = (self._serial + 1) & 0xFFFF
        return self._serial, jt808.build_frame(msg_id, self.terminal, self._serial, body, self.version2019)

    async def request(self, msg_id: int, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
        """Send one message and wait for its answer: (answer id, answer body)."""
        serial, frame = self._frame(msg_id, body)
        answer_id = jt808.REGISTER_RESPONSE if msg_id == jt808.REGISTER else jt808.PLATFORM_GENERAL_RESPONSE
        fut = asyncio.get_running_loop().create_future()
        self._waiting[(answer_id, serial)] = fut
        self._open_writer().write(frame)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop((answer_id, serial), None)

    async def register(self) -> tuple[int, str]:
        """0x0100 -> (0x8100 result, authentication code)."""
        _, body = await self.request(jt808.REGISTER, jt808.register_body(self.version2019))
        _, result, code = jt808.parse_register_response(body)
        return result, code

    async def authenticate(self, code: str) -> int:
        """0x0102 -> the 0x8001 result (0 ok)."""
        _, body = await self.request(jt808.AUTHENTICATE, jt808.auth_body(code, self.version2019))
        return jt808.parse_general_response(body)[2]

    async def heartbeat(self) -> int:
        _, body = await self.request(jt808.HEARTBEAT)
        return jt808.parse_general_response(body)[2]

    def send_location(self, lon: float, lat: float, at: datetime, speed_kmh: float = 0.0,
                      heading: int = 0) -> int:
        """Send a 0x0200 without waiting; returns its serial."""
        serial, frame = self._frame(jt808.LOCATION, jt808.location_body(lon, lat, at, speed_kmh, heading))
        self._open_writer().write(frame)
        return serial

    async def drain(self) -> None:
        await self._open_writer().drain()

    async def _read_answers(self) -> None:
        splitter = jt808.FrameSplitter()
        try:
            reader = self._reader
            while reader is not None and (data := await reader.read(65536)):
                for raw in splitter.feed(data):
                    try:
                        msg = jt808.parse_frame(raw)
                    except jt808.FrameError:
                        continue
                    self._on_answer(msg)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))

    def _on_answer(self, msg: jt808.Message) -> None:
        if msg.header.msg_id == jt808.PLATFORM_GENERAL_RESPONSE:
            serial, _reply_id, result = jt808.parse_general_response(msg.body)
        elif msg.header.msg_id == jt808.REGISTER_RESPONSE:
            serial = jt808.parse_register_response(msg.body)[0]
            result = -1
        else:
            return
        fut = self._waiting.get((msg.header.msg_id, serial))
        if fut is not None and not fut.done():
            fut.set_result((msg.header.msg_id, msg.body))
        elif result >= 0:
            self.results[result] += 1
