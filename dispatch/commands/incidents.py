"""Headless commands on units, incidents and the event log."""
from __future__ import annotations

import argparse

from typing import TYPE_CHECKING

from dispatch.commands.support import open_app, print_json, record_id

if TYPE_CHECKING:
    from dispatch.services import queries


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("units", help="list units with status and position")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_units)

    p = commands.add_parser("incidents", help="list open incidents (or all with --all)")
    p.add_argument("--all", action="store_true", help="include the last 50 closed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_incidents)

    p = commands.add_parser("events", help="the event log in order")
    p.add_argument("--incident", type=record_id)
    p.add_argument("--since", type=record_id, default=0, help="only events with id > SINCE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_events)


def _units(args: argparse.Namespace) -> int:
    from dispatch.domain.duty import shown_status
    from dispatch.services.queries import unit_json
    app = open_app(args)
    units = app.unit_snapshots()
    now, settings = app.clock.now(), app.settings
    if args.json:
        print_json([unit_json(u, now, settings.stale_position_s)
                    | {"shown_status": shown_status(u, now, settings.tz).value} for u in units])
    else:
        for u in units:
            duty = ",".join(str(w) for w in u.duty) or "全天"
            print(f"{u.id:>4} {u.callsign:<8} {u.kind.label:<6} {shown_status(u, now, settings.tz).label:<4} "
                  f"{u.lon:.6f},{u.lat:.6f}  {u.station} 在岗:{duty}")
    return 0


def _incident_json(i: queries.IncidentView) -> dict:
    return {"id": i.id, "status": i.status.value, "received_at": i.received_at.isoformat(),
            "caller_number": i.caller_number, "place": i.place_name, "lon": i.lon, "lat": i.lat,
            "grid_id": i.grid_id, "category": i.category, "priority": i.priority,
            "result_code": i.result_code,
            "units": [a.unit_id for a in i.assignments if a.open]}


def _incidents(args: argparse.Namespace) -> int:
    from dispatch.services import queries
    app = open_app(args)
    with app.session() as s:
        rows = queries.open_incidents(s) + (queries.recent_closed(s) if args.all else [])
    if args.json:
        from dispatch.services.call_links import calls_of
        from dispatch.services.callbacks import callbacks
        from dispatch.services.joint_response import notifications
        ids = [i.id for i in rows]
        with app.session() as s:
            told, called = notifications(s, ids), callbacks(s, ids)
            calls = {i: len(calls_of(s, i)) for i in ids}  # its own call and the calls linked to it
        print_json([_incident_json(i) | {"calls": calls[i.id],
                                         "notifications": [n.as_json() for n in told[i.id]],
                                         "callback": c.as_json() if (c := called[i.id]) else None}
                    for i in rows])
    else:
        for i in rows:
            print(f"{i.id:>5} {i.status.label} {i.received_at:%Y-%m-%d %H:%M:%S}Z "
                  f"{i.place_name or '(未定位)'} {i.category}")
    return 0


def _events(args: argparse.Namespace) -> int:
    from dispatch.domain.events import KIND_LABELS
    from dispatch.store import eventlog
    app = open_app(args)
    with app.session() as s:
        rows = eventlog.read(s, since_id=args.since, incident_id=args.incident)
    if args.json:
        print_json([e.as_json() for e in rows])
    else:
        for e in rows:
            print(f"{e.id:>6} {e.occurred_at:%Y-%m-%d %H:%M:%S}Z {e.seat}/{e.operator} "
                  f"{KIND_LABELS.get(e.kind, e.kind)} 警情={e.incident_id or '-'} "
                  f"警力={e.unit_id or '-'} {e.payload}")
    return 0
