"""A located place as the services record it (from a geocoder candidate or a map click)."""
from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.domain.errors import DispatchError


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
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise DispatchError(f"坐标超出范围: {self.lon}, {self.lat}")
        if not self.name.strip():
            raise DispatchError("地点名称不能为空")

    @classmethod
    def from_candidate(cls, cand, text: str = "") -> "Location":  # noqa: ANN001 (gazetteer.Candidate)
        return cls(name=cand.name, lon=cand.lon, lat=cand.lat, kind=cand.kind,
                   admin=list(cand.admin), qualifier=cand.qualifier, text=text,
                   source=cand.source, precision=cand.precision)

    @classmethod
    def manual(cls, lon: float, lat: float, text: str = "") -> "Location":
        return cls(name=f"地图选点 {lon:.5f},{lat:.5f}", lon=lon, lat=lat, kind="manual",
                   text=text, source="地图点选", precision="point")

    def payload(self) -> dict:
        return {"name": self.name, "lon": self.lon, "lat": self.lat, "kind": self.kind,
                "admin": self.admin, "qualifier": self.qualifier, "text": self.text,
                "source": self.source, "precision": self.precision}
