"""What every service needs (store, clock, who is acting) and what it returns."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dispatch.domain import roles
from dispatch.domain.errors import DispatchError
from dispatch.services.clock import Clock
from dispatch.store import eventlog
from dispatch.store.db import Store


@dataclass(frozen=True)
class Actor:
    """The seat and operator that events are recorded against. `role` is the
    authenticated operator's role (dispatch.domain.roles.Role value); None for an
    in-process caller without a login layer (tests, simulator, a database without
    accounts), whose actions are not role-checked."""

    seat: str
    operator: str
    role: str | None = None


@dataclass
class Context:
    store: Store
    clock: Clock
    actor: Actor
    read_only: bool = False
    grid_of: Callable[[float, float], str | None] | None = None  # point -> 网格 id
    training: bool = False  # a training copy: a trainer may write here


@dataclass(frozen=True)
class Changes:
    """What a service call changed: screens decide from it what to redraw."""

    incidents: frozenset[int] = frozenset()
    units: frozenset[int] = frozenset()
    last_event_id: int = 0
    incident_id: int | None = None  # the incident the call created or acted on
    event_ids: tuple[int, ...] = field(default=())


def ensure_writable(ctx: Context) -> None:
    """Replay and training views are read-only: refuse any write."""
    if ctx.read_only:
        raise DispatchError("回放/只读模式下不能修改警情")


def require(ctx: Context, action: str) -> None:
    """Refuse `action` (a dispatch.domain.roles.PERMISSIONS key) unless the actor's role
    may do it; the refusal names the role needed."""
    roles.check(ctx.actor.role, action, ctx.training)


def append_event(ctx: Context, s: Session, kind: str, incident_id: int | None = None,
                 unit_id: int | None = None, payload: dict[str, Any] | None = None,
                 at: datetime | None = None) -> int:
    """Append one event with the context's seat and operator. `at` is the one instant
    of the action, taken by the service inside its transaction (after the append lock,
    so instants follow the log order) and shared by the projections it writes; without
    it (an action whose only write is this event) the clock is read here."""
    row = eventlog.append(s, at=at or ctx.clock.now(), seat=ctx.actor.seat, operator=ctx.actor.operator,
                          kind=kind, incident_id=incident_id, unit_id=unit_id, payload=payload)
    return row.id
