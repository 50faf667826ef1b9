"""The events' payloads as read for replay (JSON bytes from SQLite, dicts from
PostgreSQL), kept so and decoded when needed: the fold decodes a chunk at a time and
drops the dicts once folded, a timeline decodes its incident's. A chunk of JSON bytes is
kept joined by commas, one object (a JSON array's inside) instead of one per payload:
about a quarter of the memory of the dicts, and decoded by one call. Once the fold has
decoded a chunk of bytes, the chunk is zlib-compressed (level 1: about a ninth of its
size) by a worker thread while the fold goes on (zlib lets go of the GIL, so on a
second core this costs the fold no time); a timeline's payload is read from its chunk
decompressed (the last one is kept). A week of 100,000 calls keeps ~11 MB of payloads
instead of ~100 MB."""
from __future__ import annotations

import json
import threading
import zlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

try:
    from orjson import JSONDecodeError as _JSONError, loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; json decodes the same, slower
    _loads, _JSONError = json.loads, ValueError  # type: ignore[assignment,misc]


class Payloads:
    """The payloads of events in log order, in chunks as read: `payload(k)` decodes the
    k-th, `chunks()` yields (start, end, dicts) for every chunk in order."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # index of each chunk's first event
        self._chunks: list[Any] = []  # joined bytes, or a list
        self._ends: list[np.ndarray | None] = []  # where each payload of joined bytes ends
        self._packed: list[bool] = []  # chunk zlib-compressed (see chunks)
        self._lock = threading.Lock()  # a chunk and its flag are swapped together
        self._unpacked: tuple[int, bytes] | None = None  # the last chunk decompressed
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, items: Sequence[Any]) -> None:
        n = len(items)
        if not n:
            return
        self._starts.append(self._n)
        self._n += n
        try:
            joined = b",".join(items)
        except TypeError:  # not all bytes (dicts, text): kept as they are
            self._chunks.append(list(items))
            self._ends.append(None)
            self._packed.append(False)
            return
        self._chunks.append(joined)
        self._ends.append(np.cumsum(np.fromiter(map(len, items), np.int64, n)) + np.arange(n))
        self._packed.append(False)

    def add_joined(self, joined: bytes, lengths: np.ndarray) -> None:
        """A chunk already joined by commas (as `add` joins it), with each payload's length
        in bytes."""
        n = len(lengths)
        if not n:
            return
        ends = np.cumsum(lengths, dtype=np.int64) + np.arange(n)
        if int(ends[-1]) != len(joined):
            raise ValueError("joined payloads do not match their lengths")
        self._starts.append(self._n)
        self._n += n
        self._chunks.append(joined)
        self._ends.append(ends)
        self._packed.append(False)

    def raw(self, k: int) -> Any:
        """The k-th payload as read."""
        if not 0 <= k < self._n:
            raise IndexError(k)
        c = bisect_right(self._starts, k) - 1
        ends, i = self._ends[c], k - self._starts[c]
        if ends is None:
            return self._chunks[c][i]
        return self._joined(c)[int(ends[i - 1]) + 1 if i else 0:int(ends[i])]

    def _joined(self, c: int) -> bytes:
        """Chunk c's joined bytes, decompressed if packed (the last one decompressed is kept)."""
        with self._lock:
            chunk, packed = self._chunks[c], self._packed[c]
        if not packed:
            return chunk
        last = self._unpacked
        if last is None or last[0] != c:
            last = self._unpacked = (c, zlib.decompress(chunk))
        return last[1]

    def _pack(self, c: int, joined: bytes) -> None:
        packed = zlib.compress(joined, 1)
        with self._lock:
            if self._chunks[c] is joined:
                self._chunks[c], self._packed[c] = packed, True

    def payload(self, k: int) -> dict:
        return decode_one(self.raw(k))

    def chunks(self) -> Iterator[tuple[int, int, list[dict]]]:
        """(start, end, dicts) of every chunk in order; each chunk of bytes is packed by a
        worker thread once the consumer asks for the next one (all are packed when this
        ends)."""
        worker: ThreadPoolExecutor | None = None
        try:
            for c, (start, ends) in enumerate(zip(self._starts, self._ends)):
                if ends is None:
                    dicts = decode_many(self._chunks[c])
                    yield start, start + len(dicts), dicts
                    continue
                joined = self._joined(c)
                dicts = decode_joined(joined)
                yield start, start + len(dicts), dicts
                if not self._packed[c]:
                    worker = worker or ThreadPoolExecutor(1, thread_name_prefix="replay-pack")
                    worker.submit(self._pack, c, joined)
        finally:
            if worker is not None:
                worker.shutdown(wait=True)


def decode_joined(joined: bytes) -> list[dict]:
    """Comma-joined JSON texts, decoded as one array (by json if orjson refuses: NaN)."""
    text = b"[" + joined + b"]"
    try:
        values = _loads(text)
    except _JSONError:
        values = json.loads(text)
    return [p or {} for p in values]


def decode_many(raw: Sequence) -> list[dict]:
    """JSON payloads: SQLite hands back text (bytes as replay reads it), PostgreSQL dicts.
    Text is decoded by orjson (about half the CPU of json's); anything it refuses (a dict
    already, NaN, which json.dumps may write) goes through `decode_one`. (orjson reads an
    integer beyond 64 bits as a float: no payload holds one, external ids are strings.)"""
    try:
        return [p or {} for p in map(_loads, raw)]
    except (_JSONError, TypeError):
        return [decode_one(p) for p in raw]


def decode_one(p: Any) -> dict:
    if not isinstance(p, (str, bytes)):
        return p or {}
    try:
        return _loads(p) or {}
    except _JSONError:
        return json.loads(p) or {}
