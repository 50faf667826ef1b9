"""10,000 random and mutated JT/T 808 frames over one real TCP connection (and mutated
JSON lines over UDP): the receiver keeps answering good frames on that connection and
on new ones, counts the faults, and logs at most once a minute per terminal."""
from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from functools import reduce

from tests.integration.avl_support import (PHONE_2019, TERMINAL, Wire, auth_2013, frame, hexb,
                                           location_hex, running_receiver)

LAT, LON = 31230416, 121473701

SEEDS = [
    location_hex(7, LAT, LON, "261123120005"),
    location_hex(8, LAT, LON, "261123120006", phone=PHONE_2019),
    "0002 0000 310101000001 0009",
    "0102 000c 310101000001 000a " + TERMINAL.encode().hex(),
    "0704 003f 310101000001 000b 0002 01 001c 00000000 00000003 01dc89d0 073d8aa5 0004 016d 005a 261123120000"
    " 001c 00000000 00000003 01dc8a9a 073d8b6f 0004 016d 005a 261123120010",
    "0100 0025 310101000001 000c 001f 0065 4142434445" + " 00" * 20 + " 00" * 7 + " 01",
]


def _seal(data: bytes) -> bytes:
    """Check code and escaping over mutated content, so the body parsers see it too."""
    raw = data + bytes([reduce(lambda a, b: a ^ b, data, 0)])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def _mutant(rng: random.Random) -> bytes:
    seed = hexb(rng.choice(SEEDS))
    op = rng.randrange(9)
    data = bytearray(seed)
    if op == 0:  # random bytes, any length, sometimes far longer than a frame may be
        n = rng.choice((rng.randrange(0, 40), rng.randrange(40, 600), rng.randrange(2100, 5000)))
        return bytes(rng.randrange(256) for _ in range(n))
    if op == 1:  # flip bytes, check code left as it was
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return frame(data.hex())[:-2] + bytes([rng.randrange(256)]) + b"\x7e"
    if op == 2:  # flip bytes and recompute the check code: the parsers get the garbage
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return _seal(bytes(data))
    if op == 3:  # truncated, sealed
        return _seal(bytes(data[:rng.randrange(len(data))]))
    if op == 4:  # a stray escape byte in the middle
        wire = bytearray(frame(data.hex()))
        wire.insert(rng.randrange(1, len(wire) - 1), 0x7D)
        return bytes(wire)
    if op == 5:  # a flag in the middle: two broken halves
        wire = bytearray(frame(data.hex()))
        wire.insert(rng.randrange(1, len(wire) - 1), 0x7E)
        return bytes(wire)
    if op == 6:  # body length field lies
        data[2:4] = rng.randrange(0x10000).to_bytes(2, "big")
        return _seal(bytes(data))
    if op == 7:  # extra bytes after the body
        return _seal(bytes(data) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30))))
    return frame(data.hex())[:rng.randrange(1, len(data))]  # cut off mid-frame, no closing flag


def test_ten_thousand_bad_frames_never_stop_the_receiver(app, caplog):
    rng = random.Random(20261130)
    mutants = [_mutant(rng) for _ in range(10_000)]
    json_mutants = []
    for _ in range(2_000):
        d = {"terminal": TERMINAL, "code": TERMINAL, "lon": 121.48, "lat": 31.23, "at": "2026-11-23T12:00:00+08:00"}
        key = rng.choice(list(d) + ["crs", "speed_kmh"])
        d[key] = rng.choice([None, "", "x" * 300, -1e308, float("nan"), [], {}, True, 10 ** 30, "gcj02"])
        text = json.dumps(d)
        if rng.random() < 0.3:
            cut = rng.randrange(len(text))
            text = text[:cut] + chr(rng.randrange(32, 0x3000)) + text[cut + 1:]
        json_mutants.append(text.encode("utf-8", errors="replace"))

    async def go():
        async with running_receiver(app, udp=True) as (receiver, addrs):
            w = await Wire.open(addrs["jt808"])
            assert (await w.ask(auth_2013()))[-3] == 0
            received = bytearray()

            async def drain_answers():
                while chunk := await w.reader.read(65536):
                    received.extend(chunk)

            reader = asyncio.create_task(drain_answers())
            stream = b"".join(mutants)
            pos = 0
            while pos < len(stream):  # random TCP segment sizes
                step = rng.randrange(1, 4096)
                w.writer.write(stream[pos:pos + step])
                pos += step
                await w.writer.drain()
            # resynchronise and ask once more: a heartbeat with serial beef
            w.writer.write(b"\x7e" + frame("0002 0000 310101000001 beef"))
            await w.writer.drain()
            for _ in range(500):
                if hexb("beef 0002 00") in received:
                    break
                await asyncio.sleep(0.01)
            assert hexb("beef 0002 00") in received, "no answer to a good frame after the fuzz"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for i, line in enumerate(json_mutants):
                    s.sendto(line, addrs["udp"])
                    if i % 20 == 19:  # let the receiver read: a burst overflows the socket buffer
                        await asyncio.sleep(0.001)
            for _ in range(200):
                if receiver.stats["json_lines"] >= len(json_mutants):
                    break
                await asyncio.sleep(0.01)
            # a fresh connection is served as well
            w2 = await Wire.open(addrs["jt808"])
            assert (await w2.ask(auth_2013()))[-3] == 0
            await w2.close()
            reader.cancel()
            await w.close()
            await asyncio.sleep(0.05)
            return dict(receiver.stats)

    with caplog.at_level(logging.WARNING, logger="dispatch.avl"):
        stats = asyncio.run(go())
    assert stats["frames"] >= 10_000
    faults = sum(v for k, v in stats.items() if k not in ("frames", "fixes", "connections", "authenticated",
                                                            "json_lines"))
    assert faults > 5_000
    assert stats["json_lines"] >= 1_900  # UDP may drop a few datagrams under load
    assert stats["bad_checksum"] > 0 and stats["bad_escape"] > 0 and stats["oversized"] > 0
    # one log line a minute per terminal: the clock does not move in this test
    assert sum(f"终端={TERMINAL} " in r.getMessage() for r in caplog.records) == 1
