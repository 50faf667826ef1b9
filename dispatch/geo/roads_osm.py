"""OSM tags -> road graph rules: speed by class or maxspeed, one-way, car-only roads.
The table and the rules are described in dispatch.geo.roads."""
from __future__ import annotations

import re

SPEED_KMH: dict[str, float] = {
    "motorway": 60, "motorway_link": 40, "trunk": 50, "trunk_link": 35,
    "primary": 40, "primary_link": 30, "secondary": 35, "secondary_link": 25,
    "tertiary": 30, "tertiary_link": 25, "unclassified": 25, "residential": 20,
    "road": 20, "service": 15, "living_street": 10,
}
ELEVATED_SPEED_KMH = {"trunk": 60.0, "trunk_link": 40.0, "motorway": 60.0, "motorway_link": 40.0}
MAXSPEED_FACTOR = 0.8
EBIKE_MAX_KMH = 20.0
FOOT_KMH = 5.0


def parse_maxspeed(text: str | None) -> float | None:
    """'40', '40 km/h', '30 mph', "['40', '50']" -> km/h (lowest if several)."""
    if not text:
        return None
    vals = []
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(mph)?", text):
        v = float(num) * (1.609344 if unit else 1.0)
        if v > 0:
            vals.append(v)
    return min(vals) if vals else None


def _way_speed(highway: str, tags: dict[str, str]) -> float:
    ms = parse_maxspeed(tags.get("maxspeed"))
    if ms is not None:
        return ms * MAXSPEED_FACTOR
    if tags.get("bridge", "no") not in ("no", "") and highway in ELEVATED_SPEED_KMH:
        return ELEVATED_SPEED_KMH[highway]
    return float(SPEED_KMH.get(highway, 20))


# Urban arterial roads whose tunnels are for motor vehicles only (Shanghai's 外滩隧道,
# 人民路隧道, 延安东路隧道 under the river, ... are primary roads tagged tunnel=yes):
# neither e-bikes nor people on foot go through them, and no incident is inside one.
_MOTOR_TUNNEL_CLASSES = ("primary", "secondary", "tertiary")


def _car_only(highway: str, tags: dict[str, str]) -> bool:
    """Roads for motor vehicles only: motorways, elevated or tunnelled trunks, and tunnels
    of the arterial classes. They are left out of the e-bike and foot graphs, and an
    incident is never snapped onto them (RoadGraph.snap_modes, `ground`)."""
    if highway.startswith("motorway"):
        return True
    tunnel = tags.get("tunnel", "no") not in ("no", "")
    if highway.startswith("trunk"):
        return tunnel or tags.get("bridge", "no") not in ("no", "")
    return tunnel and highway.removesuffix("_link") in _MOTOR_TUNNEL_CLASSES


def oneway_of(highway: str, tags: dict[str, str]) -> int:
    """The one one-way rule (routing and the map's arrows both use it): 1 forward only
    (in node order), -1 reversed only, 0 both ways. ``oneway=yes/true/1`` forward,
    ``oneway=-1/reverse`` reversed, ``oneway=no/false/0`` both ways; untagged, motorways,
    motorway links and roundabouts (``junction=roundabout|circular``) are forward and
    every other road both ways."""
    ow = tags.get("oneway", "").strip().lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow in ("no", "false", "0"):
        return 0
    if highway in ("motorway", "motorway_link") or tags.get("junction") in ("roundabout", "circular"):
        return 1
    return 0
