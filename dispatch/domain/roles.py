"""Operator roles and what each may do. The services check these (not only the UI):
a refusal names the role needed, e.g. "需要值班长权限"."""
from __future__ import annotations

from enum import Enum

from dispatch.domain.errors import DispatchError


class Role(str, Enum):
    """The roles of a 110 centre; the value is how the command line spells it."""

    CALLTAKER = "calltaker"
    DISPATCHER = "dispatcher"
    LEAD = "lead"
    TRAINER = "trainer"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.CALLTAKER: "接警员", Role.DISPATCHER: "调度员", Role.LEAD: "值班长",
               Role.TRAINER: "培训师", Role.ADMIN: "管理员"}

# What a seat may do, by action. Incident and unit work is the floor's (call-taker,
# dispatcher, shift lead); a trainer does it only on a training copy (see check).
FLOOR = frozenset({Role.CALLTAKER, Role.DISPATCHER, Role.LEAD})
PERMISSIONS: dict[str, frozenset[Role]] = {
    "incident.write": FLOOR,          # take a call, locate, categorise, note, call back, 地名补录
    "unit.write": FLOOR,              # dispatch, unit status, positions
    "incident.close": FLOOR,          # 结警
    "place.confirm": frozenset({Role.LEAD, Role.ADMIN}),  # confirm a 地名补录
    "account.manage": frozenset({Role.ADMIN}),
    "incident.reopen": frozenset({Role.LEAD}),   # reopen a closed incident
    "incident.move": frozenset({Role.LEAD}),     # move an open incident to another seat
    "number.mark": frozenset({Role.LEAD}),       # mark a repeat / nuisance number
    "gazetteer.import": frozenset({Role.ADMIN}),  # load the national register, a city's data
    "calls.import": frozenset({Role.ADMIN}),      # another system's call log (history)
    "data.import": frozenset({Role.ADMIN}),       # a centre's own grids, stations and roster
}
# A trainer runs training copies and replay: the floor's work, but never on a live database.
TRAINING_ONLY = frozenset({"incident.write", "unit.write", "incident.close"})
ANONYMOUS = "anonymous"  # a database with accounts, nobody logged in: reads only


def parse_role(text: str) -> Role:
    """A role from its command-line spelling (calltaker …) or its Chinese name (接警员 …)."""
    value = (text or "").strip()
    for role in Role:
        if value in (role.value, role.label):
            return role
    names = "、".join(f"{r.value}（{r.label}）" for r in Role)
    raise DispatchError(f"未知的角色: {text!r}；可用角色: {names}")


def needed(action: str) -> str:
    """The roles that may do `action`, in Chinese: "值班长或管理员"."""
    return "或".join(r.label for r in Role if r in PERMISSIONS[action])


def check(role: str | None, action: str, training: bool) -> None:
    """Refuse `action` for `role` (DispatchError naming the role needed). A role of
    None is an in-process caller without a login layer (tests, simulator, a database
    without accounts): not checked here."""
    if role is None:
        return
    if role == ANONYMOUS:
        raise DispatchError("需要登录：请用 --user 账号名 运行，密码放在环境变量 DISPATCH_PASSWORD 中")
    r = parse_role(role)
    if r is Role.TRAINER and action in TRAINING_ONLY:
        if training:
            return
        raise DispatchError(f"培训师只能在培训副本（--training）或回放中操作；在实战数据库上需要{needed(action)}权限")
    if r not in PERMISSIONS[action]:
        raise DispatchError(f"需要{needed(action)}权限（当前账号为{r.label}）")
