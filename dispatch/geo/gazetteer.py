"""Gazetteer records: a Place as stored (one `places` row) and a Candidate as
returned by the geocoder, with helpers to write places in bulk."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterable

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from dispatch.store.schema import PlaceRow

KIND_LABELS = {
    "province": "省级", "prefecture": "地级", "county": "县级", "town": "乡镇/街道",
    "village": "村/社区", "road": "道路", "intersection": "路口", "landmark": "地标",
    "poi": "兴趣点", "school": "学校", "hospital": "医院", "shopping": "商场",
    "address": "门牌地址", "station": "站点", "segment": "路段", "square": "广场",
}
ADMIN_KINDS = ("province", "prefecture", "county", "town", "village")


@dataclass(slots=True)
class Place:
    """One gazetteer entry. lon/lat are WGS-84; admin is broad -> narrow."""

    name: str
    kind: str
    lon: float | None
    lat: float | None
    admin: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    precision: str = "point"
    source: str = ""
    extra: dict = field(default_factory=dict)
    id: int | None = None

    def row_values(self) -> dict:
        """Column values of the `places` row (id left to the database)."""
        return {"name": self.name[:128], "kind": self.kind, "aliases": list(self.aliases),
                "admin": list(self.admin), "lon": self.lon, "lat": self.lat,
                "precision": self.precision, "source": self.source[:128],
                "extra": dict(self.extra)}


@dataclass(slots=True)
class Candidate:
    """A place offered for the caller's text, with why and where it is."""

    place_id: int | None
    name: str
    kind: str
    lon: float | None
    lat: float | None
    admin: list[str]
    score: float
    precision: str
    source: str
    context: str = ""
    qualifier: str = ""
    distance_m: float | None = None
    partial: bool = False   # matches only part of what was said: never pre-selected
    differs: str = ""       # what differs when partial, e.g. "东→西，“外滩”未对上"
    cut: int = 0            # characters of the input not read (length cap)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def as_json(self) -> dict:
        """The candidate as the CLI and the UI exchange it."""
        d = asdict(self)
        d.pop("place_id")
        d["score"] = round(self.score, 4)
        if self.distance_m is not None:
            d["distance_m"] = round(self.distance_m, 1)
        return d


def write_places(session: Session, places: Iterable[Place], chunk: int = 20000) -> int:
    """Bulk-insert places; returns how many were written. The caller commits."""
    table = PlaceRow.__table__
    assert isinstance(table, Table)
    n = 0
    batch: list[dict] = []
    for p in places:
        batch.append(p.row_values())
        if len(batch) >= chunk:
            session.execute(insert(table), batch)
            n += len(batch)
            batch = []
    if batch:
        session.execute(insert(table), batch)
        n += len(batch)
    return n
