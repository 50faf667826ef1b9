"""`python main.py setup`: everything a first start would otherwise do while the
call-taker waits — create the database (and the demo), build the road graph and the
gazetteer index into their caches, compile the routing kernels, and for a large road graph
(a city, ≥ CH_MIN_NODES nodes) build its contraction hierarchy (minutes; the console only
loads it, and recommends by the aimed search without it) — so the console's first
recommendation is ready within a second of its window. Run again at any time: what is
already built is only loaded."""
from __future__ import annotations

import argparse
import sys
import time


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("setup", help="prepare the database, caches and compiled kernels ahead of the first start")
    p.set_defaults(handler=_setup)


def _step(label: str, fn) -> None:  # noqa: ANN001
    t = time.perf_counter()
    sys.stderr.write(f"{label} …")
    sys.stderr.flush()
    fn()
    sys.stderr.write(f" {time.perf_counter() - t:.1f} 秒\n")


def _setup(args: argparse.Namespace) -> int:
    from dispatch.commands.support import open_app
    from dispatch.geo.contraction import CH_MIN_NODES, ensure_hierarchy
    from dispatch.geo.warmup import compile_kernels
    from dispatch.precompile import compile_sources

    app = None

    def database() -> None:
        nonlocal app
        app = open_app(args)

    _step("程序字节码", compile_sources)
    _step("数据库", database)
    assert app is not None
    _step("路网", lambda: app.roads)
    _step("地名库索引", lambda: app.geocoder)
    _step("地点命名", lambda: app.reverse)
    _step("路径计算内核", lambda: compile_kernels(app.roads))
    if app.roads.node_count >= CH_MIN_NODES:  # below, the recommendation never uses it
        _step("路网分层索引", lambda: ensure_hierarchy(app.roads, app.settings.cache_dir))
    sys.stderr.write(f"已就绪：{app.settings.database_url}\n")
    return 0
