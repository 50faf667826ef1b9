"""Accounts and logins: who may use the console, in which role.

A database is in one of three modes (`mode`):
- "none": no account at all. Nothing asks for a login; events carry the seat and
  operator from the settings, as before accounts existed. The first account must be
  an admin and needs no authentication.
- "demo": only the demo's `demo-<role>` accounts (password `demo`, published in the
  README). A login protects nothing there, so headless commands without --user keep
  today's behaviour too; the console still asks (pre-filled with demo-calltaker) and
  adding an account needs the demo admin.
- "accounts": any other account exists. Every writing action needs a login (the
  console's dialog, or --user with DISPATCH_PASSWORD headless); the services refuse
  an anonymous actor.
"""
from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import inspect, select

from dispatch.domain import events as ev
from dispatch.domain.decide import decide_handover
from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.domain.roles import Role, parse_role
from dispatch.services.context import Actor, Changes, Context, append_event, ensure_writable, instant, require
from dispatch.services.projection_rows import IncidentProjection, record
from dispatch.store import accounts as table
from dispatch.store.db import Store
from dispatch.store.schema import IncidentRow

DEMO_PASSWORD = "demo"
DEMO_PREFIX = "demo-"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def demo_name(role: Role) -> str:
    return f"{DEMO_PREFIX}{role.value}"


def mode(store: Store) -> str:
    """"none", "demo" or "accounts" (see the module docstring). A database not yet
    migrated to accounts (opened read-only) counts as "none"."""
    if not inspect(store.engine).has_table("accounts"):
        return "none"
    with store.reader() as s:
        if table.count(s, demo=False):
            return "accounts"
        return "demo" if table.count(s, demo=True) else "none"


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 64:
        raise DispatchError("账号名应为 1 到 64 个字符")
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in name):
        raise DispatchError(f"账号名不能含空格或控制字符: {name!r}")
    return name


def add_account(ctx: Context, name: str, role: str, password: str) -> Changes:
    """Add an account (event account.added, without the hash). Only an admin may; on a
    database without any account the first one, which must be an admin, needs nobody."""
    ensure_writable(ctx)
    name, r = check_name(name), parse_role(role)
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise DispatchError(f"密码长度应为 {MIN_PASSWORD} 到 {MAX_PASSWORD} 个字符")
    hashed = table.hash_password(password)  # ~50 ms of scrypt: not while holding the append lock
    with ctx.store.transaction(appends=True) as s:
        first = not table.count(s)
        if not first:
            if ctx.actor.role != Role.ADMIN.value:
                require(ctx, "account.manage")  # names the role needed (anonymous: log in)
                raise DispatchError("需要管理员权限：请用 --user 管理员账号 运行（密码放在 DISPATCH_PASSWORD 中）")
        elif r is not Role.ADMIN:
            raise DispatchError("数据库还没有账号：第一个账号必须是管理员（--role admin）")
        if table.get(s, name) is not None:
            raise DispatchError(f"账号 {name} 已存在")
        now = instant(ctx, s)
        table.add(s, name, r.value, hashed, now)
        by = replace(ctx, actor=Actor(ctx.actor.seat, name, r.value)) if first else ctx  # the first admin adds itself
        eid = append_event(by, s, ev.ACCOUNT_ADDED, at=now, payload={"name": name, "role": r.value})
    return Changes(last_event_id=eid, event_ids=(eid,))


def create_demo_accounts(store: Store, at: datetime) -> None:
    """The demo's accounts: one per role, `demo-<role>`, password `demo`."""
    hashed = {role: table.hash_password(DEMO_PASSWORD) for role in Role}  # each with its own salt
    with store.transaction() as s:
        for role in Role:
            if table.get(s, demo_name(role)) is None:
                table.add(s, demo_name(role), role.value, hashed[role], at, demo=True)


def authenticate(store: Store, seat: str, name: str, password: str) -> Actor:
    """The actor for a login at `seat`: DispatchError "账号或密码错误" when the name is
    unknown or the password wrong (the same message and about the same time for both)."""
    name = (name or "").strip()
    with store.reader() as s:
        row = table.get(s, name) if name and inspect(store.engine).has_table("accounts") else None
        stored, role = (row.password_hash, row.role) if row is not None else (None, None)
    if stored is None:
        table.burn_time(password or "")
        raise DispatchError("账号或密码错误")
    if not table.verify_password(password or "", stored):
        raise DispatchError("账号或密码错误")
    return Actor(seat, name, role)


def _utc(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def list_accounts(store: Store) -> list[dict[str, Any]]:
    """Every account: name, role, its Chinese label, created_at (UTC), demo. No hashes."""
    if not inspect(store.engine).has_table("accounts"):
        return []
    with store.reader() as s:
        return [{"name": r.name, "role": r.role, "role_label": parse_role(r.role).label,
                 "created_at": _utc(r.created_at), "demo": bool(r.demo)}
                for r in table.all_accounts(s)]


def demo_login(store: Store) -> tuple[str, str] | None:
    """The login the console offers when the demo's call-taker account exists."""
    if not inspect(store.engine).has_table("accounts"):
        return None
    name = demo_name(Role.CALLTAKER)
    with store.reader() as s:
        row = table.get(s, name)
        return (name, DEMO_PASSWORD) if row is not None and row.demo else None


def take_over(ctx: Context, outgoing: str) -> Changes:
    """交接班: the open incidents of operator `outgoing` pass to the one now logged in
    (ctx.actor, at its seat), one incident.handed_over event each, in one transaction.
    The incoming operator must be one who takes incidents (checked like any write)."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    incoming = ctx.actor
    if not outgoing or outgoing == incoming.operator:
        return Changes()
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        rows = s.scalars(select(IncidentRow).where(IncidentRow.operator == outgoing,
                                                   IncidentRow.status != IncidentStatus.CLOSED.value)
                         .order_by(IncidentRow.id)).all()
        incidents = [IncidentProjection(s, r) for r in rows]
        drafts = decide_handover([p.state for p in incidents], outgoing, incoming.operator, incoming.seat)
        ids = record(ctx, s, now, drafts, incidents)
        return Changes(incidents=frozenset(r.id for r in rows), last_event_id=ids[-1] if ids else 0,
                       event_ids=tuple(ids))
