"""What every service needs (store, clock, who is acting) and what it returns."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from dispatch.domain import roles
from dispatch.domain.errors import DispatchError
from dispatch.services.clock import Clock
from dispatch.store import eventlog
from dispatch.store.db import Raced, Store, lock_appends

P = ParamSpec("P")
R = TypeVar("R")


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


def instant(ctx: Context, s: Session) -> datetime:
    """The one instant of the action in transaction `s`, shared by its events and the
    projections it writes: read from the clock once, holding the append lock (taken here
    when the transaction does not hold it yet), so instants follow the log order.

    A `lock_late` action (store.db.Store.transaction) reads what it decides on first and
    takes its instant after: on PostgreSQL the lock is held from here to the commit."""
    at = s.info.get(INSTANT)
    if at is None:
        lock_appends(s)
        at = s.info[INSTANT] = ctx.clock.now()
    return at


INSTANT = "action.instant"  # Session.info: the action's instant (services.context.instant)


def append_event(ctx: Context, s: Session, kind: str, incident_id: int | None = None,
                 unit_id: int | None = None, payload: dict[str, Any] | None = None,
                 at: datetime | None = None) -> int:
    """Append one event with the context's seat and operator. `at` is the action's
    instant (instant()), or a time of its own (an imported call's); without it, the
    action's instant."""
    row = eventlog.append(s, at=at or instant(ctx, s), seat=ctx.actor.seat, operator=ctx.actor.operator,
                          kind=kind, incident_id=incident_id, unit_id=unit_id, payload=payload)
    return row.id


RACE_ATTEMPTS = 3


def retried(action: Callable[P, R]) -> Callable[P, R]:
    """Run a `lock_late` action again when it raced (store.db.Raced: a row it read was
    written by another seat before it took the lock): at most RACE_ATTEMPTS runs, each
    deciding on what is there then; past that, the refusal naming who changed the row."""
    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(RACE_ATTEMPTS):
            try:
                return action(*args, **kwargs)
            except Raced as race:
                if attempt == RACE_ATTEMPTS - 1:
                    raise race.refusal() from None
        raise AssertionError("unreachable")
    return run
