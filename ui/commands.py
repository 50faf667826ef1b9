"""The sub-commands that need Qt — the console itself (the default), `bench startup` and
`report --incident ID --pdf FILE` (the incident report, painted by Qt) — registered from
the UI side, so the core never imports ui."""
from __future__ import annotations

import argparse

from dispatch.commands.support import open_app, positive_int, print_json, record_id, settings_from_args
from ui import map_bench, screen_bench


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    gui = commands.add_parser("gui", help="open the console (default)")
    gui.set_defaults(handler=run_console)
    p = bench.add_parser("startup", help="seconds from start to a usable main window, beside a bare web view")
    p.add_argument("--runs", type=positive_int, default=3)
    p.set_defaults(handler=_bench_startup)
    r = commands.add_parser("report", help="the incident report as a PDF (calls, place, map, units, timeline)")
    r.add_argument("--incident", type=record_id, required=True, metavar="ID")
    r.add_argument("--pdf", required=True, metavar="FILE")
    r.set_defaults(handler=_report)
    screen_bench.register(bench)  # bench screen: another seat's action to this seat's screens
    map_bench.register(bench)  # bench map: pan/zoom frames over a whole city's roads


def run_console(args: argparse.Namespace) -> int:
    from ui.app import run_gui
    return run_gui(settings_from_args(args))


def _bench_startup(args: argparse.Namespace) -> int:
    from ui.startup_bench import bench_startup  # the GUI shell, loaded only here

    app = open_app(args)  # create the database (and the demo) first, as a later start finds it
    glob = [a for pair in (("--db", args.db), ("--data-dir", args.data_dir)) if pair[1] for a in pair]
    print_json(bench_startup(glob, runs=args.runs, cache_dir=app.settings.cache_dir))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ui.report_pdf import ensure_gui_app, write_report  # Qt, loaded only here

    app = open_app(args, read_only=True)
    ensure_gui_app()
    out = write_report(app, args.incident, args.pdf)
    print_json({"incident_id": args.incident, "pdf": str(out), "bytes": out.stat().st_size})
    return 0
