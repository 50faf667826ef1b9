"""The phone line: the listener reads JSON lines over real TCP, bad lines are counted
and ignored; "answered" opens the call or fills the call in hand, keeps the carrier
location, and the caller's history is found — in-process, and through `cti listen` /
`cti send` as separate processes."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.feeds.cti import CallEvent, CtiListener, address_from_env, parse_line
from dispatch.feeds.cti_client import event_line, send
from dispatch.services import queries
from dispatch.services.phone_calls import answer, caller_history
from dispatch.store import eventlog

REPO = Path(__file__).resolve().parents[2]
# 南京东路 at 河南中路, Shanghai (the demo's area): a cell fix with its radius
LON, LAT = 121.4853, 31.2394


def test_parse_and_address():
    e = parse_line('{"event": "answered", "seat": "席位1", "number": "+8613800000041", '
                   '"lon": 121.4853, "lat": 31.2394, "accuracy_m": 350}')
    assert e == CallEvent("answered", "席位1", "+8613800000041", 121.4853, 31.2394, 350.0)
    assert parse_line('{"event": "ringing", "seat": "s", "number": "13800000041"}').located is False
    for bad in ("", "{", "[]", '{"event": "dialling", "seat": "s"}', '{"event": "answered"}',
                '{"event": "answered", "seat": "s", "number": "1380; DROP"}', "x" * 5000):
        with pytest.raises(ValueError):
            parse_line(bad)
    # a bad location never loses the call: the location is left out (or, outside China, not used)
    for bad_location in ('"lon": 121.4', '"lon": 999, "lat": 31', '"lon": NaN, "lat": 31',
                         '"lon": -121.47, "lat": -31.23', '"lon": 31.2394, "lat": 121.4853'):
        e = parse_line('{"event": "answered", "seat": "s", "number": "13800000041", %s}' % bad_location)
        assert (e.event, e.number, e.located) == ("answered", "13800000041", False) and e.location_problem
    e = parse_line('{"event": "answered", "seat": "s", "lon": 121.4853, "lat": 31.2394, "accuracy_m": -5}')
    assert e.located and e.accuracy_m is None and "accuracy_m" in e.location_problem
    assert address_from_env({}) is None and address_from_env({"DISPATCH_CTI": " "}) is None
    assert address_from_env({"DISPATCH_CTI": "127.0.0.1:7110"}) == ("127.0.0.1", 7110)
    for bad in ("7110", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:70000"):
        with pytest.raises(DispatchError, match="DISPATCH_CTI"):
            address_from_env({"DISPATCH_CTI": bad})


def test_listener_counts_bad_lines_and_survives():
    got: list[CallEvent] = []
    done = threading.Event()

    def on_event(e: CallEvent) -> None:
        got.append(e)
        if e.event == "hangup":
            done.set()
        if e.number == "13900000000":
            raise RuntimeError("a consumer failure never stops the line")

    lis = CtiListener("127.0.0.1", 0, on_event).start()
    try:
        host, port = lis.address
        send(host, port, ["{", "\xff\xfe 不是 JSON", '{"event": "answered", "seat": "s", "number": "13900000000"}',
                          '{"event": "answered"}', "[" * 3000,
                          " " * 5000 + event_line("answered", "s", "13900000001")])  # too long: one bad line
        deadline = time.monotonic() + 10  # connections are served in parallel: the first one done first
        while (lis.received, lis.bad_lines) != (1, 5) and time.monotonic() < deadline:
            time.sleep(0.01)
        send(host, port, [event_line("ringing", "s", "13800000042"),
                          event_line("answered", "s", "13800000042", LON, LAT, 80),
                          event_line("hangup", "s", "13800000042")])
        assert done.wait(10)
        assert [e.event for e in got] == ["answered", "ringing", "answered", "hangup"]
        assert (got[2].lon, got[2].lat, got[2].accuracy_m) == (LON, LAT, 80.0)
        assert (lis.received, lis.bad_lines) == (4, 5)
    finally:
        lis.stop()
    with pytest.raises(DispatchError, match="无法连接"):
        send(host, port, ["{}"], timeout_s=1)


def test_answer_opens_or_fills_and_finds_history(app, clock):
    ctx = app.services.ctx
    seat = ctx.actor.seat
    first = app.services.open_call("13800000043").incident_id
    app.services.close(first, "advised")
    clock.advance(3600)
    call = parse_line(json.dumps({"event": "answered", "seat": seat, "number": "+8613800000043",
                                  "lon": LON, "lat": LAT, "accuracy_m": 350}))
    iid = answer(ctx, call.number, call.lon, call.lat, call.accuracy_m)  # nothing in hand: a new call
    with app.session() as s:
        assert queries.incident(s, iid).caller_number == "+8613800000043"
        assert [i.id for i in caller_history(s, call.number, exclude_id=iid)] == [first]
        located = [e for e in eventlog.read(s, incident_id=iid) if e.kind == "call.carrier_located"]
    assert located[0].payload == {"lon": LON, "lat": LAT, "accuracy_m": 350.0, "number": "+8613800000043"}
    # a call taken by F2 before the phone system answered: its number is filled in, no second incident
    in_hand = app.services.open_call("").incident_id
    assert answer(ctx, "13800000044", in_hand=in_hand) == in_hand
    # the call in hand already has a number (another caller): the answer opens a new call
    other = answer(ctx, "13800000045", in_hand=in_hand)
    with app.session() as s:
        assert queries.incident(s, in_hand).caller_number == "13800000044"
        assert other != in_hand and queries.incident(s, other).caller_number == "13800000045"


def test_cti_listen_and_send_as_processes(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    base = [sys.executable, "main.py", "--data-dir", str(tmp_path), "--seat", "席位7"]
    lis = subprocess.Popen([*base, "cti", "listen", "--listen", "127.0.0.1:0", "--count", "3"], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hello = json.loads(lis.stdout.readline())
        assert hello["seat"] == "席位7"
        to = hello["listening"]
        r = subprocess.run([*base, "cti", "send", "--to", to, "--event", "answered", "--number",
                            "13800000046", "--lon", str(LON), "--lat", str(LAT), "--accuracy", "120"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and json.loads(r.stdout)["sent"] == 1, r.stderr
        r = subprocess.run([*base, "cti", "send", "--to", to], cwd=REPO, capture_output=True, text=True,
                           timeout=60, input="not json\n" + event_line("answered", "席位2", "13800000047") + "\n"
                           + event_line("hangup", "席位7", "13800000046") + "\n")
        assert r.returncode == 0, r.stderr
        out, err = lis.communicate(timeout=60)
    finally:
        if lis.poll() is None:
            lis.kill()
    lines = [json.loads(x) for x in out.splitlines()]
    assert "Traceback" not in err, err
    assert lines[0]["event"] == "answered" and lines[0]["incident_id"] and lines[0]["history"] == []
    assert lines[1]["ignored"] and lines[2]["event"] == "hangup"
    assert lines[-1] == {"received": 3, "bad_lines": 1}
    r = subprocess.run([*base, "cti", "send", "--to", "127.0.0.1:1", "--event", "ringing"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "无法连接" in r.stderr
    with socket.socket() as busy:  # a port already taken: one line, exit 2
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = subprocess.run([*base, "cti", "listen", "--listen", "127.0.0.1:%d" % busy.getsockname()[1]],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "无法在" in r.stderr, r.stderr
    r = subprocess.run([*base, "cti", "send"], cwd=REPO, capture_output=True, text=True, timeout=60,
                       env={k: v for k, v in __import__("os").environ.items() if k != "DISPATCH_CTI"})
    assert r.returncode == 2 and "DISPATCH_CTI" in r.stderr
