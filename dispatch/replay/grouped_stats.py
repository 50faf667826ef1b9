"""Statistics by group (`stats --by priority|category|grid|hour --json`): calls and the
three intervals a centre compares with others' published logs, for the whole period and
for each group:

    {"calls": N, "intervals": {"received_to_dispatched": {"n", "p50_s", "p90_s"},
                               "received_to_arrived": {...}, "arrived_to_closed": {...}},
     "groups": {KEY: {"calls": N, "intervals": {...}}}}

An interval is counted when both of its ends are known (blank arrival times leave the
call out of the two intervals that need them). Percentiles interpolate linearly between
the closest ranks (numpy's default; `statistics.quantiles(..., method="inclusive")`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.queries import IncidentView

GROUPINGS = ("priority", "category", "grid", "hour")
INTERVAL_KEYS = ("received_to_dispatched", "received_to_arrived", "arrived_to_closed")
PRIORITY_LABELS = {"urgent": "紧急", "normal": "非紧急"}


def moments(v: IncidentView) -> tuple[datetime, datetime | None, datetime | None, datetime | None]:
    """(received, first dispatched, first arrived, closed) of an incident."""
    dispatched = min((a.dispatched_at for a in v.assignments), default=None)
    arrived = min((a.arrived_at for a in v.assignments if a.arrived_at is not None), default=None)
    return v.received_at, dispatched, arrived, v.closed_at


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def _interval_figures(views: Sequence[IncidentView],
                      moments_of: Callable[[IncidentView], tuple]) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[float]] = {k: [] for k in INTERVAL_KEYS}
    for v in views:
        rec, disp, arr, closed = moments_of(v)
        for key, value in zip(INTERVAL_KEYS, (_seconds(rec, disp), _seconds(rec, arr), _seconds(arr, closed))):
            if value is not None:
                samples[key].append(value)
    out = {}
    for key, xs in samples.items():
        arr = np.asarray(xs, dtype=np.float64)
        out[key] = {"n": len(xs),
                    "p50_s": round(float(np.percentile(arr, 50)), 1) if len(xs) else None,
                    "p90_s": round(float(np.percentile(arr, 90)), 1) if len(xs) else None}
    return out


def group_key(by: str, v: IncidentView, zone: ZoneInfo) -> str:
    """The group of an incident: priority and category in the console's words (or the
    source's own, for an imported call-log row), the grid id, the local hour "00".."23"."""
    if by == "priority":
        return PRIORITY_LABELS.get(v.priority, v.priority or "未定")
    if by == "category":
        cat = CATEGORY_BY_CODE.get(v.category)
        return cat.label if cat else (v.category or "未定性")
    if by == "grid":
        return v.grid_id or "网格外"
    if by == "hour":
        return f"{v.received_at.astimezone(zone).hour:02d}"
    raise DispatchError(f"未知的分组: {by!r}；可选: {'、'.join(GROUPINGS)}")


def grouped_stats(incidents: Sequence[IncidentView], by: str | None, tz: str,
                  since: datetime | None = None, until: datetime | None = None,
                  moments_of: Callable[[IncidentView], tuple] = moments) -> dict[str, Any]:
    """The figures above for the incidents received in [since, until)."""
    if by is not None and by not in GROUPINGS:
        raise DispatchError(f"未知的分组: {by!r}；可选: {'、'.join(GROUPINGS)}")
    zone = ZoneInfo(tz)
    chosen = [v for v in incidents if (since is None or v.received_at >= since)
              and (until is None or v.received_at < until)]
    out: dict[str, Any] = {"calls": len(chosen), "intervals": _interval_figures(chosen, moments_of)}
    if by is not None:
        groups: dict[str, list[IncidentView]] = {}
        for v in chosen:
            groups.setdefault(group_key(by, v, zone), []).append(v)
        out["by"] = by
        out["groups"] = {k: {"calls": len(vs), "intervals": _interval_figures(vs, moments_of)}
                         for k, vs in sorted(groups.items())}
    return out
