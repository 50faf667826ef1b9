"""A test client for the phone line: plays the telephone system towards a console's CTI
listener (dispatch.feeds.cti), one JSON line per call event. Used by `python main.py
cti send` and by the tests; also a reference for whoever connects a real CTI server."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterable

from dispatch.domain.errors import DispatchError


def event_line(event: str, seat: str, number: str = "", lon: float | None = None,
               lat: float | None = None, accuracy_m: float | None = None) -> str:
    """One call event as the listener reads it (without the newline)."""
    obj: dict = {"event": event, "seat": seat, "number": number}
    if lon is not None and lat is not None:
        obj |= {"lon": lon, "lat": lat}
    if accuracy_m is not None:
        obj["accuracy_m"] = accuracy_m
    return json.dumps(obj, ensure_ascii=False)


def send(host: str, port: int, lines: Iterable[str], timeout_s: float = 5.0) -> int:
    """Send the lines (each gets a newline) over one TCP connection; returns how many."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            n = 0
            for line in lines:
                sock.sendall(line.rstrip("\r\n").encode("utf-8") + b"\n")
                n += 1
            sock.shutdown(socket.SHUT_WR)
            return n
    except OSError as exc:
        raise DispatchError(f"无法连接到电话系统接口 {host}:{port}（{exc.strerror or exc}）") from None
