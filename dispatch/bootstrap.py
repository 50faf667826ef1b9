"""Wire the store, the geo indexes and the services: `bootstrap(settings)` returns
the one App object a front end holds. Nothing here runs at import time."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.services.clock import Clock, SystemClock
from dispatch.services.context import Actor, Context
from dispatch.services.queries import grids, unit_snapshots
from dispatch.services.seat import Services
from dispatch.settings import RESOURCES, Settings
from dispatch.store import migrate
from dispatch.store.db import Store, make_engine
from dispatch.store.readonly import make_read_only_engine
from dispatch.store.urls import check_database_url, ensure_dir, sqlite_path
from dispatch.store.schema import MetaRow


class App:
    """The console's core, as one object: store, clock, services and lazy geo indexes."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, read_only: bool = False) -> None:
        self.settings = settings
        self.store = store
        self.engine = store.engine
        self.clock = clock
        self.read_only = read_only
        self._lock = threading.Lock()
        self.actor = Actor(settings.seat, settings.operator)  # no login yet: see login()
        self.services = self.services_for(self.actor)

    def services_for(self, actor: Actor) -> Services:
        ctx = Context(self.store, self.clock, actor, read_only=self.read_only, grid_of=self._grid_of,
                      training=self.settings.training)
        services = Services(ctx, roads_provider=lambda: self.roads,
                            stale_after_s=self.settings.stale_position_s, tz=self.settings.tz)
        services.use_geocoder(lambda: self.__dict__.get("geocoder"))  # 地名补录 at once, if loaded
        return services

    def accounts_mode(self) -> str:
        """"none", "demo" or "accounts": see dispatch.services.accounts."""
        from dispatch.services.accounts import mode
        return mode(self.store)

    def login(self, name: str, password: str) -> Actor:
        """Authenticate at this workstation's seat (settings.seat); from then on
        app.services acts as that account (its name on every event, its role checked).
        A wrong name or password raises DispatchError and changes nothing."""
        from dispatch.services.accounts import authenticate
        actor = authenticate(self.store, self.settings.seat, name, password)
        self.settings = self.settings.with_overrides(operator=actor.operator)  # titles, drafts: who is here
        self.actor, self.services = actor, self.services_for(actor)
        return actor

    def refuse_anonymous_writes(self) -> None:
        """Headless without a login on a database with accounts: reads only; every
        writing service refuses, asking for --user and DISPATCH_PASSWORD."""
        from dispatch.domain.roles import ANONYMOUS
        self.actor = Actor(self.settings.seat, "", ANONYMOUS)
        self.services = self.services_for(self.actor)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self.store.reader() as s:
            yield s

    def meta(self, key: str) -> str | None:
        with self.store.reader() as s:
            row = s.get(MetaRow, key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.store.transaction() as s:
            s.merge(MetaRow(key=key, value=value))
        self.__dict__.pop("roads", None)

    def unit_snapshots(self):
        with self.store.reader() as s:
            return unit_snapshots(s)

    @property
    def roads_osm(self) -> Path:
        value = self.meta("roads_osm")
        if not value:
            raise DispatchError("数据库中没有路网：请先导入路网 (roads import-osm FILE) 或加载演示数据")
        return RESOURCES / value.split(":", 1)[1] if value.startswith("resources:") else Path(value)

    @cached_property
    def roads(self):
        """The road graph (built once, then loaded from its cache)."""
        from dispatch.geo.roads import load_or_build
        with self._lock:
            return load_or_build(self.roads_osm, self.settings.cache_dir)

    @cached_property
    def reverse(self):
        """Names a point (nearest junction or road, distance, direction, admin, grid)."""
        from dispatch.services.locations import load_reverse
        return load_reverse(self.store, self.roads_osm, self.grid_index)

    @cached_property
    def geocoder(self):
        """The geocoder over the places table (index cached on disk)."""
        from dispatch.geo.geocoder import load_geocoder
        with self._lock:
            geocoder = load_geocoder(self.engine, self.settings.cache_dir)
        geocoder.home = self.area_centre()  # the centre's jurisdiction ranks first among equals
        return geocoder

    def reload_geocoder(self) -> None:
        """Forget the geocoder: the next use rebuilds it from the places table (after an
        import such as the national register)."""
        with self._lock:
            self.__dict__.pop("geocoder", None)

    def forget_roads(self) -> None:
        """After a city import (here or at another seat): the road graph, the reverse
        geocoder and the geocoder are rebuilt at their next use, from the new extract and
        places (the import left their caches built)."""
        for name in ("roads", "reverse"):
            self.__dict__.pop(name, None)
        self.reload_geocoder()

    def forget_grids(self) -> None:
        """After a grid import (here or at another seat): the grid index, and the reverse
        geocoder holding it, are rebuilt at their next use."""
        for name in ("grid_index", "reverse"):
            self.__dict__.pop(name, None)

    @cached_property
    def grid_index(self):
        from dispatch.geo.grids import GridIndex
        with self.store.reader() as s:
            return GridIndex([(g.id, g.name, g.polygon) for g in grids(s)])

    def area_centre(self) -> tuple[float, float] | None:
        """The centre of the centre's jurisdiction (its grids): the geocoder's default hint."""
        b = self.grid_index.bounds()
        return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) if b else None

    def _grid_of(self, lon: float, lat: float) -> str | None:
        return self.grid_index.grid_at(lon, lat)


def bootstrap(settings: Settings, clock: Clock | None = None, read_only: bool = False) -> App:
    """Open (and on first start create and migrate) the database, load the demo
    into an empty one when settings.load_demo, and return the App."""
    clock = clock or SystemClock()
    ensure_dir(settings.data_dir, "数据目录")
    check_database_url(settings.database_url)
    db_file = sqlite_path(settings.database_url)
    if read_only and db_file is not None and not db_file.is_file():
        raise DispatchError(f"数据库文件不存在: {db_file}（只读打开不会创建数据库）")
    engine = make_read_only_engine(settings.database_url) if read_only else make_engine(settings.database_url)
    store = Store(engine, tz=settings.tz)  # a stale-write refusal shows its time in this zone
    if read_only:
        from sqlalchemy import inspect
        from sqlalchemy.exc import DBAPIError, OperationalError
        try:
            initialised = inspect(engine).has_table("events")
        except (OperationalError, DBAPIError) as exc:
            from dispatch.store.db import describe_db_error
            raise DispatchError(describe_db_error(exc)) from None
        if not initialised:
            raise DispatchError("数据库尚未初始化（没有事件日志）：请先正常启动一次调度台或导入数据")
    else:
        migrate.upgrade(engine)
        if settings.load_demo and not _has_dataset(store):  # the demo's importers load only then
            from dispatch.importers.demo import load_demo
            from dispatch.services.accounts import create_demo_accounts
            load_demo(store, clock.now())
            create_demo_accounts(store, clock.now())  # demo-<role>, password demo (README)
    ensure_dir(settings.cache_dir, "缓存目录")
    return App(settings, store, clock, read_only=read_only)


def _has_dataset(store: Store) -> bool:
    """Whether a dataset (the demo or an import) was loaded: dispatch.importers.demo.is_loaded
    without importing the importers."""
    with store.reader() as s:
        return s.get(MetaRow, "dataset") is not None
