"""Further `act` operations (see dispatch.commands.act)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def ops(app: Any) -> dict[str, Callable[[dict], dict]]:
    return {}
