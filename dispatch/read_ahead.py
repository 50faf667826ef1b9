"""An iterator run on a worker thread a few items ahead of its reader.

Reading a database in large statements (the replay log's aggregated chunks: see
dispatch.replay.log_read) spends much of its time inside SQLite, which lets go of the GIL
while a statement runs: on a worker thread that time overlaps the reader's parsing of the
previous item, on two cores. At most `depth` items wait (each may be megabytes of text).
(Tried for the gazetteer's build too: no gain measured, not used there.)

An iterator whose first item raises one of `inline_on` (sqlite3's connection bound to
the thread that made it) is made again and read on the caller's thread instead: the same
items in the same order. An error of the worker is raised in the reader, where it reads.
"""
from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_END = object()
_Self = TypeVar("_Self", bound="ReadAhead")


class ReadAhead:
    """`with ReadAhead(make) as items: for item in items: ...` — make() is called on the
    worker thread (so a connection it opens is that thread's); leaving the block early
    stops the worker before it returns."""

    def __init__(self, make: Callable[[], Iterator[Any]], depth: int = 2, name: str = "read-ahead",
                 inline_on: tuple[type[BaseException], ...] = ()) -> None:
        self._make, self._inline_on = make, inline_on
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._inline: Iterator[Any] | None = None
        self._done = False

    def __enter__(self: _Self) -> _Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # (drain: the worker may wait on a full queue)
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def __iter__(self) -> "ReadAhead":
        return self

    def __next__(self) -> Any:
        if self._inline is not None:
            return next(self._inline)
        if self._done:
            raise StopIteration
        what, value = self._queue.get()
        if what == "item":
            return value
        if what == "error":
            self._done = True
            raise value
        if what == "inline":
            self._thread.join()
            self._inline = self._make()
            return next(self._inline)
        self._done = True  # "end"
        raise StopIteration

    def _run(self) -> None:
        items: Iterator[Any] | None = None
        try:
            items = self._make()
            try:
                first = next(items, _END)
            except self._inline_on:  # bound to its thread: nothing read yet
                self._put(("inline", None))
                return
            if first is not _END:
                for item in itertools.chain((first,), items):
                    if not self._put(("item", item)):
                        return
            self._put(("end", None))
        except BaseException as exc:  # noqa: BLE001  (handed to the reader, raised there)
            self._put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator left early: its cleanup on this thread, now
                close()

    def _put(self, item: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False
