"""`avl listen`: the position receiver (JT/T 808 over TCP, JSON lines over UDP) until
SIGTERM or Ctrl+C. `bench avl`: N terminals over real TCP against the receiver."""
from __future__ import annotations

import argparse
import errno
import json
import socket
import sys

from dispatch.commands.support import open_app, positive_int
from dispatch.domain.errors import DispatchError
from dispatch.importers.file_errors import os_error_text


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    avl = commands.add_parser("avl", help="unit positions (AVL) in")
    sub = avl.add_subparsers(dest="avl", parser_class=type(avl), required=True)
    p = sub.add_parser("listen", help="receive JT/T 808 (TCP) and JSON lines (UDP) until SIGTERM/Ctrl+C")
    p.add_argument("--jt808", metavar="HOST:PORT", type=_address, help="JT/T 808 over TCP, e.g. 0.0.0.0:7808")
    p.add_argument("--udp", metavar="HOST:PORT", type=_address, help="JSON lines over UDP, e.g. 0.0.0.0:7809")
    p.set_defaults(handler=_listen)

    p = bench.add_parser("avl", help="N JT/T 808 terminals over TCP: stored latency and drops")
    p.add_argument("--units", type=positive_int, default=2000)
    p.add_argument("--hz", type=float, default=1.0,
                   help="reports per second per unit (<= 1: BCD time has 1 s steps)")
    p.add_argument("--seconds", type=positive_int, default=60)
    p.add_argument("--db", dest="bench_db", metavar="URL",
                   help="postgresql://... to run on PostgreSQL (in a scratch schema, dropped after); "
                        "otherwise a scratch SQLite file. The bench never writes into a live database.")
    p.add_argument("--peer-sample", type=int, default=1000,
                   help="fixes written through services.report_position as the peer")
    p.set_defaults(handler=_bench)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"地址应为 HOST:PORT: {value}")
    return host or "0.0.0.0", int(port)


def _listen(args: argparse.Namespace) -> int:
    if args.jt808 is None and args.udp is None:
        raise DispatchError("请至少给出 --jt808 HOST:PORT 或 --udp HOST:PORT")
    import asyncio

    app = open_app(args)
    return asyncio.run(_run_listener(app, args.jt808, args.udp))


async def _run_listener(app, jt808_addr, udp_addr) -> int:  # noqa: ANN001
    import asyncio
    import signal

    from dispatch.feeds.avl_receiver import Receiver
    receiver = Receiver(app.store, app.clock)
    try:
        bound = await receiver.start(jt808_addr, udp_addr)
    except OSError as exc:
        await receiver.close()
        raise DispatchError(f"无法监听: {_listen_error_text(exc, jt808_addr, udp_addr)}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stderr.write("定位接收已启动 " + " ".join(f"{k}={h}:{p}" for k, (h, p) in bound.items())
                     + f"，终端 {len(receiver.terminals)} 个\n")
    sys.stderr.flush()
    await stop.wait()
    await receiver.close()
    print(json.dumps({"avl": receiver.summary()}, ensure_ascii=False), flush=True)
    return 0


_LISTEN_ERRORS = {
    errno.EADDRINUSE: "端口已被占用（另一个接收程序在运行？）",
    errno.EADDRNOTAVAIL: "本机没有这个地址",
    errno.EACCES: "没有权限（1024 以下的端口需要管理员权限）",
    errno.EPERM: "操作不被允许（权限不足）",
    errno.EAFNOSUPPORT: "本机不支持这种地址",
}


def _listen_error_text(exc: OSError, *addrs: tuple[str, int] | None) -> str:
    """Why the receiver could not listen, in Chinese (never the system's English text)."""
    hosts = "、".join(dict.fromkeys(f"{a[0]}:{a[1]}" for a in addrs if a))
    if isinstance(exc, socket.gaierror):  # getaddrinfo: an unknown name, a malformed address
        return f"地址无法解析（不是本机的有效地址或主机名）: {hosts}"
    if exc.errno in _LISTEN_ERRORS:
        return f"{_LISTEN_ERRORS[exc.errno]}: {hosts}"
    return f"{os_error_text(exc)}: {hosts}"


# ---------------------------------------------------------------- bench

def _bench(args: argparse.Namespace) -> int:
    from dispatch.commands.avl_bench import run  # the terminals and the store load only here
    return run(args)
