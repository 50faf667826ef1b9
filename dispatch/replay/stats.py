"""Statistics of a period: calls per hour, by category, by grid; interval percentiles
against the targets; year-on-year where the data reaches back; CSV export.

Calls and incidents are counted apart: every call opens an incident, and a repeated call
linked to another incident (dispatch.services.call_links) is a call but not an incident
of its own — `calls` = every call received, `incidents` = calls − `linked_calls`."""
from __future__ import annotations

from dispatch.domain.errors import DispatchError

import csv
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.replay.timeline import INTERVALS, intervals
from dispatch.services.queries import IncidentView
from dispatch.settings import Targets

PERCENTILES = (50, 90, 95)


@dataclass
class IntervalStats:
    name: str
    n: int
    percentiles: dict[int, float]   # percentile -> seconds
    target_s: float | None
    share_met: float | None         # share of calls within the target


@dataclass
class PeriodStats:
    since: datetime | None
    until: datetime | None
    calls: int
    per_hour: list[tuple[datetime, int]]          # local hour start -> calls
    hour_of_day: list[int]                         # 24 counts, local time
    by_category: list[tuple[str, int]]             # Chinese label, most first
    by_grid: list[tuple[str, int]]
    intervals: list[IntervalStats]
    dispatch_share_target: float
    last_year_calls: int | None                    # None: data does not reach back
    extra: dict = field(default_factory=dict)
    linked_calls: int = 0                          # calls linked to another incident (重复报警)

    @property
    def incidents(self) -> int:
        return self.calls - self.linked_calls

    @property
    def year_on_year(self) -> float | None:
        if not self.last_year_calls:
            return None
        return (self.calls - self.last_year_calls) / self.last_year_calls

    def as_json(self) -> dict:
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"since": iso(self.since), "until": iso(self.until), "calls": self.calls,
                "incidents": self.incidents, "linked_calls": self.linked_calls,
                "per_hour": [[iso(h), n] for h, n in self.per_hour], "hour_of_day": self.hour_of_day,
                "by_category": dict(self.by_category), "by_grid": dict(self.by_grid),
                "intervals": [{"name": i.name, "n": i.n, **{f"p{k}_s": v for k, v in i.percentiles.items()},
                               "target_s": i.target_s, "share_met": i.share_met} for i in self.intervals],
                "dispatch_share_target": self.dispatch_share_target,
                "last_year_calls": self.last_year_calls, "year_on_year": self.year_on_year}


def _in(v: IncidentView, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or v.received_at >= since) and (until is None or v.received_at < until)


LINK_NOTE = "重复报警，已关联到警情 "  # how call_links.link words the close note


def is_linked_call(v: IncidentView) -> bool:
    """A call closed by call_links.link (read from its folded close): used when the caller
    does not pass the links read from the log."""
    return v.result_code == "duplicate" and v.close_note.startswith(LINK_NOTE)


