"""What command handlers share: opening the app from the global options, printing."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from dispatch.domain.errors import DispatchError, StoreUnavailable
from dispatch.settings import Settings, load_settings

if TYPE_CHECKING:  # the store and its libraries load only when a command opens the app
    from dispatch.bootstrap import App


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the file, the environment and the global options. With
    --training the live database is copied first and everything runs on the copy."""
    settings = load_settings().with_overrides(
        db_url=getattr(args, "db", None), data_dir=getattr(args, "data_dir", None),
        seat=getattr(args, "seat", None), operator=getattr(args, "operator", None),
        load_demo=False if getattr(args, "no_demo", False) else None)
    if getattr(args, "training", False) and not settings.training:
        from dispatch.replay.training import make_training_copy
        from dispatch.services.clock import SystemClock
        bootstrap_named(settings).engine.dispose()  # the live database exists (first start) before copying
        stamp = SystemClock().now().strftime("%Y%m%dT%H%M%S%fZ")
        url = make_training_copy(settings.database_url, settings.data_dir / "training" / f"exercise-{stamp}.sqlite3")
        settings = settings.with_overrides(db_url=url, training=True, load_demo=False)
        args.training_settings = settings
    return getattr(args, "training_settings", settings)


def open_app(args: argparse.Namespace, read_only: bool = False) -> App:
    """Bootstrap the app from the global command-line options (memoised per args)."""
    app = getattr(args, "_app", None)
    if app is None:
        app = bootstrap_named(settings_from_args(args), read_only=read_only)
        log_in(app, args)
        args._app = app
    return app


def bootstrap_named(settings: Settings, read_only: bool = False) -> App:
    """bootstrap(); a database that cannot be reached (server down, file locked) is
    refused in one line that names it (host:port/name or the file, no password)."""
    from dispatch.bootstrap import bootstrap
    try:
        return bootstrap(settings, read_only=read_only)
    except StoreUnavailable as exc:
        raise StoreUnavailable(f"{exc}（数据库 {database_place(settings.database_url)}）") from None


def database_place(url: str) -> str:
    """Where a database URL points, for a message: host:port/name, or the SQLite file;
    never the password."""
    from urllib.parse import urlsplit

    if url.startswith("sqlite"):
        return url.split(":///", 1)[-1] or "（内存）"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("@")[-1].split("?")[0]
    return f"{host}{port}{parts.path}"


def log_in(app: App, args: argparse.Namespace) -> None:
    """Who acts headless. With --user NAME the password comes from DISPATCH_PASSWORD and
    every event carries NAME (--operator is then refused). Without --user: on a database
    with real accounts (mode "accounts") the services refuse every write; on one without
    accounts, or with only the demo's, events carry --operator/settings as before."""
    user = getattr(args, "user", None)
    if user is None:
        if app.accounts_mode() == "accounts":
            app.refuse_anonymous_writes()
        return
    if getattr(args, "operator", None):
        raise DispatchError("--operator 不能与 --user 同用：事件记录的是登录的账号名")
    password = os.environ.get("DISPATCH_PASSWORD")
    if password is None:
        raise DispatchError(f"请在环境变量 DISPATCH_PASSWORD 中给出账号 {user} 的密码")
    app.login(user, password)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def print_bench(name: str, **figures: Any) -> None:
    """One JSON line per benchmark result."""
    print_json({"bench": name, **figures})


MAX_ID = 2**63 - 1


def _int_between(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是有效的{what}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what}应在 {low} 到 {high} 之间: {text}")
    return value


def record_id(text: str) -> int:
    """argparse type: a record id (0 .. 2^63-1); anything else is a one-line usage error."""
    return _int_between(text, 0, MAX_ID, "编号")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (and sane: at most 10^7)."""
    return _int_between(text, 1, 10_000_000, "整数")
