"""Stations and the unit roster from CSV files.

stations.csv: name, kind (派出所/警务室/岗亭/群防驻点), osm_node (the OSM node the post
stands at; its coordinates come from the OSM data), note.
roster.csv: callsign, kind (a UnitKind value), station (a name in stations.csv),
duty (daily windows like '19:00-22:00', ';'-separated; empty = always), leader, phone,
members (head count), terminal (the 12-digit JT/T 808 terminal number of the unit's
vehicle or handset; empty = none), auth_code (its authentication code).
"""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.evolve import unit_created_payload
from dispatch.domain.units import DutyWindow, UnitKind, UnitStatus
from dispatch.geo.osm import OsmData
from dispatch.store import eventlog
from dispatch.store.schema import StationRow, UnitRow

IMPORT_OPERATOR = "import"  # the operator of the unit.created events a roster load appends


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]


def import_stations(session: Session, path: Path, osm: OsmData) -> dict[str, tuple[float, float]]:
    """Add the stations; returns name -> (lon, lat)."""
    out: dict[str, tuple[float, float]] = {}
    for r in _rows(path):
        node = int(r["osm_node"])
        if node not in osm.nodes:
            raise DispatchError(f"驻点 {r['name']} 的 OSM 节点 {node} 不在路网数据中")
        lon, lat = osm.nodes[node]
        session.add(StationRow(name=r["name"], kind=r["kind"], lon=lon, lat=lat,
                               source=f"OpenStreetMap node {node}（{r.get('note', '')}）"))
        out[r["name"]] = (lon, lat)
    return out


def import_roster(session: Session, path: Path, stations: dict[str, tuple[float, float]],
                  now: datetime) -> int:
    """Add the units, each at its station, available, with its duty windows."""
    n = 0
    for r in _rows(path):
        try:
            kind = UnitKind(r["kind"])
        except ValueError:
            raise DispatchError(f"未知的警力类型 {r['kind']!r}（{r['callsign']}）") from None
        if r["station"] not in stations:
            raise DispatchError(f"{r['callsign']} 的驻点 {r['station']} 不存在")
        duty = [w.strip() for w in r.get("duty", "").split(";") if w.strip()]
        for w in duty:
            DutyWindow.parse(w)  # validates
        terminal = r.get("terminal", "") or None
        if terminal is not None and not (terminal.isdigit() and len(terminal) <= 20):
            raise DispatchError(f"{r['callsign']} 的终端号 {terminal} 应为不超过 20 位的数字")
        if terminal is not None and not r.get("auth_code"):
            raise DispatchError(f"{r['callsign']} 有终端号 {terminal} 但没有鉴权码")
        lon, lat = stations[r["station"]]
        add_unit(session, now, callsign=r["callsign"], kind=kind.value, lon=lon, lat=lat,
                 station=r["station"], duty=duty, leader=r.get("leader", ""), phone=r.get("phone", ""),
                 members=int(r.get("members") or 1), terminal=terminal,
                 auth_code=r.get("auth_code", "") if terminal else "")
        n += 1
    return n


def add_unit(session: Session, now: datetime, *, callsign: str, kind: str, lon: float, lat: float,
             station: str, duty: list[str], leader: str = "", phone: str = "", members: int = 1,
             terminal: str | None = None, auth_code: str = "", seat: str = "",
             operator: str = IMPORT_OPERATOR) -> UnitRow:
    """A new unit at its post, available, and its unit.created event (what it is, where
    its post is: replay knows the unit from then on)."""
    row = UnitRow(callsign=callsign, kind=kind, status=UnitStatus.AVAILABLE.value, status_since=now,
                  lon=lon, lat=lat, position_at=now, home_lon=lon, home_lat=lat, station=station,
                  duty=duty, leader=leader, phone=phone, members=members, terminal=terminal,
                  auth_code=auth_code, position_source="post")
    session.add(row)
    session.flush()
    eventlog.append(session, at=now, seat=seat, operator=operator, kind=ev.UNIT_CREATED, unit_id=row.id,
                    payload=unit_created_payload(callsign, kind, station, lon, lat, duty=duty, leader=leader,
                                                 phone=phone, members=members, terminal=terminal))
    return row
