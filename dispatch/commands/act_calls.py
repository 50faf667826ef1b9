"""Further `act` operations (see dispatch.commands.act): repeated calls and the caller's history.

  link          incident_id, to, [reason]   -> linked_to (the root when `to` is itself linked)
                (the call closes as 重复报警; it must be open with no unit sent)
  unlink        incident_id                 (the call reopens as its own incident)
  suggest_links incident_id                 -> suggestions [{incident_id, score, reasons, ...}]
  calls         incident_id                 -> the incident's own call and every linked call
  history       number                      -> earlier incidents (90 days), counts, mark
  mark_number   number, mark (repeat|nuisance|clear), [note]   (值班长 only; a note for repeat/nuisance)
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from dispatch.commands.act import _id, _phone, _text
from dispatch.domain.errors import DispatchError
from dispatch.services import call_links, caller_history


FIELDS: dict[str, frozenset[str]] = {name: frozenset(fields.split()) for name, fields in {
    "link": "incident_id to reason", "unlink": "incident_id", "suggest_links": "incident_id",
    "calls": "incident_id", "history": "number incident_id", "mark_number": "number mark note",
}.items()}


def _iso(d: datetime | None) -> str | None:
    return d.isoformat().replace("+00:00", "Z") if d else None


def ops(app: Any) -> dict[str, Callable[[dict], dict]]:
    def ctx() -> Any:
        return app.services.ctx

    def link(c: dict) -> dict:
        iid, to = _id(c, "incident_id"), _id(c, "to")
        changes = call_links.link(ctx(), iid, to, _text(c, "reason", required=False))
        return {"incident_id": iid, "linked_to": changes.incident_id}

    def unlink(c: dict) -> dict:
        iid = _id(c, "incident_id")
        call_links.unlink(ctx(), iid)
        return {"incident_id": iid}

    def suggest(c: dict) -> dict:
        iid = _id(c, "incident_id")
        with app.session() as s:
            from dispatch.services.queries import incident
            view = incident(s, iid)
            if view is None:
                raise DispatchError(f"警情 {iid} 不存在")
            found = call_links.suggest_links(s, view, app.clock.now())
        return {"incident_id": iid, "suggestions": [
            {"incident_id": x.incident_id, "score": x.score, "reasons": list(x.reasons),
             "status": x.status.value, "received_at": _iso(x.received_at), "category": x.category_label,
             "place": x.place_name, "distance_m": None if x.distance_m is None else round(x.distance_m, 1)}
            for x in found]}

    def calls(c: dict) -> dict:
        iid = _id(c, "incident_id")
        with app.session() as s:
            records = call_links.calls_of(s, iid)
        return {"incident_id": iid, "calls": [
            {"incident_id": r.incident_id, "number": r.number, "name": r.name,
             "received_at": _iso(r.received_at), "own": r.own,
             "reason": r.link.reason if r.link else "", "status": r.record.status.value}
            for r in records]}

    def history(c: dict) -> dict:
        number = _phone(c, "number").strip()
        exclude = _id(c, "incident_id") if "incident_id" in c else None
        with app.session() as s:
            h = caller_history.caller_history(s, number, app.clock.now(), exclude)
        mark = None if h.mark is None else {"mark": h.mark.mark, "label": h.mark.label, "note": h.mark.note,
                                            "at": _iso(h.mark.at), "operator": h.mark.operator}
        return {"number": number, "total": h.total, "last_24h": h.last_24h, "last_7d": h.last_7d,
                "by_result": h.by_result, "mark": mark,
                "incidents": [{"incident_id": x.incident_id, "received_at": _iso(x.received_at),
                               "category": x.category, "result": x.result, "place": x.place}
                              for x in h.calls]}

    def mark_number(c: dict) -> dict:
        number = _phone(c, "number")
        changes = caller_history.mark_number(ctx(), number, _text(c, "mark"), _text(c, "note", required=False))
        return {"number": number.strip(), "event_id": changes.last_event_id}

    return {"link": link, "unlink": unlink, "suggest_links": suggest, "calls": calls,
            "history": history, "mark_number": mark_number}