def compute_stats(incidents: Sequence[IncidentView], targets: Targets, since: datetime | None = None,
                  until: datetime | None = None, tz: str = "Asia/Shanghai",
                  ack_target_s: float = 60.0, linked: Collection[int] | None = None) -> PeriodStats:
    """Statistics of the incidents received in [since, until) (their final states).
    `linked`: the ids of the calls linked to another incident (call_links.current_links);
    without it a linked call is recognised by its close (is_linked_call)."""
    zone = ZoneInfo(tz)
    chosen = [v for v in incidents if _in(v, since, until)]
    n_linked = sum(1 for v in chosen if (v.id in linked if linked is not None else is_linked_call(v)))
    hours: Counter = Counter()
    hod = [0] * 24
    for v in chosen:
        local = v.received_at.astimezone(zone)
        hours[local.replace(minute=0, second=0, microsecond=0)] += 1
        hod[local.hour] += 1
    per_hour = []
    if hours:
        h, last = min(hours), max(hours)
        while h <= last:
            per_hour.append((h, hours.get(h, 0)))
            h = (h + timedelta(hours=1)).astimezone(zone)
    cats = Counter(CATEGORY_BY_CODE[v.category].label if v.category in CATEGORY_BY_CODE else (v.category or "未定性")
                   for v in chosen)  # an imported call keeps its source's words
    grids = Counter(v.grid_id or "网格外" for v in chosen)
    samples: dict[str, list[tuple[float, bool | None]]] = {n: [] for n in INTERVALS}
    target_of: dict[str, float | None] = {}
    for v in chosen:
        for iv in intervals(v, targets, ack_target_s):
            target_of.setdefault(iv.name, iv.target_s)
            if iv.seconds is not None:
                samples[iv.name].append((iv.seconds, iv.met))
    stats = []
    for name in INTERVALS:
        xs = samples[name]
        values = np.array([x[0] for x in xs]) if xs else np.empty(0)
        pct = {p: round(float(np.percentile(values, p)), 1) for p in PERCENTILES} if len(values) else {}
        met = [x[1] for x in xs if x[1] is not None]
        stats.append(IntervalStats(name, len(xs), pct, target_of.get(name),
                                   round(sum(met) / len(met), 4) if met else None))
    last_year = None
    if since is not None and until is not None and incidents:
        ly_since, ly_until = _year_back(since), _year_back(until)
        if min(v.received_at for v in incidents) <= ly_since:
            last_year = sum(1 for v in incidents if _in(v, ly_since, ly_until))
    return PeriodStats(since, until, len(chosen), per_hour, hod, cats.most_common(), grids.most_common(),
                       stats, targets.dispatch_share, last_year, linked_calls=n_linked)


def _year_back(d: datetime) -> datetime:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def check_output_path(path: str | Path) -> Path:
    """A file path that can be written: not a directory, in an existing directory."""
    path = Path(path)
    if path.is_dir():
        raise DispatchError(f"输出路径是一个目录，请给出文件名: {path}")
    if not path.parent.is_dir():
        raise DispatchError(f"输出目录不存在: {path.parent}")
    return path


def write_csv(stats: PeriodStats, path: Path) -> None:
    """All tables of the statistics in one CSV (section, key, value, ...), UTF-8 with BOM
    so that spreadsheet programs open the Chinese labels correctly."""
    path = check_output_path(path)
    try:
        fh = open(path, "w", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DispatchError(f"无法写入 CSV 文件 {path}: {exc.strerror or exc}") from None
    with fh:
        w = csv.writer(fh)
        w.writerow(["section", "key", "value", "extra"])
        w.writerow(["period", "since", stats.since.isoformat() if stats.since else "", ""])
        w.writerow(["period", "until", stats.until.isoformat() if stats.until else "", ""])
        w.writerow(["period", "calls", stats.calls, ""])
        w.writerow(["period", "incidents", stats.incidents, ""])
        w.writerow(["period", "linked_calls", stats.linked_calls, ""])
        w.writerow(["period", "last_year_calls", "" if stats.last_year_calls is None else stats.last_year_calls,
                    "" if stats.year_on_year is None else round(stats.year_on_year, 4)])
        for h, n in stats.per_hour:
            w.writerow(["per_hour", h.isoformat(), n, ""])
        for hour, n in enumerate(stats.hour_of_day):
            w.writerow(["hour_of_day", f"{hour:02d}", n, ""])
        for label, n in stats.by_category:
            w.writerow(["by_category", label, n, ""])
        for grid, n in stats.by_grid:
            w.writerow(["by_grid", grid, n, ""])
        for iv in stats.intervals:
            for p, v in iv.percentiles.items():
                w.writerow(["interval", f"{iv.name} p{p}", v, f"target={iv.target_s}"])
            w.writerow(["interval", f"{iv.name} share_met", "" if iv.share_met is None else iv.share_met,
                        f"n={iv.n}"])
