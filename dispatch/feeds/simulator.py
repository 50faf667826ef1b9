"""A shift simulator that drives the REAL services with a ManualClock.

Calls arrive with a realistic hourly profile (quiet before dawn, busy late morning and
evening) and the category mix of the seeds (矛盾纠纷 nearly half). Each call is taken,
located at a place, categorised, and the nearest fit available unit is dispatched; the
unit acknowledges (sometimes late), sets off, drives its route at road speed reporting
positions, arrives, stays on scene for a while, the incident is closed with a result
code, and the unit drives home (still reporting) unless it is sent elsewhere first.
群防群治 forces go on and off duty by their duty windows. Calls that find no unit wait
in the queue until one is free.
"""
from __future__ import annotations


import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dispatch.domain.incidents import CATEGORY_BY_CODE, Category
from dispatch.domain.units import UnitSnapshot, UnitStatus, VOLUNTEER_CAPABILITIES
from dispatch.feeds.sim_setup import STRAIGHT_SPEED, StraightRouter
from dispatch.geo.coords import haversine_m as haversine
from dispatch.services.locations import Location

# Share of calls by local hour (110 centres: low 02-06, peaks late morning and evening).
HOURLY_PROFILE = (3.2, 2.6, 2.0, 1.6, 1.4, 1.5, 2.0, 2.8, 3.6, 4.4, 4.8, 4.8,
                  4.5, 4.3, 4.4, 4.5, 4.6, 4.7, 4.9, 5.2, 5.4, 5.3, 4.8, 4.0)
CATEGORY_MIX = (("dispute", 46), ("theft", 8), ("traffic_accident", 7), ("telecom_fraud", 6),
                ("public_order", 5), ("lost_property", 5), ("complaint", 4), ("missing_person", 3),
                ("utility_hazard", 3), ("provocation", 3), ("stranded", 2), ("criminal", 2),
                ("fire", 1), ("gambling", 1), ("life_risk", 1), ("mass_incident", 0.5),
                ("disaster", 0.5))
RESULTS = {"dispute": (("mediated", 70), ("advised", 25), ("no_trace", 5)),
           "theft": (("handled", 80), ("no_trace", 20)),
           "telecom_fraud": (("handled", 60), ("advised", 40)),
           "lost_property": (("advised", 60), ("rescued", 20), ("no_trace", 20)),
           "missing_person": (("rescued", 85), ("no_trace", 15)),
           "stranded": (("rescued", 90), ("advised", 10)),
           "life_risk": (("rescued", 90), ("transferred", 10)),
           "fire": (("transferred", 70), ("rescued", 30)),
           "utility_hazard": (("transferred", 80), ("advised", 20)),
           "complaint": (("advised", 70), ("transferred", 30))}
DEFAULT_RESULTS = (("handled", 75), ("advised", 15), ("no_trace", 10))
ON_SCENE_MIN = {"dispute": (15, 45), "theft": (20, 50), "traffic_accident": (20, 40),
                "fire": (30, 90), "mass_incident": (40, 120), "criminal": (30, 90),
                "missing_person": (30, 90), "telecom_fraud": (15, 35)}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class SimConfig:
    hours: float = 8.0
    calls: int = 100
    seed: int = 1
    start: datetime = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
    position_interval_s: float = 30.0
    tz: str = "Asia/Shanghai"
    late_ack_share: float = 0.08      # dispatches acknowledged after the 60 s alarm
    no_dispatch_share: float = 0.05   # closed from the seat (重复报警, 无效警情, 电话劝解)
    use_recommend: bool = False       # rank by services.recommend (needs the road graph)
    # A parked terminal's report interval (0: a unit reports only while driving). Real
    # terminals keep reporting when stationary; above a kind's stale limit (patrol cars
    # 2 min) every parked car of a live demo would turn grey on the board.
    idle_report_s: float = 0.0


