"""What command handlers share: opening the app from the global options, printing."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dispatch.bootstrap import App, bootstrap
from dispatch.services.clock import SystemClock
from dispatch.settings import load_settings


def settings_from_args(args: argparse.Namespace):
    """Settings from the file, the environment and the global options. With
    --training the live database is copied first and everything runs on the copy."""
    settings = load_settings().with_overrides(
        db_url=getattr(args, "db", None), data_dir=getattr(args, "data_dir", None),
        seat=getattr(args, "seat", None), operator=getattr(args, "operator", None),
        load_demo=False if getattr(args, "no_demo", False) else None)
    if getattr(args, "training", False) and not settings.training:
        from dispatch.replay.training import make_training_copy
        bootstrap(settings).engine.dispose()  # the live database exists (first start) before copying
        stamp = SystemClock().now().strftime("%Y%m%dT%H%M%S%fZ")
        url = make_training_copy(settings.database_url, settings.data_dir / "training" / f"exercise-{stamp}.sqlite3")
        settings = settings.with_overrides(db_url=url, training=True, load_demo=False)
        args.training_settings = settings
    return getattr(args, "training_settings", settings)


def open_app(args: argparse.Namespace, read_only: bool = False) -> App:
    """Bootstrap the app from the global command-line options (memoised per args)."""
    app = getattr(args, "_app", None)
    if app is None:
        app = bootstrap(settings_from_args(args), read_only=read_only)
        args._app = app
    return app


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def print_bench(name: str, **figures: Any) -> None:
    """One JSON line per benchmark result."""
    print_json({"bench": name, **figures})
