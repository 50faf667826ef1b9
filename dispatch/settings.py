"""One settings object: defaults, then a TOML file in the user config directory,
then environment variables, then command-line options (applied by the caller)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from dispatch.domain.errors import DispatchError

APP_NAME = "dispatch-console"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass(frozen=True)
class Targets:
    """Interval targets for timelines and statistics (seconds, share of calls)."""

    dispatch_s: float = 60.0
    dispatch_share: float = 0.9
    arrival_city_s: float = 300.0
    arrival_suburb_s: float = 600.0


@dataclass(frozen=True)
class Settings:
    db_url: str = ""                 # empty: SQLite file in data_dir
    data_dir: Path = field(default_factory=lambda: _user_dir("data"))
    seat: str = "席位01"
    operator: str = "接警员"
    tz: str = "Asia/Shanghai"
    load_demo: bool = True
    stale_position_s: float | None = None  # one staleness limit for every unit kind (None: by kind)
    ack_timeout_s: float = 60.0      # an unacknowledged dispatch turns red after this
    tile_url: str | None = None      # a deployment's local tile server, if any
    training: bool = False           # an exercise on a copy of the live database
    idle_lock_s: float = 600.0       # the console locks (login again) after this long without input; 0: never
    targets: Targets = field(default_factory=Targets)

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'dispatch.sqlite3'}"

    @property
    def database_key(self) -> str:
        """A short name of the database (its URL hashed: no password written anywhere),
        for what is kept per database beside it: caches, drafts."""
        import hashlib

        return hashlib.sha1(self.database_url.encode()).hexdigest()[:12]

    @property
    def cache_dir(self) -> Path:
        """Derived indexes (geocoder, road graph), one folder per database."""
        return self.data_dir / "cache" / self.database_key

    def with_overrides(self, **kw) -> "Settings":
        kw = {k: v for k, v in kw.items() if v is not None}
        if "data_dir" in kw:
            kw["data_dir"] = Path(kw["data_dir"])
        return replace(self, **kw)


_ENV = {
    "DISPATCH_DB_URL": "db_url",
    "DISPATCH_DATA_DIR": "data_dir",
    "DISPATCH_SEAT": "seat",
    "DISPATCH_OPERATOR": "operator",
    "DISPATCH_TILE_URL": "tile_url",
}


def _user_dir(kind: str) -> Path:
    """The user's data or config directory of the console (platformdirs: loaded when
    settings are, not by `--help`)."""
    import platformdirs

    where = platformdirs.user_data_dir if kind == "data" else platformdirs.user_config_dir
    return Path(where(APP_NAME))


def config_file() -> Path:
    if "DISPATCH_CONFIG" in os.environ:
        return Path(os.environ["DISPATCH_CONFIG"])
    return _user_dir("config") / "settings.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the TOML file (if present) and the environment."""
    path = path or config_file()
    values: dict = {}
    if path.is_file():
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise DispatchError(f"配置文件格式错误 {path}: {exc}") from None
        targets = data.pop("targets", None)
        known = {f for f in Settings.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        if targets:
            values["targets"] = Targets(**targets)
    for env, key in _ENV.items():
        if os.environ.get(env):
            values[key] = os.environ[env]
    return Settings().with_overrides(**values)
