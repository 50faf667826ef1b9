"""`python main.py act`: headless seat actions, one JSON command per line on stdin, one
JSON result per line on stdout — for scripting, tests and integration. A refusal is
{"ok": false, "error": "<the Chinese message>"} and the next line is still read; the
exit code is then 1, after a summary line on stderr (N 条成功，M 条失败). No command at all
exits 2.

Operations (fields in brackets are optional):
  open_call   number, [name]                        -> incident_id
  locate      incident_id, text | lon+lat, [near]   -> name, lon, lat, grid_id
  categorise  incident_id, category, [priority], [narrative]
  note        incident_id, text
  recommend   incident_id, [limit]                  -> ranked [{unit_id, callsign, eta_s}]
  dispatch    incident_id, [unit_ids]               -> unit_ids (default: the first recommended)
  status      unit_id, status, [note]
  close       incident_id, result, [note]
  callback    incident_id, satisfied, [note]
  notify      incident_id, agency (119/120/122/12345/燃气/供电/供水/住建), [method 电话|系统|对讲],
              [reference], [note]                   -> notification_id
  acknowledge incident_id, agency | notification_id, [reference]
  transfer    incident_id, to, reason               (closes the incident as 转办)
  reopen      incident_id, reason                   (值班长: a closed incident back to 待派) -> status
  move        incident_id, to, [reason]             (值班长: an open incident to seat `to`) -> seat, operator

A field an operation does not take (a typo, a field of another operation) refuses the
whole line, naming it: a misspelt field must never fall back to a default and act.
A phone `number` may be given as text or as a JSON integer (read as its decimal digits).
"""
from __future__ import annotations

import argparse
import importlib
import itertools
import json
import math
import sys
from collections.abc import Callable
from typing import Any

from dispatch.domain.errors import DispatchError

MAX_LINE = 64 * 1024
# Modules holding further operations: each has ops(app) -> {name: handler(cmd) -> result}.
EXTRA_OPS = ("dispatch.commands.act_calls", "dispatch.commands.act_cases")
# Each module holding operations also has FIELDS: {name: the fields it takes besides "op"}.
FIELDS: dict[str, frozenset[str]] = {name: frozenset(fields.split()) for name, fields in {
    "open_call": "number name",
    "locate": "incident_id text lon lat near",
    "categorise": "incident_id category priority narrative",
    "note": "incident_id text",
    "recommend": "incident_id limit",
    "dispatch": "incident_id unit_ids",
    "status": "unit_id status note",
    "close": "incident_id result note",
    "callback": "incident_id satisfied note",
    "notify": "incident_id agency method reference note",
    "acknowledge": "incident_id agency notification_id reference",
    "transfer": "incident_id to reason",
    "reopen": "incident_id reason",
    "move": "incident_id to reason",
}.items()}


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser("act", help="headless actions: JSON commands on stdin, JSON results on stdout")
    p.set_defaults(handler=_act)


