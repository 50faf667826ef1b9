"""`python main.py cti send|listen`: the phone line (CTI) from the command line.

  cti send   [--to HOST:PORT] --event answered --number N [--lon X --lat Y --accuracy M]
             (to this seat: the global --seat, else the settings' seat)
             without --event: the JSON lines on stdin are sent as they are
  cti listen [--listen HOST:PORT] [--count N]
             the console's listener without the window: "answered" for this seat opens the
             call (services), one JSON line per event; the address defaults to DISPATCH_CTI
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import sys

from dispatch.commands.support import open_app, positive_int, print_json, settings_from_args
from dispatch.domain.errors import DispatchError


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("cti", help="the phone line: send test call events, or listen headless")
    sub = p.add_subparsers(dest="cti", parser_class=type(p), required=True)
    s = sub.add_parser("send", help="send call events to a console (the shipped test client)")
    s.add_argument("--to", metavar="HOST:PORT", help="the console's CTI address (default: $DISPATCH_CTI)")
    s.add_argument("--event", choices=("ringing", "answered", "hangup"))
    s.add_argument("--number", default="")
    s.add_argument("--lon", type=float)
    s.add_argument("--lat", type=float)
    s.add_argument("--accuracy", type=float, metavar="METRES")
    s.set_defaults(handler=_send)
    li = sub.add_parser("listen", help="listen for call events and open calls without the window")
    li.add_argument("--listen", metavar="HOST:PORT", help="address (default: $DISPATCH_CTI; port 0: any free)")
    li.add_argument("--count", type=positive_int, help="stop after this many good lines")
    li.set_defaults(handler=_listen)


def _address(text: str | None) -> tuple[str, int]:
    from dispatch.feeds.cti import ENV, address_from_env
    addr = address_from_env({ENV: text} if text else os.environ)
    if addr is None:
        raise DispatchError(f"未给出电话系统接口地址：用 --to/--listen 主机:端口，或设置环境变量 {ENV}")
    return addr


def _send(args: argparse.Namespace) -> int:
    from dispatch.feeds.cti_client import event_line, send
    host, port = _address(args.to)
    if args.event:
        seat = args.seat or settings_from_args(args).seat  # the console's own seat by default
        lines = [event_line(args.event, seat, args.number, args.lon, args.lat, args.accuracy)]
    else:
        stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
        lines = [x for x in stdin if x.strip()]
    print_json({"sent": send(host, port, lines), "to": f"{host}:{port}"})
    return 0


def _listen(args: argparse.Namespace) -> int:
    from dispatch.feeds.cti import CtiListener
    from dispatch.services.phone_calls import caller_history
    host, port = _address(args.listen)
    app = open_app(args)
    seat = app.services.ctx.actor.seat
    events: queue.Queue = queue.Queue()
    try:
        listener = CtiListener(host, port, events.put).start()
    except OSError as exc:
        raise DispatchError(f"无法在 {host}:{port} 监听电话系统（{exc.strerror or exc}）") from None
    print_json({"listening": "%s:%d" % listener.address, "seat": seat})
    sys.stdout.flush()
    handled = 0
    try:
        while args.count is None or handled < args.count:
            call = events.get()
            handled += 1
            out: dict = {"event": call.event, "seat": call.seat, "number": call.number}
            if call.location_problem:
                out["location_problem"] = call.location_problem
            if call.seat != seat:
                out["ignored"] = "其他席位"
            elif call.event == "answered":
                try:
                    iid = app.services.answer_call(call.number, call.lon, call.lat, call.accuracy_m)
                except DispatchError as exc:
                    out["error"] = str(exc)
                else:
                    with app.session() as s:
                        out |= {"incident_id": iid,
                                "history": [i.id for i in caller_history(s, call.number, exclude_id=iid)]}
            print(json.dumps(out, ensure_ascii=False), flush=True)
    finally:
        listener.stop()
        print_json({"received": listener.received, "bad_lines": listener.bad_lines})
    return 0