@dataclass
class SimResult:
    calls: int = 0
    dispatched: int = 0
    closed: int = 0
    positions: int = 0
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class _Unit:
    snap: UnitSnapshot
    status: UnitStatus = UnitStatus.AVAILABLE
    incident: int | None = None
    trip: int = 0                      # token: a newer trip cancels the old one's reports
    path: list = field(default_factory=list)   # [(t, lon, lat)] of the current trip
    lon: float = 0.0
    lat: float = 0.0
    off_when_free: bool = False
    last_report: datetime | None = None


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def call_times(cfg: SimConfig, rng: random.Random) -> list[datetime]:
    """Call arrival instants over the period, following HOURLY_PROFILE in local time."""
    tz = ZoneInfo(cfg.tz)
    slots, weights = [], []
    t, end = cfg.start, cfg.start + timedelta(hours=cfg.hours)
    while t < end:
        nxt = min(end, (t + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
        slots.append((t, (nxt - t).total_seconds()))
        weights.append(HOURLY_PROFILE[t.astimezone(tz).hour] * (nxt - t).total_seconds())
        t = nxt
    picks = rng.choices(range(len(slots)), weights, k=cfg.calls)
    out = [slots[i][0] + timedelta(seconds=rng.uniform(0, slots[i][1])) for i in picks]
    return sorted(t.replace(microsecond=0) for t in out)


class Simulator:
    """Runs one shift against `services` (dispatch.services.seat.Services or a
    recorder with the same methods) whose clock is `clock` (a ManualClock)."""

    def __init__(self, services, clock, units: list[UnitSnapshot], places: list[Location],  # noqa: ANN001
                 cfg: SimConfig, router=None, on_step: Callable[[datetime], None] | None = None,  # noqa: ANN001
                 positions=None, pace: Callable[[datetime], None] | None = None) -> None:  # noqa: ANN001
        """`positions`: where the units' fixes go (an object with services' `report_position`
        signature; default the services, e.g. sim_feed.Jt808Feed to send them over TCP).
        `pace(when)` is called before the clock moves to `when` (real time: it waits)."""
        if not places:
            from dispatch.domain.errors import DispatchError
            raise DispatchError("模拟需要地点列表（地名库或路网路口）")
        self.sv, self.clock, self.cfg = services, clock, cfg
        self.positions = positions if positions is not None else services
        self.pace = pace
        self.router = router or StraightRouter()
        self.places = places
        self.rng = random.Random(cfg.seed)
        self.units = {u.id: _Unit(u, u.status, u.incident_id, lon=u.lon, lat=u.lat) for u in units}
        self._heap: list = []
        self._seq = 0
        self._waiting: list[tuple[int, Category, tuple[float, float]]] = []
        self._incidents: dict[int, dict] = {}
        self.on_step = on_step
        self.result = SimResult()
        self.tz = ZoneInfo(cfg.tz)

    # ---- scheduling --------------------------------------------------------------------
    def _at(self, when: datetime, fn: Callable, *args) -> None:  # noqa: ANN002
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, fn, args))

    def run(self) -> SimResult:
        cfg = self.cfg
        end = cfg.start + timedelta(hours=cfg.hours)
        self.clock.set(cfg.start)
        self.result.start = cfg.start
        for u in self.units.values():  # AVL on at the start of the shift
            self._report(u, u.lon, u.lat, 0.0, None)
            self._schedule_duty(u, end)
            if cfg.idle_report_s > 0:
                self._at(cfg.start + timedelta(seconds=cfg.idle_report_s), self._idle_tick, u)
        for t in call_times(cfg, self.rng):
            self._at(t, self._call)
        while self._heap:
            when, _seq, fn, args = heapq.heappop(self._heap)
            if when > end:
                break
            if when > self.clock.now():
                if self.pace:
                    self.pace(when)
                self.clock.set(when)
            if self.on_step:
                self.on_step(when)
            fn(*args)
        if self.pace and end > self.clock.now():
            self.pace(end)
        self.clock.set(max(self.clock.now(), end))
        self.result.end = self.clock.now()
        return self.result

    # ---- duty windows ------------------------------------------------------------------
    def _schedule_duty(self, u: _Unit, end: datetime) -> None:
        if not u.snap.duty:
            return
        start = self.cfg.start
        if not self._on_duty(u, start) and u.status is UnitStatus.AVAILABLE:
            self._set(u, UnitStatus.OFF_DUTY)
        day = start.astimezone(self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        while day.astimezone(timezone.utc) < end:
            for w in u.snap.duty:
                on = (day + timedelta(minutes=w.start_min)).astimezone(timezone.utc)
                off_min = w.end_min if w.end_min > w.start_min else w.end_min + 1440
                off = (day + timedelta(minutes=off_min)).astimezone(timezone.utc)
                if start < on < end:
                    self._at(on, self._duty_on, u)
                if start < off < end:
                    self._at(off, self._duty_off, u)
            day += timedelta(days=1)

    def _on_duty(self, u: _Unit, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        return u.snap.on_duty(local.hour * 60 + local.minute)

    def _duty_on(self, u: _Unit) -> None:
        u.off_when_free = False
        if u.status is UnitStatus.OFF_DUTY:
            self._set(u, UnitStatus.AVAILABLE)
            self._serve_waiting()

    def _duty_off(self, u: _Unit) -> None:
        if u.status is UnitStatus.AVAILABLE:
            u.trip += 1
            self._set(u, UnitStatus.OFF_DUTY)
        elif u.status.committed:
            u.off_when_free = True

    # ---- one call ----------------------------------------------------------------------
    def _call(self) -> None:
        rng = self.rng
        number = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        name = rng.choice(SURNAMES) + rng.choice(("先生", "女士", ""))
        inc = self.sv.open_call(number, name).incident_id
        self.result.calls += 1
        place = rng.choice(self.places)
        cat = CATEGORY_BY_CODE[_pick(rng, CATEGORY_MIX)]
        now = self.clock.now()
        self._at(now + timedelta(seconds=rng.randint(10, 35)), self._locate, inc, place, cat)

    def _locate(self, inc: int, place: Location, cat: Category) -> None:
        loc = replace(place, text=place.name[:8])
        self.sv.locate(inc, loc)
        self._at(self.clock.now() + timedelta(seconds=self.rng.randint(5, 20)),
                 self._categorise, inc, cat, (place.lon, place.lat))

    def _categorise(self, inc: int, cat: Category, at: tuple[float, float]) -> None:
        self.sv.categorise(inc, cat.code, narrative=f"{cat.label}（模拟）")
        if self.rng.random() < self.cfg.no_dispatch_share:
            code = self.rng.choice(("duplicate", "invalid", "advised"))
            self._at(self.clock.now() + timedelta(seconds=self.rng.randint(20, 90)),
                     self._close, inc, code)
            return
        self._waiting.append((inc, cat, at))
        self._at(self.clock.now() + timedelta(seconds=self.rng.randint(3, 15)), self._serve_waiting)

    def _fit(self, u: _Unit, cat: Category) -> bool:
        if u.snap.kind.is_police:
            return True
        return not cat.danger and cat.needs in VOLUNTEER_CAPABILITIES

    def _serve_waiting(self) -> None:
        """Dispatch waiting incidents, oldest first, while fit units are free."""
        free_all = [u for u in self.units.values() if u.status is UnitStatus.AVAILABLE]
        still = []
        for inc, cat, at in self._waiting:
            free = [u for u in free_all if self._fit(u, cat)] if free_all else []
            if not free:
                still.append((inc, cat, at))
                continue
            lon, lat = at
            kx = math.cos(math.radians(lat))  # equirectangular is plenty to rank by
            free.sort(key=lambda u: math.hypot((u.lon - lon) * kx, u.lat - lat) / _speed(u))
            n = 2 if cat.urgent and cat.danger and len(free) > 1 and self.rng.random() < 0.3 else 1
            chosen = self._recommended(inc, n) or free[:n]
            for u in chosen:  # where the unit is right now (maybe driving home)
                u.lon, u.lat = self._where(u, self.clock.now())
                if u in free_all:
                    free_all.remove(u)
            routes = {u.snap.id: self.router.route(u.snap.kind.travel, (u.lon, u.lat), at) for u in chosen}
            self.sv.dispatch(inc, [u.snap.id for u in chosen],
                             {uid: (round(r.seconds, 1), round(r.meters, 1)) for uid, r in routes.items()})
            self.result.dispatched += 1
            self._incidents[inc] = {"cat": cat, "units": [u.snap.id for u in chosen], "arrived": False}
            for u in chosen:
                u.trip += 1
                u.path = []
                u.status, u.incident = UnitStatus.DISPATCHED, inc
                late = self.rng.random() < self.cfg.late_ack_share
                delay = self.rng.randint(65, 150) if late else self.rng.randint(5, 45)
                self._at(self.clock.now() + timedelta(seconds=delay), self._acknowledge, u, inc,
                         routes[u.snap.id], u.trip)
        self._waiting = still

    def _recommended(self, inc: int, n: int) -> list[_Unit]:
        """With use_recommend, the call-taker takes the top of services.recommend."""
        if not self.cfg.use_recommend:
            return []
        rec = self.sv.recommend(inc, limit=max(3, n))
        out = [self.units[r.unit_id] for r in rec.ranked
               if not r.busy and r.unit_id in self.units
               and self.units[r.unit_id].status is UnitStatus.AVAILABLE]
        return out[:n]

    def _acknowledge(self, u: _Unit, inc: int, route, trip: int) -> None:  # noqa: ANN001
        if u.trip != trip or u.incident != inc:
            return
        self._set(u, UnitStatus.ACKNOWLEDGED)
        self._at(self.clock.now() + timedelta(seconds=self.rng.randint(5, 40)),
                 self._depart, u, inc, route, trip)

    def _depart(self, u: _Unit, inc: int, route, trip: int) -> None:  # noqa: ANN001
        if u.trip != trip or u.incident != inc:
            return
        self._set(u, UnitStatus.EN_ROUTE)
        arrival = self._drive(u, route, trip)
        self._at(arrival, self._arrive, u, inc, trip)

    def _arrive(self, u: _Unit, inc: int, trip: int) -> None:
        if u.trip != trip or u.incident != inc:
            return
        self._set(u, UnitStatus.ON_SCENE)
        info = self._incidents[inc]
        if not info["arrived"]:
            info["arrived"] = True
            lo, hi = ON_SCENE_MIN.get(info["cat"].code, (10, 30))
            stay = self.rng.uniform(lo, hi) * 60
            self._at(self.clock.now() + timedelta(seconds=round(stay)), self._close, inc, None)

    def _close(self, inc: int, code: str | None) -> None:
        info = self._incidents.pop(inc, None)
        if code is None:
            code = _pick(self.rng, RESULTS.get(info["cat"].code, DEFAULT_RESULTS) if info else DEFAULT_RESULTS)
        self.sv.close(inc, code, "模拟结警")
        self.result.closed += 1
        for uid in (info or {}).get("units", []):
            u = self.units[uid]
            if u.incident != inc:
                continue
            u.status, u.incident = UnitStatus.AVAILABLE, None
            u.trip += 1
            if u.off_when_free:
                u.off_when_free = False
                self._set(u, UnitStatus.OFF_DUTY)
                continue
            home = (u.snap.home_lon, u.snap.home_lat)
            if haversine(u.lon, u.lat, *home) > 30:
                route = self.router.route(u.snap.kind.travel, (u.lon, u.lat), home)
                self._drive(u, route, u.trip)
        self._serve_waiting()

    # ---- movement ----------------------------------------------------------------------
    def _drive(self, u: _Unit, route, trip: int) -> datetime:  # noqa: ANN001
        """Schedule position reports along the route at road speed; returns the arrival."""
        coords = [tuple(c) for c in route.coords]
        t0 = self.clock.now()
        legs = [haversine(*coords[i], *coords[i + 1]) for i in range(len(coords) - 1)]
        total = sum(legs) or 1.0
        seconds = max(1.0, float(route.seconds))
        speed = total / seconds
        path, cum = [(t0, coords[0][0], coords[0][1])], 0.0
        for i, leg in enumerate(legs):
            cum += leg
            path.append((t0 + timedelta(seconds=seconds * cum / total), coords[i + 1][0], coords[i + 1][1]))
        u.path = path
        step = self.cfg.position_interval_s
        k = 0
        while k * step < seconds:
            self._at(t0 + timedelta(seconds=k * step), self._tick, u, trip, speed)
            k += 1
        arrival = t0 + timedelta(seconds=round(seconds, 3))
        self._at(arrival, self._tick, u, trip, 0.0)
        return arrival

    def _where(self, u: _Unit, t: datetime) -> tuple[float, float]:
        if not u.path:
            return u.lon, u.lat
        if t >= u.path[-1][0]:
            return u.path[-1][1], u.path[-1][2]
        for (ta, xa, ya), (tb, xb, yb) in zip(u.path, u.path[1:]):
            if ta <= t <= tb:
                f = (t - ta).total_seconds() / max(1e-9, (tb - ta).total_seconds())
                return xa + f * (xb - xa), ya + f * (yb - ya)
        return u.path[0][1], u.path[0][2]

    def _tick(self, u: _Unit, trip: int, speed: float) -> None:
        if u.trip != trip:
            return
        lon, lat = self._where(u, self.clock.now())
        heading = math.degrees(math.atan2(lon - u.lon, lat - u.lat)) % 360 if speed else None
        self._report(u, lon, lat, speed, heading)

    def _idle_tick(self, u: _Unit) -> None:
        """A parked terminal's report: where the unit stands, when it has sent nothing for
        idle_report_s (a driving unit reports on its own ticks); none while off duty (its
        terminal or phone is off). The next check is one interval after the last report."""
        now, idle = self.clock.now(), self.cfg.idle_report_s
        quiet = u.last_report is None or (now - u.last_report).total_seconds() >= idle - 1e-6
        if quiet and u.status != UnitStatus.OFF_DUTY:
            self._report(u, u.lon, u.lat, 0.0, None)
        base = u.last_report if u.last_report is not None and u.last_report > now - timedelta(seconds=idle) else now
        self._at(base + timedelta(seconds=idle), self._idle_tick, u)

    def _report(self, u: _Unit, lon: float, lat: float, speed: float, heading: float | None) -> None:
        self.positions.report_position(u.snap.id, round(lon, 7), round(lat, 7), self.clock.now(),
                                round(speed, 2), None if heading is None else round(heading, 1))
        u.lon, u.lat = lon, lat
        u.last_report = self.clock.now()
        self.result.positions += 1

    def _set(self, u: _Unit, status: UnitStatus) -> None:
        self.sv.set_unit_status(u.snap.id, status)
        u.status = status


def _speed(u: _Unit) -> float:
    return STRAIGHT_SPEED[u.snap.kind.travel]
