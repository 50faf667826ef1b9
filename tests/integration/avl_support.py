"""What the AVL tests share: frames written from the standard's tables with a check code
and escaping done here (not by the receiver's encoder), a raw TCP terminal, and a
receiver running on a real socket for the length of a test."""
from __future__ import annotations

import asyncio
import contextlib
from functools import reduce

from sqlalchemy import select

from dispatch.feeds.avl_receiver import Receiver
from dispatch.feeds.avl_store import PositionWriter
from dispatch.store.schema import UnitRow

TERMINAL = "310101000001"  # 黄巡01 in resources/demo/roster.csv, code = the number
PHONE_2019 = "00000000" + TERMINAL


def hexb(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def frame(unescaped_hex: str) -> bytes:
    """0x7e + escaped(header + body + XOR check) + 0x7e, from the standard's definition."""
    data = hexb(unescaped_hex)
    raw = data + bytes([reduce(lambda a, b: a ^ b, data, 0)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def location_hex(serial: int, lat_u: int, lon_u: int, bcd_time: str, status: str = "00000003",
                 phone: str = TERMINAL) -> str:
    """A 0x0200 with the 2013 header (or 2019 when `phone` has 20 digits)."""
    body = f"00000000 {status} {lat_u:08x} {lon_u:08x} 0004 016d 005a {bcd_time}"
    if len(phone) == 20:
        return f"0200 401c 01 {phone} {serial:04x} {body}"
    return f"0200 001c {phone} {serial:04x} {body}"


def auth_2013(code: str = TERMINAL, serial: int = 1, phone: str = TERMINAL) -> bytes:
    raw = code.encode("ascii").hex()
    return frame(f"0102 {len(code):04x} {phone} {serial:04x} {raw}")


def unit_id(app, terminal: str = TERMINAL) -> int:  # noqa: ANN001
    with app.store.reader() as s:
        return s.scalar(select(UnitRow.id).where(UnitRow.terminal == terminal))


class Wire:
    """A raw JT/T 808 terminal: writes bytes, reads whole answer frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.buf = reader, writer, b""

    @classmethod
    async def open(cls, addr: tuple[str, int]) -> "Wire":
        return cls(*await asyncio.open_connection(*addr))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, timeout: float = 5.0) -> bytes:
        """The next frame from the platform, with its flags, as on the wire."""
        while True:
            start = self.buf.find(b"\x7e")
            end = self.buf.find(b"\x7e", start + 1) if start >= 0 else -1
            if end > start + 1:
                out, self.buf = self.buf[start:end + 1], self.buf[end + 1:]
                return out
            if end == start + 1:  # 7e 7e: the second flag opens the next frame
                self.buf = self.buf[end:]
                continue
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    async def ask(self, data: bytes) -> bytes:
        await self.send(data)
        return await self.answer()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def running_receiver(app, udp: bool = False, **kw):  # noqa: ANN001
    receiver = Receiver(app.store, app.clock, PositionWriter(app.store, max_delay_s=0.02), **kw)
    addrs = await receiver.start(("127.0.0.1", 0), ("127.0.0.1", 0) if udp else None)
    try:
        yield receiver, addrs
    finally:
        await receiver.close()
