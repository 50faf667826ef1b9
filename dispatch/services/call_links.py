"""Repeated calls (重复报警): one crash brings twenty calls. Every call opens its own
incident (`call.received`); a further call about the same event is then *linked* to the
incident that handles it. The linked call keeps its own caller and record, and leaves
the queue closed as 重复报警 (`duplicate`) through the same close path as 结警 and 转警.

The links live in the log only (no table): `call.linked` {to_incident, reason, score}
on the linked call, `call.unlinked` {from_incident} when it is taken off again — the
call then reopens (`incident.reopened`: pending, no result). The latest of these two
events of a call says whether, and where, it is linked. When the incident it is linked
to is open, that incident gets a note (`incident.noted`) so its timeline and its seat
see the further caller.

Chains are never stored: linking to a call that is itself linked links to that call's
root incident instead (and says so in the result); a call that other calls are linked
to cannot itself be linked until they are unlinked (refused)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.decide import decide_note, decide_reopen
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.incidents import CATEGORY_BY_CODE, IncidentStatus
from dispatch.geo.coords import haversine_m
from dispatch.services.calls import close_in, get_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.services.projection_rows import IncidentProjection, record
from dispatch.services.queries import IncidentView, incident
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, IncidentRow

TIME_WINDOW = timedelta(minutes=30)      # calls this close in time may be the same event
DISTANCE_M = 500.0                        # ... or this close in space (both located)
CLOSED_WINDOW = timedelta(hours=2)        # a closed incident may still take calls this long
MAX_SUGGESTIONS = 5
MAX_REASON = 200
# weights of the score (0..10): the same number is the strongest sign
W_NUMBER, W_DISTANCE, W_TIME, W_CATEGORY = 4.0, 3.0, 2.0, 1.0


@dataclass(frozen=True)
class LinkSuggestion:
    """An incident the call in hand may be a repeat of, with the reasons in words."""

    incident_id: int
    score: float
    reasons: tuple[str, ...]          # "同一号码", "相距120米", "8分钟前", "同类警情"
    status: IncidentStatus
    received_at: datetime
    category_label: str
    place_name: str
    caller_number: str
    distance_m: float | None

    @property
    def reason_text(self) -> str:
        return "，".join(self.reasons)


@dataclass(frozen=True)
class Link:
    """A call (its own incident) currently linked to the incident that handles it."""

    incident_id: int
    to_incident: int
    at: datetime
    reason: str
    score: float | None
    operator: str


@dataclass(frozen=True)
class CallRecord:
    """One call of an incident: its own, or a linked one (with the link)."""

    incident_id: int
    number: str
    name: str
    received_at: datetime
    own: bool
    link: Link | None
    record: IncidentView


# ---- reading the links from the log ---------------------------------------------------
def current_links(s: Session, until: datetime | None = None) -> dict[int, Link]:
    """Every call linked now (or at `until`): linked incident -> its Link."""
    q = select(EventRow).where(EventRow.kind.in_((ev.CALL_LINKED, ev.CALL_UNLINKED)))
    if until is not None:
        q = q.where(EventRow.occurred_at <= until)
    links: dict[int, Link] = {}
    for row in s.scalars(q.order_by(EventRow.id)):
        if row.incident_id is None:
            continue
        if row.kind == ev.CALL_UNLINKED:
            links.pop(row.incident_id, None)
            continue
        p = row.payload or {}
        links[row.incident_id] = Link(row.incident_id, int(p.get("to_incident", 0)), as_utc(row.occurred_at),
                                      str(p.get("reason", "")), p.get("score"), row.operator)
    return links


def link_of(s: Session, incident_id: int) -> Link | None:
    """Where this call is linked now, or None."""
    q = (select(EventRow).where(EventRow.incident_id == incident_id,
                                EventRow.kind.in_((ev.CALL_LINKED, ev.CALL_UNLINKED)))
         .order_by(EventRow.id.desc()).limit(1))
    row = s.scalars(q).first()
    if row is None or row.kind == ev.CALL_UNLINKED:
        return None
    p = row.payload or {}
    return Link(incident_id, int(p.get("to_incident", 0)), as_utc(row.occurred_at), str(p.get("reason", "")),
                p.get("score"), row.operator)


def linked_ids(s: Session, incident_ids: list[int]) -> set[int]:
    """Which of these calls are linked now (their latest link event is call.linked)."""
    if not incident_ids:
        return set()
    latest: dict[int, str] = {}
    q = (select(EventRow.incident_id, EventRow.kind)
         .where(EventRow.kind.in_((ev.CALL_LINKED, ev.CALL_UNLINKED)), EventRow.incident_id.in_(incident_ids))
         .order_by(EventRow.id))
    for iid, kind in s.execute(q):
        if iid is not None:
            latest[iid] = kind
    return {i for i, kind in latest.items() if kind == ev.CALL_LINKED}


def linked_to(s: Session, incident_id: int) -> list[Link]:
    """The calls linked to this incident now, oldest link first. A call can be linked to
    it only while it is open or within 2 hours of its close: only those link events are
    read (the log's time index), then each call's latest link is checked."""
    row = s.get(IncidentRow, incident_id)
    if row is None:
        return []
    q = select(EventRow.incident_id, EventRow.payload).where(
        EventRow.kind == ev.CALL_LINKED, EventRow.occurred_at >= row.received_at)
    if row.status == IncidentStatus.CLOSED.value and row.closed_at is not None:
        q = q.where(EventRow.occurred_at <= as_utc(row.closed_at) + CLOSED_WINDOW)
    asked = {iid for iid, p in s.execute(q.order_by(EventRow.id))
             if iid is not None and (p or {}).get("to_incident") == incident_id}
    links = [lk for lk in (link_of(s, i) for i in asked) if lk is not None and lk.to_incident == incident_id]
    return sorted(links, key=lambda lk: (lk.at, lk.incident_id))


def calls_of(s: Session, incident_id: int) -> list[CallRecord]:
    """The incident's own call, then every call linked to it (number, name, time, record)."""
    own = incident(s, incident_id)
    if own is None:
        raise DispatchError(f"警情 {incident_id} 不存在")
    out = [CallRecord(own.id, own.caller_number, own.caller_name, own.received_at, True, None, own)]
    for lk in linked_to(s, incident_id):
        v = incident(s, lk.incident_id)
        if v is not None:
            out.append(CallRecord(v.id, v.caller_number, v.caller_name, v.received_at, False, lk, v))
    return out


# ---- suggestions --------------------------------------------------------------------------
def _category_label(code: str) -> str:
    c = CATEGORY_BY_CODE.get(code)
    return c.label if c else "未定性"


def _same_number(a: str, b: str) -> bool:
    from dispatch.services.phone_calls import _variants
    return bool(a.strip() and b.strip()) and bool(set(_variants(a.strip())) & set(_variants(b.strip())))


@dataclass(frozen=True)
class _Probe:
    """What score_pair reads of an incident (a view, or these columns of a row)."""

    caller_number: str
    lon: float | None
    lat: float | None
    received_at: datetime
    category: str


def score_pair(call: IncidentView | _Probe, other: IncidentView | _Probe) -> tuple[float, tuple[str, ...], float | None] | None:
    """How likely `call` is a repeat of `other`: (score 0..10, reasons, distance) or None
    when nothing ties them (the same number, or ≤ 500 m, or — when either is not yet
    located — the same category within 30 minutes)."""
    reasons: list[str] = []
    score = 0.0
    number = _same_number(call.caller_number, other.caller_number)
    if number:
        score += W_NUMBER
        reasons.append("同一号码")
    d = None
    near = False
    if call.lon is not None and call.lat is not None and other.lon is not None and other.lat is not None:
        d = haversine_m(call.lon, call.lat, other.lon, other.lat)
        if d <= DISTANCE_M:
            near = True
            score += W_DISTANCE * (1.0 - d / DISTANCE_M)
            reasons.append(f"相距{d:.0f}米")
    apart = (call.received_at - other.received_at).total_seconds()
    soon = abs(apart) <= TIME_WINDOW.total_seconds()
    if soon:
        score += W_TIME * (1.0 - abs(apart) / TIME_WINDOW.total_seconds())
        minutes = int(abs(apart) // 60)
        reasons.append(("刚刚" if minutes == 0 else f"{minutes}分钟前") if apart >= 0 else f"{minutes}分钟后")
    same_cat = bool(call.category) and call.category == other.category
    if same_cat:
        score += W_CATEGORY
        reasons.append("同类警情")
    both_located = call.lon is not None and other.lon is not None
    if not (number or near or (not both_located and same_cat and soon)):
        return None
    return round(score, 2), tuple(reasons), d


def suggest_links(s: Session, incident_view: IncidentView, now: datetime,
                  limit: int = MAX_SUGGESTIONS) -> list[LinkSuggestion]:
    """Incidents the call in hand may repeat, best first: open ones and those closed in
    the last 2 hours (never a call that is itself linked: its root is offered instead,
    nor the call's own, nor a call already linked)."""
    if link_of(s, incident_view.id) is not None:
        return []
    v = incident_view
    ties = []  # what score_pair needs to offer a candidate, narrowed in SQL first
    if v.category:
        soon = and_(IncidentRow.category == v.category,
                    IncidentRow.received_at.between(v.received_at - TIME_WINDOW, v.received_at + TIME_WINDOW))
        ties.append(soon if v.lon is None else and_(soon, IncidentRow.lon.is_(None)))
    if v.caller_number.strip():
        from dispatch.services.phone_calls import _variants
        ties.append(IncidentRow.caller_number.in_(_variants(v.caller_number.strip())))
    if v.lon is not None and v.lat is not None:
        dlat = DISTANCE_M / 111_320.0
        dlon = dlat / max(0.1, math.cos(math.radians(v.lat)))
        ties.append(and_(IncidentRow.lon.between(v.lon - dlon, v.lon + dlon),
                         IncidentRow.lat.between(v.lat - dlat, v.lat + dlat)))
    if not ties:
        return []
    r = IncidentRow
    q = (select(r.id, r.status, r.received_at, r.caller_number, r.lon, r.lat, r.category, r.place_name)
         .where(r.id != v.id, or_(*ties), or_(r.status != IncidentStatus.CLOSED.value,
                                              r.closed_at >= now - CLOSED_WINDOW)))
    out = []
    found = list(s.execute(q))
    links = linked_ids(s, [row.id for row in found])
    for row in found:
        if row.id in links:
            continue
        other = _Probe(row.caller_number, row.lon, row.lat, as_utc(row.received_at), row.category)
        scored = score_pair(incident_view, other)
        if scored is None:
            continue
        score, reasons, d = scored
        out.append(LinkSuggestion(row.id, score, reasons, IncidentStatus(row.status), other.received_at,
                                  _category_label(row.category), row.place_name, row.caller_number, d))
    out.sort(key=lambda x: (-x.score, -x.received_at.timestamp()))
    return out[:limit]


# ---- link and unlink ----------------------------------------------------------------------
def _root(s: Session, to_incident_id: int) -> int:
    lk = link_of(s, to_incident_id)
    return lk.to_incident if lk is not None else to_incident_id


def link(ctx: Context, incident_id: int, to_incident_id: int, reason: str = "") -> Changes:
    """关联: the call `incident_id` (open, no unit sent) is a repeat of `to_incident_id`:
    `call.linked` on it and it closes as 重复报警 naming the incident it joined. Linking to
    a linked call links to its root. Changes.incident_id is the incident linked to."""
    ensure_writable(ctx)
    require(ctx, "incident.close")
    reason = clean_text(reason, "关联说明", limit=MAX_REASON)
    if incident_id == to_incident_id:
        raise DispatchError("不能把警情关联到它自身")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        call = get_incident(s, incident_id)
        current = link_of(s, incident_id)
        if current is not None:
            raise DispatchError(f"警情 {incident_id} 已关联到警情 {current.to_incident}，请先取消关联")
        if call.status == IncidentStatus.CLOSED.value:
            raise DispatchError(f"警情 {incident_id} 已结警，不能再关联")
        if call.status != IncidentStatus.PENDING.value:
            raise DispatchError(f"警情 {incident_id} 已派警，不能作为重复报警关联（请先撤回警力）")
        joined = linked_to(s, incident_id)
        if joined:
            which = "、".join(str(lk.incident_id) for lk in joined)
            raise DispatchError(f"警情 {incident_id} 已有关联来电（警情 {which}），不能再关联到其他警情；请先取消这些关联")
        get_incident(s, to_incident_id)
        root = _root(s, to_incident_id)
        if root == incident_id:
            raise DispatchError("不能把警情关联到它自身")
        target = get_incident(s, root)
        if target.status == IncidentStatus.CLOSED.value:
            if target.closed_at is None or as_utc(target.closed_at) < now - CLOSED_WINDOW:
                raise DispatchError(f"警情 {root} 结警已超过 2 小时，不能再关联来电")
        a, b = incident(s, incident_id), incident(s, root)
        scored = score_pair(a, b) if a and b else None
        score = scored[0] if scored else 0.0
        via = f"（警情 {to_incident_id} 已关联到警情 {root}，改为关联到 {root}）" if root != to_incident_id else ""
        ids = [append_event(ctx, s, ev.CALL_LINKED, incident_id, at=now,
                            payload={"to_incident": root, "reason": reason, "score": score,
                                     "asked_for": to_incident_id})]
        note = f"重复报警，已关联到警情 {root}" + (f"：{reason}" if reason else "")
        units, closed = close_in(ctx, s, call, "duplicate", note, now, {"linked_to": root})
        ids += closed
        touched = {incident_id}
        if target.status != IncidentStatus.CLOSED.value:
            who = call.caller_number or "未知号码"
            note_on = IncidentProjection(s, target)
            ids += record(ctx, s, now, decide_note(note_on.state, f"关联来电：警情 {incident_id}（{who}）{via}".rstrip()),
                          [note_on])
            touched.add(root)
        return Changes(incidents=frozenset(touched), units=frozenset(units), last_event_id=ids[-1],
                       incident_id=root, event_ids=tuple(ids))


def unlink(ctx: Context, incident_id: int) -> Changes:
    """取消关联: the call is taken off the incident it was linked to and reopens as its own
    incident (pending, no result): `call.unlinked`, then `incident.reopened`."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        call = get_incident(s, incident_id)
        current = link_of(s, incident_id)
        if current is None:
            raise DispatchError(f"警情 {incident_id} 没有关联到其他警情")
        ids = [append_event(ctx, s, ev.CALL_UNLINKED, incident_id, at=now,
                            payload={"from_incident": current.to_incident})]
        if call.status == IncidentStatus.CLOSED.value:
            p = IncidentProjection(s, call)
            closed_at = as_utc(call.closed_at).isoformat().replace("+00:00", "Z") if call.closed_at else None
            ids += record(ctx, s, now, decide_reopen(p.state, f"取消与警情 {current.to_incident} 的关联", closed_at), [p])
        touched = {incident_id}
        target = s.get(IncidentRow, current.to_incident)
        if target is not None and target.status != IncidentStatus.CLOSED.value:
            note_on = IncidentProjection(s, target)
            ids += record(ctx, s, now, decide_note(note_on.state, f"取消关联来电：警情 {incident_id}"), [note_on])
            touched.add(target.id)
        return Changes(incidents=frozenset(touched), last_event_id=ids[-1], incident_id=incident_id,
                       event_ids=tuple(ids))
