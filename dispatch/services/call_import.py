"""import-calls: another system's call log into this centre's log. Each row becomes one
`call.imported` event and an incident closed from the start (history: in the statistics
and replay, never in the queue, never dispatchable), tagged with its source. Importing the
same file twice adds nothing (a call is known by its source and the source's id); a file
with any bad row imports nothing (the reader refuses it whole), and the rows are written in
one transaction, so a failure half-way keeps nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.evolve import imported_incident, parse_instant
from dispatch.importers.call_log import ImportedCall, read_call_log, read_mapping
from dispatch.services.context import Context, append_event, ensure_writable, instant, require
from dispatch.services.projection_rows import new_incident_row
from dispatch.store.schema import EventRow

Moments = tuple[datetime, datetime | None, datetime | None, datetime | None]


@dataclass(frozen=True)
class ImportResult:
    source: str
    rows: int
    added: int
    skipped: int  # already imported before

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "added": self.added, "skipped": self.skipped}


def _known(s: Session, source: str) -> set[str]:
    q = select(EventRow.payload).where(EventRow.kind == ev.CALL_IMPORTED)
    return {str(p.get("external_id")) for p in s.scalars(q) if p and p.get("source") == source}


def import_file(ctx: Context, path: str | Path, mapping_path: str | Path) -> ImportResult:
    """Read, check and import a call log (see dispatch.importers.call_log for the format)."""
    ensure_writable(ctx)
    require(ctx, "calls.import")
    mapping = read_mapping(mapping_path)
    calls = read_call_log(path, mapping)  # every row checked before anything is written
    return import_calls(ctx, calls, mapping.source or Path(path).stem[:64])


def import_calls(ctx: Context, calls: list[ImportedCall], source: str) -> ImportResult:
    ensure_writable(ctx)
    require(ctx, "calls.import")
    seat = f"导入:{source}"[:64]
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        known = _known(s, source)
        added = 0
        for call in calls:
            if call.external_id in known:
                continue
            payload = call.payload(source)
            if call.lon is not None and call.lat is not None and ctx.grid_of is not None:
                payload["grid_id"] = ctx.grid_of(call.lon, call.lat)
            row = new_incident_row(imported_incident(0, now, seat, ctx.actor.operator, payload))
            s.add(row)
            s.flush()
            append_event(ctx, s, ev.CALL_IMPORTED, row.id, at=now, payload=payload)
            known.add(call.external_id)
            added += 1
        return ImportResult(source, len(calls), added, len(calls) - added)


def imported_moments(s: Session, incident_ids: list[int] | None = None) -> dict[int, Moments]:
    """(received, dispatched, arrived, closed) of imported incidents, from their events."""
    q = select(EventRow.incident_id, EventRow.payload).where(EventRow.kind == ev.CALL_IMPORTED)
    if incident_ids is not None:
        q = q.where(EventRow.incident_id.in_(incident_ids))
    out: dict[int, Moments] = {}
    for iid, p in s.execute(q):
        received = parse_instant(p.get("received_at"))
        if iid is not None and received is not None:
            out[iid] = (received, parse_instant(p.get("dispatched_at")), parse_instant(p.get("arrived_at")),
                        parse_instant(p.get("closed_at")))
    return out
