"""What the call-taker should know about a place: its grid (网格吹哨、警格报到), open
incidents close by (maybe the same event), the place's recent history, and how a
geocoder candidate is shown (a partial match says what differs and ranks last)."""
from __future__ import annotations

from datetime import timedelta

from dispatch.bootstrap import App
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.queries import IncidentView, incidents_near
from dispatch.store.schema import GridRow, UnitRow
from ui.fmt import distance, duration, local_time

DUPLICATE_RADIUS_M, DUPLICATE_WINDOW = 300.0, timedelta(hours=2)
HISTORY_RADIUS_M, HISTORY_WINDOW = 150.0, timedelta(days=30)


def _category(v: IncidentView) -> str:
    c = CATEGORY_BY_CODE.get(v.category)
    return c.label if c else "未定性"


def grid_summary(app: App, grid_id: str | None) -> str:
    if not grid_id:
        return "网格：不在已登记网格内"
    with app.session() as s:
        g = s.get(GridRow, grid_id)
        if g is None:
            return ""
        u = s.get(UnitRow, g.police_unit_id) if g.police_unit_id else None
        officer = f"；警格社区民警 {u.callsign}" if u else ""
        members = "、".join(f"{m['name']}（{m['role']}）" for m in g.members)
        return f"网格 {g.id} {g.name}：网格长 {g.leader}；{members}{officer}"


def history_summary(app: App, view: IncidentView) -> tuple[str, bool]:
    """(text, alert): alert when an open incident close by may be the same event."""
    now = app.clock.now()
    with app.session() as s:
        recent = incidents_near(s, view.lon, view.lat, DUPLICATE_RADIUS_M, now - DUPLICATE_WINDOW, view.id)
        history = incidents_near(s, view.lon, view.lat, HISTORY_RADIUS_M, now - HISTORY_WINDOW, view.id)
    lines = [f"⚠ 附近未结警情 #{v.id}（{_category(v)}，{duration((now - v.received_at).total_seconds())}前）"
             f"— 可能是重复报警" for v in recent if v.status.open][:3]
    closed = [v for v in history if not v.status.open]
    if closed:
        lines.append(f"该地点150米内近30天已结警情 {len(closed)} 起"
                     f"（最近：{local_time(closed[0].received_at, True)} {_category(closed[0])}）")
    return "\n".join(lines), bool(lines) and lines[0].startswith("⚠")


def full_first(cands: list) -> list:
    """Full matches first, partial ones after, each group in the geocoder's order."""
    return [c for c in cands if not c.partial] + [c for c in cands if c.partial]


def candidate_text(i: int, cand, kind_label: str) -> str:  # noqa: ANN001 (gazetteer.Candidate)
    """One row of the candidate list; a partial match (never a sure one) says what differs."""
    ctx = cand.context or " / ".join(cand.admin)
    d = f"  {distance(cand.distance_m)}" if cand.distance_m is not None else ""
    q = f"（{cand.qualifier}）" if cand.qualifier else ""
    if cand.partial:
        return f"{i}. ≈ {cand.name}{q}  [{kind_label}]  部分匹配：{cand.differs or '与所说不完全相同'}  {ctx}{d}"
    return f"{i}. {cand.name}{q}  [{kind_label}]  {ctx}{d}"
