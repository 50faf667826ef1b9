"""dispatch.read_ahead: an iterator run on a worker thread ahead of its reader."""
import sqlite3
import threading

import pytest

from dispatch.read_ahead import ReadAhead


def test_the_items_come_in_order_made_on_another_thread():
    made_on = []

    def make():
        made_on.append(threading.get_ident())
        yield from range(50)

    with ReadAhead(make, depth=2) as items:
        assert list(items) == list(range(50))
    assert made_on and made_on[0] != threading.get_ident()


def test_an_empty_iterator_ends_at_once():
    with ReadAhead(lambda: iter(())) as items:
        assert list(items) == []
        assert list(items) == []  # (and stays ended)


def test_an_error_of_the_worker_is_raised_where_the_reader_reads():
    def make():
        yield 1
        yield 2
        raise sqlite3.OperationalError("no such table: events")

    got = []
    with pytest.raises(sqlite3.OperationalError, match="events"):
        with ReadAhead(make) as items:
            for item in items:
                got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_the_worker_and_runs_the_generators_cleanup():
    cleaned, started = threading.Event(), threading.Event()

    def make():
        try:
            started.set()
            n = 0
            while True:
                yield n
                n += 1
        finally:
            cleaned.set()

    ahead = ReadAhead(make, depth=2)
    with ahead as items:
        assert next(items) == 0
        assert next(items) == 1
    assert started.is_set() and cleaned.is_set()
    assert not ahead._thread.is_alive()


def test_a_connection_bound_to_the_callers_thread_is_read_there():
    db = sqlite3.connect(":memory:")  # check_same_thread: only this thread may use it
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    threads = []

    def make():
        threads.append(threading.get_ident())
        for (x,) in db.execute("SELECT x FROM t ORDER BY x"):
            yield x

    with ReadAhead(make, inline_on=(sqlite3.ProgrammingError,)) as items:
        assert list(items) == [0, 1, 2, 3, 4]
    assert threads[-1] == threading.get_ident() and threads[0] != threading.get_ident()


def test_without_the_inline_error_named_it_is_raised():
    db = sqlite3.connect(":memory:")

    def make():
        yield from db.execute("SELECT 1")

    with pytest.raises(sqlite3.ProgrammingError):
        with ReadAhead(make) as items:
            list(items)
