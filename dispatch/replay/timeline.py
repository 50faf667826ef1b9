"""The timeline of one incident: every event with time, seat, operator and what, and
the intervals that matter (接警→派警, 派警→签收, 派警→到场, 到场→结警) against the targets."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.domain import events as ev
from dispatch.domain.events import Event
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES
from dispatch.domain.units import UnitStatus
from dispatch.services.queries import IncidentView
from dispatch.settings import Targets

INTERVALS = ("接警→派警", "派警→签收", "派警→到场", "到场→结警")
SUBURB_SUFFIXES = ("镇", "乡", "村")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime          # UTC
    seat: str
    operator: str
    kind: str
    what: str             # 派警, 签收, ... (Chinese label of the kind)
    detail: str           # what happened, in words
    unit_id: int | None
    event_id: int


@dataclass(frozen=True)
class Interval:
    name: str
    start: datetime | None
    end: datetime | None
    target_s: float | None

    @property
    def seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()

    @property
    def met(self) -> bool | None:
        """True/False against the target; None when there is no target or no end yet."""
        s = self.seconds
        return None if s is None or self.target_s is None else s <= self.target_s


@dataclass(frozen=True)
class IncidentTimeline:
    incident_id: int
    entries: list[TimelineEntry]
    intervals: list[Interval]


def is_suburb(view: IncidentView) -> bool:
    """城郊 when the place's administrative path names a town, township or village."""
    return any(str(a).endswith(SUBURB_SUFFIXES) for a in (view.place_admin or []))


def intervals(view: IncidentView, targets: Targets, ack_target_s: float = 60.0,
              suburb: bool | None = None) -> list[Interval]:
    """The four intervals of an incident (from its first dispatch and first arrival)."""
    suburb = is_suburb(view) if suburb is None else suburb
    first = min(view.assignments, key=lambda a: a.dispatched_at, default=None)
    dispatched = first.dispatched_at if first else None
    acked = first.acknowledged_at if first else None
    arrivals = [a.arrived_at for a in view.assignments if a.arrived_at is not None]
    arrived = min(arrivals) if arrivals else None
    arrival_target = targets.arrival_suburb_s if suburb else targets.arrival_city_s
    return [Interval(INTERVALS[0], view.received_at, dispatched, targets.dispatch_s),
            Interval(INTERVALS[1], dispatched, acked, ack_target_s),
            Interval(INTERVALS[2], dispatched, arrived, arrival_target),
            Interval(INTERVALS[3], arrived, view.closed_at if arrived else None, None)]


def minutes_seconds(seconds: float) -> str:
    """A travel time as a call-taker reads it: 28分19秒, 45秒."""
    s = max(0, round(seconds))
    return f"{s // 60}分{s % 60:02d}秒" if s >= 60 else f"{s}秒"


def describe(e: Event, callsigns: Mapping[int, str] | None = None) -> str:
    """One line in Chinese saying what an event did; units by callsign (from the payload,
    else from `callsigns`), never by database id."""
    p = e.payload or {}
    callsign = p.get("callsign") or (callsigns or {}).get(e.unit_id or -1) or "警力"
    if e.kind == ev.CALL_RECEIVED:
        return f"来电 {p.get('caller_number') or '未知号码'} {p.get('caller_name', '')}".strip()
    if e.kind == ev.INCIDENT_LOCATED:
        return f"地点：{p.get('name', '')}" + (f"（输入“{p['text']}”）" if p.get("text") else "")
    if e.kind == ev.INCIDENT_CATEGORISED:
        cat = CATEGORY_BY_CODE.get(p.get("category", ""))
        prio = "紧急" if p.get("priority") == "urgent" else "非紧急"
        line = f"{cat.label if cat else p.get('category', '')}，{prio}"
        return _with(line, _one_line(p.get("narrative") or "", NARRATIVE_SHOWN))
    if e.kind == ev.UNIT_RECOMMENDED:
        ranked = p.get("ranked") or []
        return "推荐：" + "、".join(f"{r.get('callsign')}({minutes_seconds(r.get('eta_s') or 0)})" for r in ranked[:5])
    if e.kind == ev.UNIT_DISPATCHED:
        eta = p.get("eta_s")
        return f"派出 {callsign}" + (f"，预计 {minutes_seconds(eta)}到达" if eta else "")
    if e.kind in (ev.UNIT_ACKNOWLEDGED, ev.UNIT_STATUS):
        to = p.get("to")
        label = UnitStatus(to).label if to in UnitStatus._value2member_map_ else str(to)
        reason = f"（{p['reason']}）" if p.get("reason") else ""
        fix = f"，{describe_fix(p['fix'])}" if isinstance(p.get("fix"), dict) else ""
        return f"{callsign} → {label}{reason}{fix}"
    if e.kind == ev.INCIDENT_CLOSED:
        code = p.get("result_code", "")
        return f"结警：{RESULT_CODES.get(code, code)}" + (f"，{p['note']}" if p.get("note") else "")
    if e.kind == ev.INCIDENT_NOTED:
        return p.get("note") or f"更正来电信息 {p.get('caller_number', '')} {p.get('caller_name', '')}".strip()
    if e.kind == ev.CALLBACK_DONE:
        return "回访：" + ("满意" if p.get("satisfied") else "不满意") + (f"，{p['note']}" if p.get("note") else "")
    case = _describe_case(e.kind, p)
    if case is not None:
        return case
    from dispatch.domain.agencies import describe as describe_joint  # 联动, 转警, carrier location
    return describe_joint(e.kind, p) or str(p)


