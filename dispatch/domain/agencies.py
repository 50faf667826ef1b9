"""联动 partners a 110 centre notifies (119, 120, 122, 12345 and the utilities), how it
tells them, and the centres or departments a call can be transferred to (转警)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dispatch.domain.errors import DispatchError


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    label: str


AGENCIES: tuple[Agency, ...] = (
    Agency("119", "119 消防救援"),
    Agency("120", "120 急救中心"),
    Agency("122", "122 交警"),
    Agency("12345", "12345 政务服务热线"),
    Agency("gas", "燃气"),
    Agency("power", "供电"),
    Agency("water", "供水"),
    Agency("housing", "住建"),
)
AGENCY_BY_CODE = {a.code: a for a in AGENCIES}
_AGENCY_BY_NAME = {a.label: a for a in AGENCIES} | {a.label.split(" ")[-1]: a for a in AGENCIES}

# how the partner was told
METHODS: dict[str, str] = {"phone": "电话", "system": "系统", "radio": "对讲"}

# a notification not acknowledged within this many seconds is flagged for a reminder
ACK_REMINDER_S = 300


def agency(code_or_label: str) -> Agency:
    """Look a partner up by code ("119", "gas") or Chinese name ("燃气"); DispatchError if unknown."""
    key = (code_or_label or "").strip()
    a = AGENCY_BY_CODE.get(key) or _AGENCY_BY_NAME.get(key)
    if a is None:
        known = "、".join(x.label for x in AGENCIES)
        raise DispatchError(f"未知的联动单位「{key}」；可选：{known}")
    return a


def method(code_or_label: str) -> str:
    """The notification method as a code (phone/system/radio), from the code or 电话/系统/对讲."""
    key = (code_or_label or "").strip()
    if key in METHODS:
        return key
    for code, label in METHODS.items():
        if label == key:
            return code
    raise DispatchError(f"未知的通知方式「{key}」；可选：电话、系统、对讲")


def describe(kind: str, p: dict[str, Any]) -> str | None:
    """The timeline's line for a 联动, 转警 or carrier-location event; None for other kinds."""
    from dispatch.domain import events as ev
    ref = f"，对方编号 {p['reference']}" if p.get("reference") else ""
    if kind == ev.AGENCY_NOTIFIED:
        note = f"，{p['note']}" if p.get("note") else ""
        return f"联动通知 {p.get('label') or p.get('agency', '')}（{METHODS.get(p.get('method', ''), '')}）{ref}{note}"
    if kind == ev.AGENCY_ACKNOWLEDGED:
        a = AGENCY_BY_CODE.get(p.get("agency", ""))
        after = f"，通知后 {int(p['after_s'] // 60)} 分 {int(p['after_s'] % 60)} 秒" if p.get("after_s") is not None else ""
        return f"联动确认 {a.label if a else p.get('agency', '')}{ref}{after}"
    if kind == ev.INCIDENT_TRANSFERRED:
        return f"转警至 {p.get('to', '')}：{p.get('reason', '')}"
    if kind == ev.CALL_CARRIER_LOCATED:
        acc = p.get("accuracy_m")
        return "电话系统提供来电位置" + (f"，精度 ±{acc:.0f}米" if isinstance(acc, (int, float)) else "")
    return None
