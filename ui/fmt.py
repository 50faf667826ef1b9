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