def describe_fix(fix: Mapping) -> str:
    """The fix of a confirmed 到场 suggestion (a unit.status event's `fix`) in words."""
    return (f"定位到场提示：定位 {fix.get('lon') or 0:.6f},{fix.get('lat') or 0:.6f} 时间 {fix.get('at') or '未知'} "
            f"来源 {fix.get('source', '')} 距警情 {fix.get('metres') or 0:.0f}米")


NARRATIVE_SHOWN = 40  # characters of a 定性's narrative shown on its timeline line


def _one_line(text: str, limit: int) -> str:
    """`text` on one line (runs of whitespace as one space), cut to `limit` characters with …."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _with(text: str, extra: object) -> str:
    return f"{text}：{extra}" if extra else text


def _describe_case(kind: str, p: Mapping) -> str | None:
    """Lead actions, repeated calls, 反诈 止付 and 矛盾纠纷 referrals."""
    if kind == ev.INCIDENT_REOPENED:
        return _with("重新打开", p.get("reason"))
    if kind == ev.INCIDENT_MOVED:
        return _with(f"改派席位 {p.get('from_seat', '')} → {p.get('to_seat', '')}", p.get("reason"))
    if kind == ev.CALL_LINKED:
        return _with(f"关联到警情 {p.get('to_incident')}", p.get("reason"))
    if kind == ev.CALL_UNLINKED:
        return _with(f"取消与警情 {p.get('from_incident')} 的关联", p.get("reason"))
    if kind == ev.NUMBER_MARKED:
        marks = {"repeat": "重复来电", "nuisance": "骚扰电话", "clear": "取消标记"}
        return _with(f"标记号码 {p.get('number', '')} 为{marks.get(p.get('mark', ''), p.get('mark', ''))}", p.get("note"))
    if kind == ev.FRAUD_RECORDED:
        return (f"止付登记：受害账户 {len(p.get('victim_accounts') or [])} 个，涉案账户 "
                f"{len(p.get('fraud_accounts') or [])} 个，合计 {p.get('total_amount', 0):,} 元")
    if kind == ev.FRAUD_REQUESTED:
        return f"止付申请已发（{p.get('method', '')}）" + (f"，编号 {p['reference']}" if p.get("reference") else "")
    if kind == ev.FRAUD_RESULT:
        return _with(f"止付结果：{p.get('outcome', '')}，止付 {p.get('amount_stopped', 0):,} 元", p.get("note"))
    if kind == ev.DISPUTE_REFERRED:
        return _with(f"移交{p.get('to', '')} {p.get('contact', '')}，回访日期 {p.get('follow_up_on', '')}", p.get("note"))
    if kind == ev.DISPUTE_FOLLOWED_UP:
        return _with(f"纠纷回访（{p.get('to', '')}）：{p.get('outcome', '')}", p.get("note"))
    return None


def incident_timeline(view: IncidentView, events: Sequence[Event], targets: Targets,
                      ack_target_s: float = 60.0, callsigns: Mapping[int, str] | None = None) -> IncidentTimeline:
    """The timeline of one incident from its (final) view and its events. `callsigns`
    (unit id -> callsign) names units the events do not name; the view's own
    assignments are always used."""
    names = {a.unit_id: a.callsign for a in view.assignments}
    names.update(callsigns or {})
    entries = [TimelineEntry(e.occurred_at, e.seat, e.operator, e.kind, ev.KIND_LABELS.get(e.kind, e.kind),
                             describe(e, names), e.unit_id, e.id) for e in sorted(events, key=lambda x: x.id)]
    return IncidentTimeline(view.id, entries, intervals(view, targets, ack_target_s))
