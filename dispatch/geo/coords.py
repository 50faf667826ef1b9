"""Coordinates. Everything inside the console is WGS-84 (lon, lat); Chinese web-map
systems (GCJ-02, BD-09) are converted at the edges with these functions."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from dispatch.domain.errors import DispatchError

if TYPE_CHECKING:  # numpy is imported by the vectorised function only (start-up)
    import numpy as np

EARTH_RADIUS_M = 6_371_008.8
_A = 6378245.0
_EE = 0.00669342162296594323


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def haversine_many_m(lon, lat, lons, lats) -> np.ndarray:
    """Great-circle distances in metres, vectorised (any of the four may be arrays)."""
    import numpy as np

    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(np.asarray(lons) - lon)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


# China (the mainland, its coastal waters and islands; WGS-84 lon/lat bounds): the one box
# every "is this point in China" check uses — the position feed, the importers, a located
# incident, a manual unit fix, the caller's carrier location — and where the GCJ-02 offset applies.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon min, lat min, lon max, lat max
NOT_IN_CHINA = "不在中国境内（经纬度是否写反？）"


def in_china(lon: float, lat: float) -> bool:
    """True when (lon, lat) is inside CHINA_BOX; False for NaN, infinities and non-numbers."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return False
    return CHINA_BOX[0] <= lon <= CHINA_BOX[2] and CHINA_BOX[1] <= lat <= CHINA_BOX[3]


def in_china_many(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """in_china over arrays: a boolean mask (NaN is outside)."""
    lo, la, hi, ha = CHINA_BOX
    return (lon >= lo) & (lon <= hi) & (lat >= la) & (lat <= ha)


def check_in_china(lon: float, lat: float, what: str = "坐标") -> None:
    """DispatchError naming `what` and the point when it is not in China (or not a number)."""
    if not in_china(lon, lat):
        raise DispatchError(f"{what} {_fmt(lon)},{_fmt(lat)} {NOT_IN_CHINA}")


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else repr(v)


def _out_of_china(lon: float, lat: float) -> bool:
    return not in_china(lon, lat)


def _transform_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _transform_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (the offset of Chinese web maps); unchanged outside China."""
    if _out_of_china(lon, lat):
        return lon, lat
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 by fixed-point iteration (error well under 1 cm)."""
    if _out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(6):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    return wlon, wlat


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x_pi = math.pi * 3000.0 / 180.0
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * x_pi)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * x_pi)
    return z * math.cos(theta), z * math.sin(theta)


def parse_lonlat(text: str) -> tuple[float, float]:
    """Parse 'LON,LAT' as given on the command line; DispatchError if malformed or not
    in China (the console's points are)."""
    try:
        a, b = (float(p) for p in text.replace("，", ",").split(","))
    except ValueError:
        raise DispatchError(f"坐标格式应为 经度,纬度 (例如 121.475,31.232): {text!r}") from None
    check_in_china(a, b)
    return a, b
