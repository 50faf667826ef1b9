"""Handing the C heap's free pages back to the system after a large build (the geocoder's
index, a replay load): glibc keeps freed memory otherwise, tens of megabytes resident
for nothing."""
from __future__ import annotations

import ctypes


def release_free_memory() -> None:
    """glibc's malloc_trim(0); nothing elsewhere. Call it outside a GC-disabled stretch's
    end (or after gc.freeze): its ctypes objects may set off the collection the disabled
    stretch postponed, which walks every object made meanwhile."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return
    trim(0)
