"""A located place as the services record it (from a geocoder candidate or a map click),
and the reverse geocoder that names a map click (`load_reverse`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import check_in_china

if TYPE_CHECKING:
    from dispatch.geo.gazetteer import Candidate
    from dispatch.geo.grids import GridIndex
    from dispatch.geo.reverse import PointName, ReverseGeocoder
    from dispatch.store.db import Store

MANUAL_NAME = "地图选点"


@dataclass(frozen=True)
class Location:
    name: str
    lon: float
    lat: float
    kind: str = "manual"
    admin: list[str] = field(default_factory=list)
    qualifier: str = ""
    text: str = ""         # what the call-taker typed
    source: str = ""
    precision: str = "point"

    def validate(self) -> None:
        check_in_china(self.lon, self.lat, "地点坐标")
        if not self.name.strip():
            raise DispatchError("地点名称不能为空")

    @classmethod
    def from_candidate(cls, cand: Candidate, text: str = "") -> "Location":
        if cand.lon is None or cand.lat is None:
            raise DispatchError(f"候选地点没有坐标: {cand.name}")
        return cls(name=cand.name, lon=cand.lon, lat=cand.lat, kind=cand.kind,
                   admin=list(cand.admin), qualifier=cand.qualifier, text=text,
                   source=cand.source, precision=cand.precision)

    @classmethod
    def manual(cls, lon: float, lat: float, text: str = "",
               point: PointName | None = None) -> "Location":
        """A point set on the map, named by `point` (the reverse geocoder's description,
        e.g. '福州路与西藏中路交叉口 东40米'), else just '地图选点'; never by its
        coordinates (they stay in lon/lat)."""
        return cls(name=point.label if point is not None else MANUAL_NAME, lon=lon, lat=lat,
                   kind="manual", admin=list(point.admin) if point is not None else [],
                   text=text, source="地图点选", precision="point")

    def payload(self) -> dict[str, Any]:
        return {"name": self.name, "lon": self.lon, "lat": self.lat, "kind": self.kind,
                "admin": self.admin, "qualifier": self.qualifier, "text": self.text,
                "source": self.source, "precision": self.precision}


def load_reverse(store: Store, osm_path: Path, grid_index: GridIndex) -> ReverseGeocoder:
    """The reverse geocoder over the road file the console routes on, with the posts
    (stations) and the admin path of the named roads from the gazetteer."""
    from sqlalchemy import select

    from dispatch.geo.reverse import ReverseGeocoder
    from dispatch.geo.osm import read_osm
    from dispatch.services.queries import stations
    from dispatch.store.schema import PlaceRow

    with store.reader() as s:
        posts = [(st.name, st.lon, st.lat) for st in stations(s)]
        admin_of = {name: list(admin or []) for name, admin in
                    s.execute(select(PlaceRow.name, PlaceRow.admin).where(PlaceRow.kind == "road"))}
    common = _common_prefix(list(admin_of.values()))
    return ReverseGeocoder(read_osm(osm_path), admin=common, grid_of=grid_index.grid_at,
                           posts=posts, admin_of=admin_of)


def _common_prefix(paths: list[list[str]]) -> list[str]:
    """The admin path every road shares (the area's), e.g. ['上海市', '黄浦区']."""
    if not paths:
        return []
    out = list(paths[0])
    for p in paths[1:]:
        n = 0
        while n < min(len(out), len(p)) and out[n] == p[n]:
            n += 1
        out = out[:n]
    return out
