"""Incident search (警情查询): by number, caller, place text, time and status, reaching
closed incidents. Reads only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import IncidentStatus
from dispatch.services.queries import IncidentView, _assignments, _incident_view
from dispatch.store.schema import IncidentRow

MAX_TEXT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class IncidentQuery:
    """What to look for. `text` matches the incident number, the caller's number or name,
    the place as said or as located, and the narrative; `since`/`until` bound the time
    received (UTC); `status` is "open", "closed" or "" for every incident."""

    text: str = ""
    since: datetime | None = None
    until: datetime | None = None
    status: str = ""
    limit: int = 200


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_incidents(s: Session, q: IncidentQuery) -> list[IncidentView]:
    """Incidents matching `q`, newest first, at most `q.limit`. DispatchError on bad input."""
    text = " ".join(q.text.split())
    if len(text) > MAX_TEXT:
        raise DispatchError(f"查询内容过长（最多 {MAX_TEXT} 个字）")
    if q.status not in ("", "open", "closed"):
        raise DispatchError(f"未知的警情状态: {q.status}")
    if not 1 <= q.limit <= MAX_LIMIT:
        raise DispatchError(f"条数应在 1 到 {MAX_LIMIT} 之间")
    if q.since and q.until and q.since > q.until:
        raise DispatchError("查询时段的开始晚于结束")
    stmt = select(IncidentRow)
    for word in text.split(" ") if text else []:
        like = f"%{_escape_like(word)}%"
        cond: list[ColumnElement[bool]] = [IncidentRow.caller_number.like(like, escape="\\"),
                IncidentRow.caller_name.like(like, escape="\\"),
                IncidentRow.place_text.like(like, escape="\\"),
                IncidentRow.place_name.like(like, escape="\\"),
                IncidentRow.narrative.like(like, escape="\\")]
        if word.isascii() and word.isdigit() and int(word) < 2 ** 31:
            cond.append(IncidentRow.id == int(word))
        stmt = stmt.where(or_(*cond))
    if q.since is not None:
        stmt = stmt.where(IncidentRow.received_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(IncidentRow.received_at <= q.until)
    if q.status == "open":
        stmt = stmt.where(IncidentRow.status != IncidentStatus.CLOSED.value)
    elif q.status == "closed":
        stmt = stmt.where(IncidentRow.status == IncidentStatus.CLOSED.value)
    rows = list(s.scalars(stmt.order_by(IncidentRow.received_at.desc(), IncidentRow.id.desc()).limit(q.limit)))
    by = _assignments(s, [r.id for r in rows])
    return [_incident_view(r, by[r.id]) for r in rows]
