"""The sub-commands that need the GUI — the console itself (the default) and
`bench startup` — registered from the UI side, so the core never imports ui."""
from __future__ import annotations

import argparse

from dispatch.commands.support import open_app, positive_int, print_json, settings_from_args


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    gui = commands.add_parser("gui", help="open the console (default)")
    gui.set_defaults(handler=run_console)
    p = bench.add_parser("startup", help="seconds from start to a usable main window, beside a bare web view")
    p.add_argument("--runs", type=positive_int, default=3)
    p.set_defaults(handler=_bench_startup)


def run_console(args: argparse.Namespace) -> int:
    from ui.app import run_gui
    return run_gui(settings_from_args(args))


def _bench_startup(args: argparse.Namespace) -> int:
    from ui.startup_bench import bench_startup  # the GUI shell, loaded only here

    app = open_app(args)  # create the database (and the demo) first, as a later start finds it
    glob = [a for pair in (("--db", args.db), ("--data-dir", args.data_dir)) if pair[1] for a in pair]
    print_json(bench_startup(glob, runs=args.runs, cache_dir=app.settings.cache_dir))
    return 0
