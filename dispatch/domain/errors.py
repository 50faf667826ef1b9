"""Errors the core raises for the user. Their messages are shown as they are, in the
console and on the command line, so they are written in Simplified Chinese."""


class DispatchError(Exception):
    """A refused request: bad input, an illegal move, a missing record. Nothing was written."""


class IllegalTransition(DispatchError):
    """A status change the state machine does not allow."""


class ConcurrentChange(DispatchError):
    """Another seat changed the same record first (optimistic version check failed)."""


class StoreUnavailable(DispatchError):
    """The database cannot be written: read-only, locked or unreachable."""
