"""Decide: may a command happen in the current state, and which events does it produce.

Each function takes the state (an incident state dict as domain.evolve keeps it, units as
UnitFacts) and the command's arguments, checks them against the state machines
(domain.incidents, domain.units) and returns the events to append, as Drafts, or raises
DispatchError with the message the seat sees. Every incident status change the events
would make is checked against INCIDENT_MOVES (`_checked`). Pure: no clock, no database —
the services read the state, decide, append and evolve in one transaction.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dispatch.domain import events as ev
from dispatch.domain.text_input import clean_text
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import RELEASED_ON_CLOSE, IncidentState, Payload, evolve_incident
from dispatch.domain.incidents import RESULT_CODES, IncidentStatus, Priority, category, check_incident_move
from dispatch.domain.units import UnitStatus, check_unit_move

# A caller number: none (withheld), or digits with the separators people write (+86 138-1234-5678,
# (021) 6321 0000), at least three digits (110, 12345): "-1", "()" or "+" alone are no number.
PHONE = re.compile(r"^$|^(?=(?:[^0-9]*[0-9]){3})[0-9+\-() ]{3,32}$")
MAX_TO, MAX_REASON = 64, 200


@dataclass(frozen=True, slots=True)
class Draft:
    """An event to append: its kind, subjects and payload (seat, operator, time are the
    service's)."""

    kind: str
    incident_id: int | None = None
    unit_id: int | None = None
    payload: Payload = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnitFacts:
    """What deciding needs of a unit."""

    id: int
    callsign: str
    status: UnitStatus
    incident_id: int | None = None


def _open(inc: IncidentState, closed_message: str = "") -> None:
    if inc["status"] is IncidentStatus.CLOSED:
        raise DispatchError(closed_message or f"警情 {inc['id']} 已结警，不能再修改")


def _checked(inc: IncidentState, drafts: list[Draft]) -> list[Draft]:
    """The drafts, after checking every status change they make to `inc` (on a copy)."""
    trial = dict(inc)
    for d in drafts:
        if d.incident_id != inc["id"]:
            continue
        before = trial["status"]
        evolve_incident(trial, d.kind, None, d.unit_id, d.payload)
        if trial["status"] is not before:
            check_incident_move(inc["id"], before, trial["status"])
    return drafts


def check_phone(number: str) -> str:
    number = number.strip()
    if not PHONE.match(number):
        raise DispatchError(f"来电号码格式不正确:「{number}」（至少 3 位数字，只能含数字、空格和 + - ( )）")
    return number


def decide_open_call(caller_number: str, caller_name: str) -> Draft:
    """接警: the call.received event (its incident id is the new row's)."""
    number = check_phone(caller_number)
    return Draft(ev.CALL_RECEIVED, payload={"caller_number": number, "caller_name": caller_name_of(caller_name)})


MAX_NAME = 64         # the caller's name (the column's width)
MAX_NARRATIVE = 2000  # a narrative or a note: a page of the report, not a paste of a file


def caller_name_of(name: str) -> str:
    return clean_text(name, "报警人姓名", limit=MAX_NAME, single_line=True)


def decide_update_caller(inc: IncidentState, caller_number: str, caller_name: str) -> list[Draft]:
    number = check_phone(caller_number)
    _open(inc)
    return [Draft(ev.INCIDENT_NOTED, inc["id"], payload={"caller_number": number,
                                                         "caller_name": caller_name_of(caller_name)})]


MAX_PLACE = 200  # what the call-taker typed for the place, and the place's name: one line


def decide_locate(inc: IncidentState, payload: Payload) -> list[Draft]:
    """定位: `payload` is the validated location's (services.locations.Location.payload);
    the typed text and the name are one line each, without invisible characters, at most
    MAX_PLACE characters (refused beyond, naming the field)."""
    _open(inc)
    payload = {**payload, "text": clean_text(payload.get("text", ""), "报警地点", limit=MAX_PLACE, single_line=True),
               "name": clean_text(payload.get("name", ""), "地点名称", limit=MAX_PLACE, single_line=True)}
    return [Draft(ev.INCIDENT_LOCATED, inc["id"], payload=payload)]


def parse_priority(priority: str | None, urgent: bool) -> Priority:
    if priority is None:
        return Priority.URGENT if urgent else Priority.NORMAL
    if priority in ("urgent", "normal"):
        return Priority(priority)
    try:
        return {"紧急": Priority.URGENT, "非紧急": Priority.NORMAL}[priority]
    except KeyError:
        raise DispatchError(f"未知的优先级: {priority}") from None


def decide_categorise(inc: IncidentState, category_code: str, priority: str | None = None,
                      narrative: str | None = None) -> list[Draft]:
    """定性: category, priority (default from the category) and the narrative."""
    cat = category(category_code)
    prio = parse_priority(priority, cat.urgent)
    _open(inc)
    text = clean_text(narrative, "简要警情", limit=MAX_NARRATIVE) if narrative is not None else inc["narrative"]
    return [Draft(ev.INCIDENT_CATEGORISED, inc["id"], payload={
        "category": cat.code, "label": cat.label, "priority": prio.value, "narrative": text})]


def decide_note(inc: IncidentState, text: str) -> list[Draft]:
    note = clean_text(text, "补充内容", limit=MAX_NARRATIVE)
    if not note:
        raise DispatchError("补充内容不能为空")
    _open(inc)
    return [Draft(ev.INCIDENT_NOTED, inc["id"], payload={"note": note})]


def decide_dispatch(inc: IncidentState, units: Sequence[UnitFacts],
                    estimates: dict[int, tuple[float, float]] | None = None) -> list[Draft]:
    """派警: available units to an open, located incident."""
    if not units:
        raise DispatchError("请选择要派出的警力")
    if len({u.id for u in units}) != len(units):
        raise DispatchError("同一警力不能重复派出")
    _open(inc)
    if inc["lon"] is None:
        raise DispatchError(f"警情 {inc['id']} 尚未定位，请先确定地点再派警")
    estimates = estimates or {}
    out = []
    for u in units:
        if u.status is not UnitStatus.AVAILABLE:
            where = f"（已派往警情 {u.incident_id}）" if u.incident_id else ""
            raise DispatchError(f"{u.callsign} 当前为「{u.status.label}」{where}，不能派出")
        check_unit_move(u.callsign, UnitStatus.AVAILABLE, UnitStatus.DISPATCHED)
        eta, meters = estimates.get(u.id, (None, None))
        out.append(Draft(ev.UNIT_DISPATCHED, inc["id"], u.id, {
            "callsign": u.callsign, "from": UnitStatus.AVAILABLE.value, "eta_s": eta, "route_m": meters}))
    return _checked(inc, out)


def parse_unit_status(target: UnitStatus | str) -> UnitStatus:
    try:
        return UnitStatus(target)
    except ValueError:
        raise DispatchError(f"未知的警力状态: {target}") from None


def decide_unit_status(unit: UnitFacts, target: UnitStatus | str, note: str = "",
                       inc: IncidentState | None = None, fix: Payload | None = None) -> list[Draft]:
    """A unit's status move; `inc` is the incident of its open assignment (if any); `fix`:
    the position fix that triggered a confirmed 到场 suggestion (kept in the payload)."""
    target = parse_unit_status(target)
    if target is UnitStatus.DISPATCHED:
        raise DispatchError("「已派」只能通过派警产生")
    check_unit_move(unit.callsign, unit.status, target)
    kind = ev.UNIT_ACKNOWLEDGED if target is UnitStatus.ACKNOWLEDGED else ev.UNIT_STATUS
    payload = {"from": unit.status.value, "to": target.value, "callsign": unit.callsign}
    note = clean_text(note, "状态说明", limit=MAX_REASON)
    if note:
        payload["note"] = note
    if fix is not None:
        if target is not UnitStatus.ON_SCENE:
            raise DispatchError("定位到场提示只用于「到场」")
        payload["fix"] = fix
    drafts = [Draft(kind, unit.incident_id, unit.id, payload)]
    return _checked(inc, drafts) if inc is not None else drafts


def result_code(text: str) -> str:
    code = text if text in RESULT_CODES else {v: k for k, v in RESULT_CODES.items()}.get(text)
    if code is None:
        raise DispatchError(f"未知的结警结果: {text}")
    return code


def close_drafts(inc: IncidentState, code: str, note: str, units: dict[int, UnitStatus], extra: Payload | None) -> list[Draft]:
    """The units still assigned released (结警释放), then incident.closed (with `extra`
    in its payload); `units` maps each unit still assigned to its status."""
    check_incident_move(inc["id"], inc["status"], IncidentStatus.CLOSED)
    out = [Draft(ev.UNIT_STATUS, inc["id"], a.unit_id, {
        "from": units[a.unit_id].value, "to": UnitStatus.AVAILABLE.value, "reason": RELEASED_ON_CLOSE})
        for a in inc["assignments"] if a.cleared_at is None]
    out.append(Draft(ev.INCIDENT_CLOSED, inc["id"], payload={
        "result_code": code, "result": RESULT_CODES[code], "note": note} | (extra or {})))
    return out


def decide_close(inc: IncidentState, result: str, note: str, units: dict[int, UnitStatus]) -> list[Draft]:
    """结警: `units` maps each unit still assigned to its status."""
    return close_drafts(inc, result_code(result), clean_text(note, "结警说明", limit=MAX_NARRATIVE), units, None)


def decide_transfer(inc: IncidentState, to: str, reason: str, units: dict[int, UnitStatus]) -> list[Draft]:
    """转警: incident.transferred, then closed as 转办 (units released)."""
    to, reason = transfer_fields(to, reason)
    _open(inc, f"警情 {inc['id']} 已结警，不能再转警")
    return [Draft(ev.INCIDENT_TRANSFERRED, inc["id"], payload={"to": to, "reason": reason})] + \
        close_drafts(inc, "transferred", f"转至{to}：{reason}", units, {"to": to})


def transfer_fields(to: str, reason: str) -> tuple[str, str]:
    """转警's where-to (one line) and why, cleaned as all typed text (clean_text); refused
    when empty or too long."""
    to = clean_text(to, "转往单位", limit=MAX_TO, single_line=True)
    if not to:
        raise DispatchError("请填写转往的单位（其他接警中心或部门）")
    reason = clean_text(reason, "转警原因", limit=MAX_REASON)
    if not reason:
        raise DispatchError("请填写转警原因")
    return to, reason


def decide_callback(inc: IncidentState, satisfied: bool, note: str = "") -> list[Draft]:
    if inc["status"] is not IncidentStatus.CLOSED:
        raise DispatchError(f"警情 {inc['id']} 尚未结警，不能回访")
    return [Draft(ev.CALLBACK_DONE, inc["id"], payload={"satisfied": bool(satisfied),
                                                        "note": clean_text(note, "回访情况", limit=MAX_NARRATIVE)})]


def decide_handover(incidents: Sequence[IncidentState], outgoing: str, incoming: str, seat: str) -> list[Draft]:
    """交接班: each open incident of `outgoing` passes to `incoming` at `seat`."""
    if not outgoing or outgoing == incoming:
        return []
    return [Draft(ev.INCIDENT_HANDED_OVER, i["id"], payload={"from": outgoing, "to": incoming, "seat": seat})
            for i in incidents if i["status"] is not IncidentStatus.CLOSED and i["operator"] == outgoing]


def decide_reopen(inc: IncidentState, reason: str, previous_closed_at: str | None) -> list[Draft]:
    """重新打开 (值班长): only a closed incident; `reason` already checked by the service."""
    if inc["status"] is not IncidentStatus.CLOSED:
        raise DispatchError(f"警情 {inc['id']} 当前为「{inc['status'].label}」，只有已结警的警情才能重新打开")
    return [Draft(ev.INCIDENT_REOPENED, inc["id"], payload={
        "reason": reason, "previous_result": inc["result_code"] or "", "previous_closed_at": previous_closed_at})]


def decide_move(inc: IncidentState, to_seat: str, to_operator: str, reason: str) -> list[Draft]:
    """改派席位 (值班长): an open incident to another seat; `to_operator` is the one the log
    last saw acting on that seat ("" keeps the incident's operator)."""
    _open(inc, f"警情 {inc['id']} 已结警，不能改派席位（如需继续处理请先重新打开）")
    if to_seat == inc["seat"]:
        raise DispatchError(f"警情 {inc['id']} 已在{to_seat}，无需改派")
    return [Draft(ev.INCIDENT_MOVED, inc["id"], payload={
        "from_seat": inc["seat"], "to_seat": to_seat, "to_operator": to_operator, "reason": reason})]