class Actions:
    """The operations of `act`, bound to one App (its services, geocoder, reverse)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sv = app.services
        self.ops: dict[str, Callable[[dict], dict]] = {
            "open_call": self.open_call, "locate": self.locate, "categorise": self.categorise,
            "note": self.note, "recommend": self.recommend, "dispatch": self.dispatch,
            "status": self.status, "close": self.close, "callback": self.callback,
            "notify": self.notify, "acknowledge": self.acknowledge, "transfer": self.transfer,
            "reopen": self.reopen, "move": self.move,
        }
        self.fields: dict[str, frozenset[str]] = dict(FIELDS)
        for module in EXTRA_OPS:
            mod = importlib.import_module(module)
            self.ops.update(mod.ops(app))
            self.fields.update(mod.FIELDS)
        undeclared = set(self.ops) - set(self.fields)
        if undeclared:  # a programming error: every operation declares its fields
            raise RuntimeError(f"act operations without FIELDS: {sorted(undeclared)}")

    def run(self, line: str) -> dict:
        """One command line -> one result object; never raises for bad input."""
        if len(line) > MAX_LINE:
            return _refused(f"命令过长（超过 {MAX_LINE} 字节）")
        try:
            cmd = json.loads(line)
        except (ValueError, RecursionError):  # ValueError: also an integer of over 4300 digits
            return _refused("不是有效的 JSON 行")
        if not isinstance(cmd, dict):
            return _refused("每行应是一个 JSON 对象，如 {\"op\": \"open_call\", \"number\": \"110\"}")
        op = cmd.get("op")
        fn = self.ops.get(op) if isinstance(op, str) else None
        if fn is None:
            return _refused(f"{_unknown_op(cmd)}；支持: {', '.join(self.ops)}")
        fields = self.fields[str(op)]
        unknown = [k for k in cmd if k != "op" and k not in fields]
        if unknown:
            takes = "、".join(sorted(fields)) or "（无）"
            return _refused(f"{op} 不支持的字段: {_shown('、'.join(unknown))}；{op} 的字段: {takes}")
        try:
            return {"ok": True, **fn(cmd)}
        except DispatchError as exc:
            return _refused(str(exc))

    # ---- operations --------------------------------------------------------------
    def open_call(self, c: dict) -> dict:
        changes = self.sv.open_call(_phone(c, "number", required=False), _text(c, "name", required=False))
        return {"incident_id": changes.incident_id}

    def locate(self, c: dict) -> dict:
        from dispatch.geo.coords import check_in_china
        from dispatch.services.locations import Location
        iid = _id(c, "incident_id")
        if "lon" in c or "lat" in c:
            lon, lat = _number(c, "lon"), _number(c, "lat")
            check_in_china(lon, lat, "地点坐标")  # before naming the point: refused, nothing changed
            text = _text(c, "text", required=False)
            loc = Location.manual(lon, lat, text, point=self.app.reverse.describe(lon, lat))
        else:
            text = _text(c, "text")
            near = None
            if "near" in c:
                near = c["near"]
                if not (isinstance(near, list) and len(near) == 2):
                    raise DispatchError("near 应为 [经度, 纬度]")
                near = (_finite(near[0], "near"), _finite(near[1], "near"))
                check_in_china(*near, "near 坐标")
            cands = self.app.geocoder.search(text, near=near or self.app.area_centre(), limit=5)
            full = [k for k in cands if not getattr(k, "partial", False)]
            if not full:
                seen = "、".join(k.name for k in cands[:3])
                raise DispatchError(f"没有完全匹配「{text}」的地点" + (f"（部分匹配：{seen}）" if seen else ""))
            loc = Location.from_candidate(full[0], text)
        self.sv.locate(iid, loc)
        inc = self._incident(iid)
        return {"incident_id": iid, "name": inc.place_name, "lon": inc.lon, "lat": inc.lat,
                "grid_id": inc.grid_id}

    def categorise(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        priority = _text(c, "priority", required=False) or None
        narrative = _text(c, "narrative", required=False) if "narrative" in c else None
        self.sv.categorise(iid, _text(c, "category"), priority, narrative)
        inc = self._incident(iid)
        return {"incident_id": iid, "category": inc.category, "priority": inc.priority}

    def note(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        self.sv.add_note(iid, _text(c, "text"))
        return {"incident_id": iid}

    def recommend(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        limit = _id(c, "limit") if "limit" in c else 5
        if not 1 <= limit <= 50:
            raise DispatchError("limit 应在 1 到 50 之间")
        rec = self.sv.recommend(iid, limit=limit)
        return {"incident_id": iid, "ranked": [{"unit_id": r.unit_id, "callsign": r.callsign,
                                                 "eta_s": round(r.eta_s, 1), "route_m": round(r.route_m, 1)}
                                                for r in rec.ranked]}

    def dispatch(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        estimates: dict[int, tuple[float, float]] = {}
        if "unit_ids" in c:
            ids = c["unit_ids"]
            if not isinstance(ids, list) or not ids:
                raise DispatchError("unit_ids 应为非空的警力编号列表")
            unit_ids = [_id({"unit_id": u}, "unit_id") for u in ids]
        else:
            rec = self.sv.recommend(iid, limit=1)
            if not rec.ranked:
                raise DispatchError("没有可派的空闲警力")
            unit_ids = [rec.ranked[0].unit_id]
            estimates = {r.unit_id: (r.eta_s, r.route_m) for r in rec.ranked}
        self.sv.dispatch(iid, unit_ids, estimates)
        return {"incident_id": iid, "unit_ids": unit_ids}

    def status(self, c: dict) -> dict:
        uid = _id(c, "unit_id")
        self.sv.set_unit_status(uid, _text(c, "status"), _text(c, "note", required=False))
        return {"unit_id": uid}

    def close(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        self.sv.close(iid, _text(c, "result"), _text(c, "note", required=False))
        return {"incident_id": iid}

    def callback(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        satisfied = c.get("satisfied")
        if not isinstance(satisfied, bool):
            raise DispatchError("satisfied 应为 true 或 false")
        self.sv.callback(iid, satisfied, _text(c, "note", required=False))
        return {"incident_id": iid}

    def notify(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        how = _text(c, "method", required=False) or "phone"
        changes = self.sv.notify_agency(iid, _text(c, "agency"), how, _text(c, "reference", required=False),
                                        _text(c, "note", required=False))
        return {"incident_id": iid, "notification_id": changes.last_event_id}

    def acknowledge(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        nid = _id(c, "notification_id") if "notification_id" in c else None
        agency = _text(c, "agency", required=nid is None) or None
        self.sv.acknowledge_agency(iid, agency, nid, _text(c, "reference", required=False))
        return {"incident_id": iid}

    def transfer(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        self.sv.transfer(iid, _text(c, "to"), _text(c, "reason"))
        return {"incident_id": iid}

    def reopen(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        self.sv.reopen(iid, _text(c, "reason"))
        return {"incident_id": iid, "status": self._incident(iid).status.value}

    def move(self, c: dict) -> dict:
        iid = _id(c, "incident_id")
        self.sv.move_incident(iid, _text(c, "to"), _text(c, "reason", required=False))
        inc = self._incident(iid)
        return {"incident_id": iid, "seat": inc.seat, "operator": inc.operator}

    def _incident(self, iid: int) -> Any:
        from dispatch.services import queries
        with self.app.session() as s:
            return queries.incident(s, iid)


def _refused(message: str) -> dict:
    return {"ok": False, "error": message}


def _unknown_op(cmd: dict) -> str:
    """Why a command names no operation, quoting what it gave (as JSON, cut short)."""
    if "op" not in cmd:
        return f"缺少 op（操作名）；这一行的字段: {_shown('、'.join(map(str, cmd)) or '（无）')}"
    op = cmd["op"]
    if not isinstance(op, str):
        return f"op 应为操作名文字，给出的是 {_shown(json.dumps(op, ensure_ascii=False))}"
    return f"未知的操作「{_shown(op)}」"


def _shown(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _id(c: dict, key: str) -> int:
    v = c.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 2**63:
        raise DispatchError(f"{key} 应为正整数")
    return v


def _text(c: dict, key: str, required: bool = True) -> str:
    v = c.get(key, None)
    if v is None and not required:
        return ""
    if not isinstance(v, str) or (required and not v.strip()):
        raise DispatchError(f"{key} 应为非空文字")
    return v


def _phone(c: dict, key: str, required: bool = True) -> str:
    """A phone number: text, or a JSON integer read as its decimal digits (then checked
    as any number is)."""
    v = c.get(key)
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise DispatchError(f"{key} 应为电话号码文字（用引号）")
        return str(v)
    if v is not None and not isinstance(v, str):
        raise DispatchError(f"{key} 应为电话号码文字（用引号）")
    return _text(c, key, required)


def _finite(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise DispatchError(f"{key} 应为有限的数字")
    return float(v)


def _number(c: dict, key: str) -> float:
    return _finite(c.get(key), key)


def _act(args: argparse.Namespace) -> int:
    """Every non-blank line of stdin, one result line each. No command at all is a usage
    error (exit 2, the database untouched); any refused line ends in a summary on stderr
    and exit 1."""
    from dispatch.commands.support import open_app
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    lines = (line for line in stdin if line.strip())
    first = next(lines, None)
    if first is None:
        raise DispatchError('标准输入中没有命令：act 每行读一个 JSON 对象，如 {"op": "open_call", "number": "110"}')
    actions = Actions(open_app(args))
    done = failed = 0
    for line in itertools.chain((first,), lines):
        result = actions.run(line)
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        if result["ok"]:
            done += 1
        else:
            failed += 1
    if failed:
        sys.stderr.write(f"act: {done} 条成功，{failed} 条失败\n")
        return 1
    return 0
