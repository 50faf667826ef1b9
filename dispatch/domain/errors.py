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


def reason_in_chinese(message: str, reasons: tuple[tuple[str, str], ...], default: str,
                      prefix: bool = False) -> str:
    """A library's English reason said in Chinese: the text of the first (key, text) of
    `reasons` whose key is in the lower-cased message (or starts it, with `prefix`)."""
    low = message.lower()
    return next((text for key, text in reasons if (low.startswith(key) if prefix else key in low)), default)
