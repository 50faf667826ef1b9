"""Display formats: local time, ages, distances (shared by every screen)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | None, with_date: bool = False) -> str:
    if value is None:
        return ""
    t = value.astimezone(LOCAL)
    return t.strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}时{(s % 3600) // 60:02d}分"


def distance(metres: float | None) -> str:
    if metres is None:
        return ""
    return f"{metres:.0f} 米" if metres < 1000 else f"{metres / 1000:.1f} 公里"


def position_text(unit, describe=None) -> str:  # noqa: ANN001 (UnitSnapshot, Describe)
    """A unit's position in words: at its post, the nearest road (when `describe`
    names it), or the distance from its post; never raw coordinates."""
    from dispatch.geo.coords import haversine_m

    station = unit.station or "驻点"
    off = haversine_m(unit.lon, unit.lat, unit.home_lon, unit.home_lat)
    if off < 15:
        return f"驻点 {station}"
    label = describe(unit.lon, unit.lat) if describe else None
    if label:
        return label
    return f"距{station} {distance(off)}"


class PositionNames:
    """(lon, lat) -> the nearest road or junction ("福州路 北15米"), from the app's reverse
    geocoder once it is loaded (never loaded here, on the GUI thread); cached per position.
    None while it is not loaded or names nothing."""

    def __init__(self, app) -> None:  # noqa: ANN001 (dispatch.bootstrap.App)
        self.app = app
        self._cache: dict[tuple[float, float], str | None] = {}

    def clear(self) -> None:
        self._cache.clear()

    def __call__(self, lon: float, lat: float) -> str | None:
        key = (round(lon, 5), round(lat, 5))
        if key in self._cache:
            return self._cache[key]
        reverse = self.app.__dict__.get("reverse")
        if reverse is None:
            return None
        try:
            point = reverse.describe(lon, lat)
            label = point.label if point is not None else None
        except Exception:  # noqa: BLE001 - a name is a nicety; the board falls back to the post
            label = None
        if len(self._cache) > 5000:
            self._cache.clear()
        self._cache[key] = label
        return label
