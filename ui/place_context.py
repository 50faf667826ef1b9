"""What the call-taker should know about a place: its grid (网格吹哨、警格报到), open
incidents close by (maybe the same event), the place's recent history, and how a
geocoder candidate is shown (a partial match says what differs and ranks last)."""
from __future__ import annotations

from dispatch.bootstrap import App
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.place_context import HISTORY_RADIUS_M, HISTORY_WINDOW, GridView, place_context
from dispatch.services.queries import IncidentView
from ui.fmt import distance, duration, local_time


def _category(v: IncidentView) -> str:
    c = CATEGORY_BY_CODE.get(v.category)
    return c.label if c else "未定性"


def grid_text(grid: GridView | None, grid_id: str | None) -> str:
    if not grid_id:
        return "网格：不在已登记网格内"
    if grid is None:
        return ""
    officer = f"；警格社区民警 {grid.officer_callsign}" if grid.officer_callsign else ""
    members = "、".join(f"{name}（{role}）" for name, role in grid.members)
    return f"网格 {grid.id} {grid.name}：网格长 {grid.leader}；{members}{officer}"


def place_summary(app: App, view: IncidentView) -> tuple[str, str, bool]:
    """(grid text, history text, alert): alert when an open incident close by may be the
    same event. The rules are the core's (dispatch.services.place_context)."""
    now = app.clock.now()
    with app.session() as s:
        ctx = place_context(s, view, now)
    lines = [f"⚠ 附近未结警情 #{v.id}（{_category(v)}，{duration((now - v.received_at).total_seconds())}前）"
             f"— 可能是重复报警" for v in ctx.possible_duplicates]
    if ctx.closed_nearby:
        last = ctx.closed_nearby[0]
        lines.append(f"该地点{HISTORY_RADIUS_M:.0f}米内近{HISTORY_WINDOW.days}天已结警情 {len(ctx.closed_nearby)} 起"
                     f"（最近：{local_time(last.received_at, True)} {_category(last)}）")
    return grid_text(ctx.grid, view.grid_id), "\n".join(lines), bool(ctx.possible_duplicates)


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
