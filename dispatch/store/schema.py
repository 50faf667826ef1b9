"""Tables: the append-only event log, the current-state projections written in the
same transaction, unit positions, and the reference data (places, grids, stations)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


UTC = DateTime(timezone=True)
BigId = BigInteger().with_variant(Integer, "sqlite")


class EventRow(Base):
    """One event. Never updated, never deleted (guarded in store.db and by a trigger)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTC, index=True)
    seat: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 chain, see store.hashchain


class IncidentRow(Base):
    """Current state of an incident: a projection of its events."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(UTC)
    updated_at: Mapped[datetime] = mapped_column(UTC)
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    caller_name: Mapped[str] = mapped_column(String(64), default="")
    place_text: Mapped[str] = mapped_column(Text, default="")
    place_name: Mapped[str] = mapped_column(Text, default="")
    place_kind: Mapped[str] = mapped_column(String(32), default="")
    place_admin: Mapped[list] = mapped_column(JSON, default=list)
    qualifier: Mapped[str] = mapped_column(String(64), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_id: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32), default="")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    narrative: Mapped[str] = mapped_column(Text, default="")
    result_code: Mapped[str] = mapped_column(String(32), default="")
    close_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTC)
    seat: Mapped[str] = mapped_column(String(64), default="")
    operator: Mapped[str] = mapped_column(String(64), default="")

    __mapper_args__ = {"version_id_col": version}


class AssignmentRow(Base):
    """A unit sent to an incident (CallUnit): times of each step, for timelines."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    dispatched_at: Mapped[datetime] = mapped_column(UTC)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTC)
    en_route_at: Mapped[datetime | None] = mapped_column(UTC)
    arrived_at: Mapped[datetime | None] = mapped_column(UTC)
    cleared_at: Mapped[datetime | None] = mapped_column(UTC)
    eta_s: Mapped[float | None] = mapped_column(Float)
    route_m: Mapped[float | None] = mapped_column(Float)


class UnitRow(Base):
    """Current state of a unit: a projection of its events and positions."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    callsign: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_since: Mapped[datetime] = mapped_column(UTC)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTC)
    home_lon: Mapped[float] = mapped_column(Float)
    home_lat: Mapped[float] = mapped_column(Float)
    station: Mapped[str] = mapped_column(String(64), default="")
    duty: Mapped[list] = mapped_column(JSON, default=list)  # ["19:00-01:00", ...]
    leader: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    members: Mapped[int] = mapped_column(Integer, default=1)
    # the vehicle terminal (JT/T 808 phone number) and its authentication code
    terminal: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    auth_code: Mapped[str] = mapped_column(String(64), default="")
    # where lon/lat/position_at come from: post | avl | manual. Written by the AVL
    # receiver with Core UPDATEs that leave `version` alone.
    position_source: Mapped[str] = mapped_column(String(8), default="post")

    __mapper_args__ = {"version_id_col": version}


class PositionRow(Base):
    """Unit positions (AVL), append-only, kept for replay."""

    __tablename__ = "positions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTC)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_positions_unit_at", "unit_id", "at"),)


class StationRow(Base):
    """派出所, 警务室, 岗亭 and 群防群治 posts."""

    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text, default="")


class GridRow(Base):
    """A 网格: polygon (GeoJSON coordinates, WGS-84), its leader and members."""

    __tablename__ = "grids"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    polygon: Mapped[list] = mapped_column(JSON)  # [[lon, lat], ...] closed ring
    leader: Mapped[str] = mapped_column(String(64), default="")
    leader_phone: Mapped[str] = mapped_column(String(32), default="")
    members: Mapped[list] = mapped_column(JSON, default=list)  # [{"name","role","phone"}]
    police_unit_id: Mapped[int | None] = mapped_column(Integer)  # 警格: community officer


class PlaceRow(Base):
    """A gazetteer entry. `admin` is the administrative path broad to narrow."""

    __tablename__ = "places"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    admin: Mapped[list] = mapped_column(JSON, default=list)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str] = mapped_column(String(16), default="point")
    source: Mapped[str] = mapped_column(String(128), default="")
    extra: Mapped[dict] = mapped_column(JSON, default=dict)


class MetaRow(Base):
    """Key/value facts about this database (data set loaded, versions of caches)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    """An operator's account: name, role (dispatch.domain.roles.Role value) and the
    password's scrypt hash with its salt and parameters (see store.accounts)."""

    __tablename__ = "accounts"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTC)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)  # one of the demo's demo-<role> accounts
