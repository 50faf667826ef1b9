"""反诈 紧急止付: a telecom-fraud call's emergency stop-payment case — the victim's and the
fraudster's accounts and banks, the transfers (amount, time), the request sent to the
anti-fraud centre (method, its reference) and the centre's result.

All of it lives in the log (`fraud.recorded`, `fraud.requested`, `fraud.result`); the case
is read back from the events of the incident, so no table is needed. A later record or
result replaces the earlier one (the caller remembers another transfer; a partial stop is
completed): the case shows the latest, the log keeps them all. The request and the result
may come after the incident was closed; the record needs an open incident.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services.calls import get_incident, open_incident
from dispatch.services.context import Changes, Context, append_event, ensure_writable, instant, require
from dispatch.store.eventlog import as_utc
from dispatch.store.schema import EventRow, IncidentRow

FRAUD_CATEGORY = "telecom_fraud"
OUTCOMES = ("止付成功", "部分止付", "止付失败", "已转出")
METHODS = {"platform": "反诈平台", "phone": "电话", "fax": "传真"}
MAX_AMOUNT = 1e9
MAX_ACCOUNTS = 20
MAX_TRANSFERS = 50
_ACCOUNT = re.compile(r"^[0-9]{6,30}$")


@dataclass(frozen=True)
class Account:
    account: str   # digits only
    bank: str
    holder: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "bank": self.bank, "holder": self.holder}


@dataclass(frozen=True)
class Transfer:
    amount: float        # yuan
    at: datetime         # UTC
    to_account: str = ""  # a fraud account of the case, when the caller knows which

    def as_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "at": _iso(self.at), "to_account": self.to_account}


@dataclass(frozen=True)
class FraudCase:
    """One incident's stop-payment case as the log has it now."""

    incident_id: int
    received_at: datetime                # the answer: the timer starts here
    now: datetime
    victim_accounts: tuple[Account, ...] = ()
    fraud_accounts: tuple[Account, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    caller_number: str = ""
    place_name: str = ""
    record_note: str = ""
    recorded_at: datetime | None = None
    requested_at: datetime | None = None
    reference: str = ""
    method: str = ""
    result_at: datetime | None = None
    outcome: str = ""
    amount_stopped: float | None = None
    result_note: str = ""
    operator: str = ""

    @property
    def total_amount(self) -> float:
        return round(sum(t.amount for t in self.transfers), 2)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the answer: running until the request is sent, then frozen there."""
        end = self.requested_at or self.now
        return max(0.0, (end - self.received_at).total_seconds())

    @property
    def answer_to_request_s(self) -> float | None:
        return None if self.requested_at is None else (self.requested_at - self.received_at).total_seconds()

    @property
    def checklist(self) -> list[tuple[str, bool, str]]:
        """(step, done, detail) for 登记 / 申请已发 + 编号 / 结果."""
        money = f"{len(self.transfers)} 笔共 {self.total_amount:,.2f} 元" if self.transfers else ""
        sent = f"{METHODS.get(self.method, self.method)} 编号 {self.reference}" if self.requested_at else ""
        res = ""
        if self.result_at:
            res = self.outcome + (f"，止付 {self.amount_stopped:,.2f} 元" if self.amount_stopped else "")
        return [("登记账户与转账", self.recorded_at is not None, money),
                ("止付申请已发", self.requested_at is not None, sent),
                ("止付结果", self.result_at is not None, res)]

    def as_json(self, tz: str = "Asia/Shanghai") -> dict[str, Any]:
        """The fields the anti-fraud centre needs (times in UTC and in local time)."""
        zone = ZoneInfo(tz)
        return {
            "incident_id": self.incident_id, "caller_number": self.caller_number, "place": self.place_name,
            "received_at": _iso(self.received_at), "received_local": _local(self.received_at, zone),
            "victim_accounts": [a.as_json() for a in self.victim_accounts],
            "fraud_accounts": [a.as_json() for a in self.fraud_accounts],
            "transfers": [t.as_json() | {"at_local": _local(t.at, zone)} for t in self.transfers],
            "total_amount": self.total_amount, "note": self.record_note,
            "requested_at": _iso(self.requested_at), "method": METHODS.get(self.method, self.method),
            "reference": self.reference, "answer_to_request_s": self.answer_to_request_s,
            "outcome": self.outcome, "amount_stopped": self.amount_stopped,
            "result_at": _iso(self.result_at), "result_note": self.result_note, "operator": self.operator,
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def _local(t: datetime | None, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def _accounts(items: object, who: str) -> list[Account]:
    if not isinstance(items, (list, tuple)) or not items:
        raise DispatchError(f"请至少填写一个{who}账户")
    if len(items) > MAX_ACCOUNTS:
        raise DispatchError(f"{who}账户最多 {MAX_ACCOUNTS} 个")
    out = []
    for i, a in enumerate(items, 1):
        if isinstance(a, Account):
            a = a.as_json()
        if not isinstance(a, dict):
            raise DispatchError(f"{who}账户 {i} 应包含账号和开户行")
        number = re.sub(r"[\s-]", "", a.get("account") or "") if isinstance(a.get("account"), str) else ""
        if not _ACCOUNT.match(number):
            raise DispatchError(f"{who}账户 {i} 的账号应为 6 到 30 位数字: {a.get('account')!r}")
        bank = clean_text(a.get("bank"), f"{who}账户 {i} 的开户行", required=True, limit=40)
        holder = clean_text(a.get("holder"), f"{who}账户 {i} 的户名", limit=32)
        out.append(Account(number, bank, holder))
    return out


def _when(value: object, tz: str, what: str) -> datetime:
    """A time as datetime or ISO text; without a zone it is read in the settings' zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise DispatchError(f"{what}不是有效的时间（如 2026-11-23 11:45）: {value!r}") from None
    if not isinstance(value, datetime):
        raise DispatchError(f"请填写{what}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


def _amount(value: object, what: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DispatchError(f"{what}应为数字（元）")
    if not (0 <= value if allow_zero else 0 < value) or value > MAX_AMOUNT:
        low = "不小于 0" if allow_zero else "大于 0"
        raise DispatchError(f"{what}应{low}且不超过 10 亿元: {value}")
    return round(float(value), 2)


def _transfers(items: object, frauds: list[Account], now: datetime, tz: str) -> list[Transfer]:
    if not isinstance(items, (list, tuple)) or not items:
        raise DispatchError("请至少填写一笔转账（金额、时间）")
    if len(items) > MAX_TRANSFERS:
        raise DispatchError(f"转账最多 {MAX_TRANSFERS} 笔")
    known = {a.account for a in frauds}
    out = []
    for i, t in enumerate(items, 1):
        if isinstance(t, Transfer):
            t = {"amount": t.amount, "at": t.at, "to_account": t.to_account}
        if not isinstance(t, dict):
            raise DispatchError(f"转账 {i} 应包含金额和时间")
        amount = _amount(t.get("amount"), f"转账 {i} 的金额")
        at = _when(t.get("at"), tz, f"转账 {i} 的时间")
        if at > now:
            raise DispatchError(f"转账 {i} 的时间在将来: {t.get('at')}")
        to = t.get("to_account") or ""
        to = re.sub(r"[\s-]", "", to) if isinstance(to, str) else "?"
        if to and to not in known:
            raise DispatchError(f"转账 {i} 的收款账号 {to} 不在嫌疑人账户中")
        out.append(Transfer(amount, at, to))
    return sorted(out, key=lambda x: x.at)


def _check_category(inc: IncidentRow) -> None:
    if inc.category and inc.category != FRAUD_CATEGORY:
        label = CATEGORY_BY_CODE[inc.category].label if inc.category in CATEGORY_BY_CODE else inc.category
        raise DispatchError(f"警情 {inc.id} 的类别是「{label}」，不是电信网络诈骗，不能登记紧急止付")


def record(ctx: Context, incident_id: int, victim_accounts: list[Any], fraud_accounts: list[Any], transfers: list[Any],
           note: str = "", tz: str = "Asia/Shanghai") -> Changes:
    """止付登记: accounts ({account, bank, [holder]}) and transfers ({amount, at, [to_account]},
    `at` a datetime or ISO text, zone-less read in `tz`). The incident must be open and
    either not yet categorised or 电信网络诈骗. A later record replaces this one in the case."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    victims = _accounts(victim_accounts, "受害人")
    frauds = _accounts(fraud_accounts, "嫌疑人")
    note = clean_text(note, "备注")
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        moves = _transfers(transfers, frauds, now, tz)
        inc = open_incident(s, incident_id)
        _check_category(inc)
        eid = append_event(ctx, s, ev.FRAUD_RECORDED, incident_id, at=now, payload={
            "victim_accounts": [a.as_json() for a in victims], "fraud_accounts": [a.as_json() for a in frauds],
            "transfers": [t.as_json() for t in moves], "total_amount": round(sum(t.amount for t in moves), 2),
            "note": note})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def _method(how: str) -> str:
    how = (how or "").strip()
    for code, label in METHODS.items():
        if how in (code, label):
            return code
    raise DispatchError(f"未知的申请方式: {how!r}；可选: {'、'.join(METHODS.values())}")


def request_sent(ctx: Context, incident_id: int, reference: str, method: str = "platform") -> Changes:
    """止付申请已发: the request went to the anti-fraud centre by `method` (反诈平台/电话/传真)
    under the centre's `reference`. Needs a record first; sent once per case."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    reference = clean_text(reference, "止付申请编号", required=True, limit=64)
    how = _method(method)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        get_incident(s, incident_id)
        kinds = _kinds(s, incident_id)
        if ev.FRAUD_RECORDED not in kinds:
            raise DispatchError(f"警情 {incident_id} 还没有登记止付账户，请先登记")
        if ev.FRAUD_REQUESTED in kinds:
            raise DispatchError(f"警情 {incident_id} 的止付申请已发出，不能重复发送")
        eid = append_event(ctx, s, ev.FRAUD_REQUESTED, incident_id, at=now,
                           payload={"reference": reference, "method": how})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def result(ctx: Context, incident_id: int, outcome: str, amount_stopped: float | None = None,
           note: str = "") -> Changes:
    """止付结果 from the centre: 止付成功 (amount > 0; default the whole sum), 部分止付
    (0 < amount < the sum), 止付失败 / 已转出 (amount 0). Needs the request first."""
    ensure_writable(ctx)
    require(ctx, "incident.write")
    outcome = (outcome or "").strip() if isinstance(outcome, str) else ""
    if outcome not in OUTCOMES:
        raise DispatchError(f"未知的止付结果: {outcome!r}；可选: {'、'.join(OUTCOMES)}")
    note = clean_text(note, "备注")
    if amount_stopped is not None:
        amount_stopped = _amount(amount_stopped, "止付金额", allow_zero=True)
    with ctx.store.transaction(appends=True) as s:
        now = instant(ctx, s)
        c = case(s, incident_id, now)
        if c.requested_at is None:
            raise DispatchError(f"警情 {incident_id} 的止付申请尚未发出，不能登记结果")
        total = c.total_amount
        if outcome == "止付成功":
            amount_stopped = total if amount_stopped is None else amount_stopped
            if not 0 < amount_stopped <= total:
                raise DispatchError(f"止付成功时止付金额应大于 0 且不超过被骗总额 {total:,.2f} 元")
        elif outcome == "部分止付":
            if amount_stopped is None or not 0 < amount_stopped < total:
                raise DispatchError(f"部分止付时止付金额应大于 0 且小于被骗总额 {total:,.2f} 元")
        elif amount_stopped:
            raise DispatchError(f"「{outcome}」时止付金额应为 0")
        else:
            amount_stopped = 0.0
        eid = append_event(ctx, s, ev.FRAUD_RESULT, incident_id, at=now,
                           payload={"outcome": outcome, "amount_stopped": amount_stopped, "note": note})
        return Changes(incidents=frozenset({incident_id}), last_event_id=eid, incident_id=incident_id,
                       event_ids=(eid,))


def _kinds(s: Session, incident_id: int) -> set[str]:
    q = select(EventRow.kind).where(EventRow.incident_id == incident_id,
                                    EventRow.kind.in_((ev.FRAUD_RECORDED, ev.FRAUD_REQUESTED, ev.FRAUD_RESULT)))
    return set(s.scalars(q))


def _fold(inc: IncidentRow, rows: list[EventRow], now: datetime | None) -> FraudCase:
    c: dict[str, Any] = {"incident_id": inc.id, "received_at": as_utc(inc.received_at), "now": now or as_utc(inc.received_at),
               "caller_number": inc.caller_number, "place_name": inc.place_name or inc.place_text}
    for r in rows:
        p, at = r.payload or {}, as_utc(r.occurred_at)
        if r.kind == ev.FRAUD_RECORDED:
            c |= {"victim_accounts": tuple(Account(**a) for a in p.get("victim_accounts", [])),
                  "fraud_accounts": tuple(Account(**a) for a in p.get("fraud_accounts", [])),
                  "transfers": tuple(Transfer(t["amount"], _when(t["at"], "UTC", "时间"), t.get("to_account", ""))
                                     for t in p.get("transfers", [])),
                  "record_note": p.get("note", ""), "recorded_at": at, "operator": r.operator}
        elif r.kind == ev.FRAUD_REQUESTED and c.get("requested_at") is None:
            c |= {"requested_at": at, "reference": p.get("reference", ""), "method": p.get("method", "")}
        elif r.kind == ev.FRAUD_RESULT:
            c |= {"result_at": at, "outcome": p.get("outcome", ""), "amount_stopped": p.get("amount_stopped"),
                  "result_note": p.get("note", "")}
    return FraudCase(**c)


def _events(s: Session, incident_ids: list[int]) -> dict[int, list[EventRow]]:
    out: dict[int, list[EventRow]] = {i: [] for i in incident_ids}
    if incident_ids:
        q = (select(EventRow).where(EventRow.kind.in_((ev.FRAUD_RECORDED, ev.FRAUD_REQUESTED, ev.FRAUD_RESULT)),
                                    EventRow.incident_id.in_(incident_ids)).order_by(EventRow.id))
        for r in s.scalars(q):
            if r.incident_id is not None:
                out[r.incident_id].append(r)
    return out


def case(s: Session, incident_id: int, now: datetime) -> FraudCase:
    """The incident's stop-payment case at `now` (empty lists and an unticked checklist
    when nothing is recorded yet: the timer runs from the answer all the same)."""
    inc = get_incident(s, incident_id)
    return _fold(inc, _events(s, [incident_id])[incident_id], now)


def cases(s: Session, since: datetime | None, until: datetime | None, now: datetime | None) -> list[FraudCase]:
    """Recorded cases of incidents received in [since, until), oldest first (`now` None:
    each case's timer stands at its answer; only the recorded instants matter then)."""
    q = select(EventRow.incident_id).where(EventRow.kind == ev.FRAUD_RECORDED).distinct()
    ids = [i for i in s.scalars(q) if i is not None]
    incs = [i for i in (s.get(IncidentRow, x) for x in ids)
            if i is not None and (since is None or as_utc(i.received_at) >= since) and (until is None or as_utc(i.received_at) < until)]
    by = _events(s, [i.id for i in incs])
    return sorted((_fold(i, by[i.id], now) for i in incs), key=lambda c: c.received_at)


def fraud_summary(s: Session, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """For the statistics: recorded cases of incidents received in [since, until); how many
    had the request sent; answer → request seconds (n, p50, p90, nearest rank); outcomes."""
    all_cases = cases(s, since, until, None)
    waits = sorted(c.answer_to_request_s for c in all_cases if c.answer_to_request_s is not None)

    def rank(q: float) -> float | None:
        return round(waits[max(0, math.ceil(len(waits) * q) - 1)], 1) if waits else None
    outcomes: dict[str, int] = {}
    for c in all_cases:
        if c.outcome:
            outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    return {"recorded": len(all_cases), "n": len(waits), "p50_s": rank(0.5), "p90_s": rank(0.9),
            "outcomes": outcomes, "total_amount": round(sum(c.total_amount for c in all_cases), 2),
            "amount_stopped": round(sum(c.amount_stopped or 0 for c in all_cases), 2)}


EXPORT_COLUMNS = ("警情编号", "报警电话", "报警地点", "接警时间", "受害人账号", "受害人开户行", "受害人户名",
                  "转账时间", "转账金额(元)", "收款账号", "嫌疑人账号", "嫌疑人开户行", "嫌疑人户名",
                  "被骗总额(元)", "申请方式", "申请编号", "申请时间", "止付结果", "止付金额(元)", "备注")


def export(c: FraudCase, path: str | Path, tz: str = "Asia/Shanghai") -> Path:
    """Write the case for the anti-fraud centre: `.json` (the whole case) or `.csv` (one row
    per transfer, UTF-8 with BOM so Excel reads the Chinese). Written to a temporary file
    and renamed: a failure leaves no file behind."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise DispatchError(f"导出文件应以 .csv 或 .json 结尾: {path.name}")
    if c.recorded_at is None:
        raise DispatchError(f"警情 {c.incident_id} 还没有登记止付账户，无可导出")
    if not path.parent.is_dir():
        raise DispatchError(f"目录不存在: {path.parent}")
    fd, tmp = tempfile.mkstemp(prefix=".fraud-", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if suffix == ".csv" else "utf-8", newline="") as f:
            if suffix == ".json":
                json.dump(c.as_json(tz), f, ensure_ascii=False, indent=2)
            else:
                _write_csv(c, f, ZoneInfo(tz))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_csv(c: FraudCase, f: TextIO, zone: ZoneInfo) -> None:
    w = csv.writer(f)
    w.writerow(EXPORT_COLUMNS)
    frauds = {a.account: a for a in c.fraud_accounts}
    v = c.victim_accounts[0]
    n = max(len(c.transfers), len(c.fraud_accounts), len(c.victim_accounts))
    for i in range(n):
        t = c.transfers[i] if i < len(c.transfers) else None
        fa = frauds.get(t.to_account) if t and t.to_account else None
        fa = fa or (c.fraud_accounts[i] if i < len(c.fraud_accounts) else None)
        va = c.victim_accounts[i] if i < len(c.victim_accounts) else v
        first = i == 0
        w.writerow([
            c.incident_id, c.caller_number, c.place_name, _local(c.received_at, zone),
            _cell(va.account), va.bank, va.holder,
            _local(t.at, zone) if t else "", f"{t.amount:.2f}" if t else "", _cell(t.to_account) if t else "",
            _cell(fa.account) if fa else "", fa.bank if fa else "", fa.holder if fa else "",
            f"{c.total_amount:.2f}" if first else "",
            METHODS.get(c.method, c.method) if first else "", c.reference if first else "",
            _local(c.requested_at, zone) if first else "", c.outcome if first else "",
            (f"{c.amount_stopped:.2f}" if c.amount_stopped is not None else "") if first else "",
            c.record_note if first else ""])


def _cell(account: str) -> str:
    """An account number Excel keeps as text (not 6.22E+18): a leading tab."""
    return f"\t{account}" if account else ""
