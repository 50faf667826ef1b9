"""矛盾纠纷 referral: a dispute handed to the grid member (网格员), 人民调解, the community
officer (社区民警) or the 司法所, with a contact and a follow-up date; then its follow-up.

Both are events of the log (`dispute.referred`, `dispute.followed_up`); the referrals are
read back from them, so no table is needed.

Which incidents: the categories a mediator handles (dispatch.domain.incidents categories
whose `needs` is "mediate": 矛盾纠纷, 投诉). A referral of any other category — or of an
incident not yet categorised — is allowed (a 治安 case often ends as a neighbours' quarrel
for the 人民调解) but flagged: the event carries `flag` and the lists show it, so the shift
lead sees referrals that may hide police work. A referral may be made while the incident is
open or after it was closed (most are handed over at closing). One incident may have
several referrals (网格员 and 司法所); a follow-up names its referral or takes the oldest
one still waiting.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.calls import get_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow

TARGETS = ("网格员", "人民调解", "社区民警", "司法所")
OUTCOMES = ("已化解", "调解中", "未化解", "无法联系")
DISPUTE_CATEGORIES = frozenset(c.code for c in CATEGORY_BY_CODE.values() if c.needs == "mediate")
MAX_AHEAD_DAYS = 366


@dataclass(frozen=True)
class Referral:
    id: int                    # the dispute.referred event id
    incident_id: int
    to: str
    contact: str
    follow_up_on: date
    note: str
    at: datetime               # UTC
    operator: str
    flag: str = ""             # why a non-dispute referral is flagged, "" for a dispute
    followed_up_at: datetime | None = None
    outcome: str = ""
    follow_up_note: str = ""

    @property
    def pending(self) -> bool:
        return self.followed_up_at is None

    def overdue(self, today: date) -> bool:
        return self.pending and self.follow_up_on < today

    def due(self, today: date) -> bool:
        return self.pending and self.follow_up_on <= today

    def as_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat().replace("+00:00", "Z") if t else None
        return {"id": self.id, "incident_id": self.incident_id, "to": self.to, "contact": self.contact,
                "follow_up_on": self.follow_up_on.isoformat(), "note": self.note, "at": iso(self.at),
                "flag": self.flag, "followed_up_at": iso(self.followed_up_at), "outcome": self.outcome,
                "follow_up_note": self.follow_up_note}


def today_in(ctx_or_now: Context | datetime, tz: str = "Asia/Shanghai") -> date:
    """The local date of the clock (a Context) or of an instant."""
    now = ctx_or_now if isinstance(ctx_or_now, datetime) else ctx_or_now.clock.now()
    return now.astimezone(ZoneInfo(tz)).date()


def _date(value: object) -> date:
    if isinstance(value, datetime):
        raise DispatchError("回访日期应为日期（如 2026-11-30），不含时间")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise DispatchError(f"回访日期格式不正确（应如 2026-11-30）: {value!r}") from None
    if not isinstance(value, date):
        raise DispatchError("请填写回访日期")
    return value


def flag_for(category_code: str) -> str:
    """Why a referral of this category is flagged ("" for a dispute)."""
    if not category_code:
        return "未定性"
    if category_code in DISPUTE_CATEGORIES:
        return ""
    c = CATEGORY_BY_CODE.get(category_code)
    return f"非纠纷类（{c.label if c else category_code}）"


def refer(ctx: Context, incident_id: int, to: str, contact: str, follow_up_on: date | str, note: str = "",
          tz: str = "Asia/Shanghai") -> Changes:
    """纠纷移交: hand the incident to `to` (网格员/人民调解/社区民警/司法所), whose `contact`
    (name and phone) is kept, with a follow-up date not in the past (local date in `tz`) and
    at most a year ahead."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    to = to.strip() if isinstance(to, str) else ""
    if to not in TARGETS:
        raise DispatchError(f"未知的移交对象: {to!r}；可选: {'、'.join(TARGETS)}")
    contact = clean_text(contact, "对接人及联系方式", required=True)
    note = clean_text(note, "备注")
    when = _date(follow_up_on)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        today = today_in(now, tz)
        if when < today:
            raise DispatchError(f"回访日期 {when.isoformat()} 已过（今天是 {today.isoformat()}）")
        if when > today + timedelta(days=MAX_AHEAD_DAYS):
            raise DispatchError(f"回访日期 {when.isoformat()} 太远（最多一年内）")
        inc = get_incident(s, incident_id)
        flag = flag_for(inc.category)
        eid = append_event(ctx, s, ev.DISPUTE_REFERRED, incident_id, at=now, payload={
            "to": to, "contact": contact, "follow_up_on": when.isoformat(), "note": note, "flag": flag,
            "category": inc.category})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def follow_up(ctx: Context, incident_id: int, outcome: str, note: str = "",
              referral_id: int | None = None) -> Changes:
    """纠纷回访: the follow-up of a referral (by its id, or the incident's oldest waiting one),
    with its outcome (已化解/调解中/未化解/无法联系). A referral is followed up once."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    outcome = outcome.strip() if isinstance(outcome, str) else ""
    if outcome not in OUTCOMES:
        raise DispatchError(f"未知的回访结果: {outcome!r}；可选: {'、'.join(OUTCOMES)}")
    note = clean_text(note, "回访情况")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        get_incident(s, incident_id)
        waiting = [r for r in referrals(s, [incident_id])[incident_id] if r.pending]
        if referral_id is not None:
            waiting = [r for r in waiting if r.id == referral_id]
            if not waiting:
                raise DispatchError(f"警情 {incident_id} 没有待回访的移交 {referral_id}")
        elif not waiting:
            raise DispatchError(f"警情 {incident_id} 没有待回访的纠纷移交")
        r = waiting[0]
        eid = append_event(ctx, s, ev.DISPUTE_FOLLOWED_UP, incident_id, at=now,
                           payload={"referral_id": r.id, "to": r.to, "outcome": outcome, "note": note})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def _read(s: Session, incident_ids: list[int] | None) -> list[Referral]:
    q = select(EventRow).where(EventRow.kind.in_((ev.DISPUTE_REFERRED, ev.DISPUTE_FOLLOWED_UP)))
    if incident_ids is not None:
        q = q.where(EventRow.incident_id.in_(incident_ids))
    by_id: dict[int, Referral] = {}
    for r in s.scalars(q.order_by(EventRow.id)):
        p = r.payload or {}
        if r.incident_id is None:
            continue
        if r.kind == ev.DISPUTE_REFERRED:
            by_id[r.id] = Referral(r.id, r.incident_id, p.get("to", ""), p.get("contact", ""),
                                   date.fromisoformat(p["follow_up_on"]), p.get("note", ""),
                                   as_utc(r.occurred_at), r.operator, p.get("flag", ""))
        elif (ref := by_id.get(int(p.get("referral_id") or 0))) is not None:
            by_id[ref.id] = replace(ref, followed_up_at=as_utc(r.occurred_at), outcome=p.get("outcome", ""),
                                    follow_up_note=p.get("note", ""))
    return list(by_id.values())


def referrals(s: Session, incident_ids: list[int]) -> dict[int, list[Referral]]:
    """The referrals of these incidents, oldest first, with their follow-ups."""
    out: dict[int, list[Referral]] = {i: [] for i in incident_ids}
    if incident_ids:
        for r in _read(s, incident_ids):
            out[r.incident_id].append(r)
    return out


def overdue(s: Session, today: date) -> list[Referral]:
    """Referrals whose follow-up date passed (before `today`) without a follow-up, the
    longest overdue first."""
    return sorted((r for r in _read(s, None) if r.overdue(today)), key=lambda r: (r.follow_up_on, r.id))


def due(s: Session, today: date) -> list[Referral]:
    """Referrals waiting for their follow-up whose date is today or passed, oldest date first."""
    return sorted((r for r in _read(s, None) if r.due(today)), key=lambda r: (r.follow_up_on, r.id))


def pending(s: Session) -> list[Referral]:
    """Every referral still waiting for its follow-up, by follow-up date."""
    return sorted((r for r in _read(s, None) if r.pending), key=lambda r: (r.follow_up_on, r.id))


def referral_summary(s: Session, now: datetime, tz: str) -> dict[str, Any]:
    """For the statistics: referrals waiting for their follow-up and those overdue (today
    in the settings time zone)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    waiting = pending(s)
    return {"waiting": len(waiting), "overdue": sum(1 for r in waiting if r.overdue(today))}
