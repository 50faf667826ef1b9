"""地名补录: the caller's words for a place the gazetteer does not know, kept at the
point the call-taker set on the map, so that the next caller who says them is found.

A proposal is a `places` row (source "地名补录", extra status "proposed") and a
`place.proposed` event, in one transaction; the shift lead's confirmation sets the
status to "confirmed" and appends `place.confirmed`. The proposing seat's geocoder
gets the place at once (Geocoder.add_place); other seats get it when their index is
next built from the places table (the changed table is re-indexed at their next start).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.geo.coords import check_in_china
from dispatch.geo.geocode_index import PlaceRecord
from dispatch.geo.text import is_meaningless, normalise
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.store.schema import PlaceRow

SOURCE = "地名补录"
MAX_WORDS = 64


def _check_words(words: str) -> str:
    """The caller's words as typed text is checked everywhere (clean_text: no invisible or
    control characters — U+202E would turn the bar's and the list's text round), on one
    line with single spaces; refused when empty, meaningless or too long."""
    words = " ".join(clean_text(words if isinstance(words, str) else "", "补录地名", limit=4 * MAX_WORDS,
                                single_line=True).split())
    if is_meaningless(normalise(words).text):
        raise DispatchError("补录地名不能为空：请写下报警人所说的地点名称")
    if len(words) > MAX_WORDS:
        raise DispatchError(f"补录地名过长（最多 {MAX_WORDS} 个字）")
    return words


def _check_point(lon: Any, lat: Any) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise DispatchError(f"坐标不是数字: {lon}, {lat}") from None
    check_in_china(lon, lat, "补录地点")
    return lon, lat


def _record(row: PlaceRow) -> PlaceRecord:
    return PlaceRecord(row.id, row.name, row.kind, list(row.aliases or []), list(row.admin or []),
                       row.lon, row.lat, row.precision or "point", row.source or "", dict(row.extra or {}))


def propose_place(ctx: Context, words: str, lon: float, lat: float,
                  alias_of_place_id: int | None = None, geocoder: Any = None) -> Changes:
    """Keep the caller's words as a new place at (lon, lat), or as another name of the
    place alias_of_place_id (same kind and administrative path) at that point.
    Refused (nothing written) for empty words, a point out of range or an unknown
    place. With `geocoder`, the place is searchable in it at once."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    words = _check_words(words)
    lon, lat = _check_point(lon, lat)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        kind, admin, aliases = "poi", [], []
        if alias_of_place_id is not None:
            target = s.get(PlaceRow, alias_of_place_id) if isinstance(alias_of_place_id, int) else None
            if target is None:
                raise DispatchError(f"地点 {alias_of_place_id} 不存在")
            kind, admin, aliases = target.kind, list(target.admin or []), [target.name]
        extra: dict[str, str | int] = {"status": "proposed", "seat": ctx.actor.seat, "operator": ctx.actor.operator,
                 "proposed_at": now.isoformat()}
        if alias_of_place_id is not None:
            extra["alias_of"] = alias_of_place_id
        row = PlaceRow(name=words, kind=kind, aliases=aliases, admin=admin, lon=lon, lat=lat,
                       precision="point", source=SOURCE, extra=extra)
        s.add(row)
        s.flush()
        eid = append_event(ctx, s, ev.PLACE_PROPOSED, at=now, payload={
            "place_id": row.id, "words": words, "lon": lon, "lat": lat,
            "alias_of": alias_of_place_id})
        record = _record(row)
    if geocoder is not None:
        geocoder.add_place(record)
    return Changes(last_event_id=eid, event_ids=(eid,))


def confirm_place(ctx: Context, place_id: int) -> Changes:
    """The shift lead confirms a proposed place: status "confirmed", event place.confirmed."""
    ensure_writable(ctx)
    require(ctx, "place.confirm")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        row = s.get(PlaceRow, place_id) if isinstance(place_id, int) else None
        if row is None or row.source != SOURCE:
            raise DispatchError(f"没有待确认的补录地名 {place_id}")
        extra = dict(row.extra or {})
        if extra.get("status") != "proposed":
            raise DispatchError(f"补录地名“{row.name}”已确认")
        extra.update(status="confirmed", confirmed_by=ctx.actor.operator, confirmed_at=now.isoformat())
        row.extra = extra
        eid = append_event(ctx, s, ev.PLACE_CONFIRMED, at=now,
                           payload={"place_id": row.id, "words": row.name})
    return Changes(last_event_id=eid, event_ids=(eid,))


def proposals(s: Session, status: str = "proposed") -> list[dict[str, Any]]:
    """Places kept by 地名补录 with the given status, oldest first (for the shift lead)."""
    rows = s.scalars(select(PlaceRow).where(PlaceRow.source == SOURCE).order_by(PlaceRow.id))
    return [{"id": r.id, "words": r.name, "lon": r.lon, "lat": r.lat, "kind": r.kind,
             "alias_of": (r.extra or {}).get("alias_of"), "seat": (r.extra or {}).get("seat", ""),
             "operator": (r.extra or {}).get("operator", ""),
             "proposed_at": (r.extra or {}).get("proposed_at", ""), "status": (r.extra or {}).get("status", "")}
            for r in rows if (r.extra or {}).get("status") == status]
