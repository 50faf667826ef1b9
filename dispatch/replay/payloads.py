"""The events' payloads as read for replay (JSON bytes from SQLite, dicts from
PostgreSQL), kept so and decoded when needed: the fold decodes a chunk at a time and
drops the dicts once folded, a timeline decodes its incident's. A chunk of JSON bytes is
kept joined by commas, one object (a JSON array's inside) instead of one per payload:
about a quarter of the memory of the dicts, and decoded by one call."""
from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator, Sequence
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
            return
        self._chunks.append(joined)
        self._ends.append(np.cumsum(np.fromiter(map(len, items), np.int64, n)) + np.arange(n))

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

    def raw(self, k: int) -> Any:
        """The k-th payload as read."""
        if not 0 <= k < self._n:
            raise IndexError(k)
        c = bisect_right(self._starts, k) - 1
        ends, i = self._ends[c], k - self._starts[c]
        if ends is None:
            return self._chunks[c][i]
        return self._chunks[c][int(ends[i - 1]) + 1 if i else 0:int(ends[i])]

    def payload(self, k: int) -> dict:
        return decode_one(self.raw(k))

    def chunks(self) -> Iterator[tuple[int, int, list[dict]]]:
        for start, chunk, ends in zip(self._starts, self._chunks, self._ends):
            dicts = decode_many(chunk) if ends is None else decode_joined(chunk)
            yield start, start + len(dicts), dicts


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
