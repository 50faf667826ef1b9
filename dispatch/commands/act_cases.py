"""Further `act` operations (see dispatch.commands.act): 反诈 紧急止付 and 矛盾纠纷 referrals.

  fraud_record      incident_id, victim_accounts [{account, bank, [holder]}],
                    fraud_accounts [{account, bank, [holder]}], transfers [{amount, at, [to_account]}],
                    [note]                          (at: ISO time; without a zone, the settings' zone)
  fraud_request     incident_id, reference, [method 反诈平台|电话|传真]
  fraud_result      incident_id, outcome (止付成功|部分止付|止付失败|已转出), [amount_stopped], [note]
  fraud_case        incident_id                     -> case (accounts, transfers, checklist, elapsed_s)
  fraud_export      incident_id, path (.csv UTF-8 with BOM, or .json) -> path
  refer             incident_id, to (网格员|人民调解|社区民警|司法所), contact, follow_up_on (YYYY-MM-DD),
                    [note]                          -> referral_id, flag ("" for a dispute)
  follow_up         incident_id, outcome (已化解|调解中|未化解|无法联系), [note], [referral_id]
  overdue_referrals [today (YYYY-MM-DD), default the local date] -> referrals [...]
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from dispatch.commands.act import _id, _number, _text
from dispatch.domain.errors import DispatchError

FIELDS: dict[str, frozenset[str]] = {name: frozenset(fields.split()) for name, fields in {
    "fraud_record": "incident_id victim_accounts fraud_accounts transfers note",
    "fraud_request": "incident_id reference method",
    "fraud_result": "incident_id outcome amount_stopped note",
    "fraud_case": "incident_id",
    "fraud_export": "incident_id path",
    "refer": "incident_id to contact follow_up_on note",
    "follow_up": "incident_id outcome note referral_id",
    "overdue_referrals": "today",
}.items()}
# The fields of the items of fraud_record's lists: a misspelt one is refused, not dropped.
ITEM_FIELDS = {"victim_accounts": frozenset({"account", "bank", "holder"}),
               "fraud_accounts": frozenset({"account", "bank", "holder"}),
               "transfers": frozenset({"amount", "at", "to_account"})}


def ops(app: Any) -> dict[str, Callable[[dict], dict]]:
    from dispatch.services import fraud, referrals

    tz = app.settings.tz

    def ctx() -> Any:  # the services' context of the moment (a login replaces app.services)
        return app.services.ctx

    def _list(c: dict, key: str, required: bool = True) -> list:
        v = c.get(key)
        if v is None and not required:
            return []
        if not isinstance(v, list):
            raise DispatchError(f"{key} 应为列表")
        known = ITEM_FIELDS.get(key)
        for i, item in enumerate(v, 1):
            unknown = [k for k in item if k not in known] if known and isinstance(item, dict) else []
            if unknown:
                raise DispatchError(f"{key} 第 {i} 项不支持的字段: {'、'.join(unknown)[:60]}；"
                                    f"可用: {'、'.join(sorted(known or ()))}")
        return v

    def fraud_record(c: dict) -> dict:
        iid = _id(c, "incident_id")
        changes = fraud.record(ctx(), iid, _list(c, "victim_accounts"), _list(c, "fraud_accounts"),
                               _list(c, "transfers"), _text(c, "note", required=False), tz=tz)
        with app.session() as s:
            total = fraud.case(s, iid, app.clock.now()).total_amount
        return {"incident_id": iid, "event_id": changes.last_event_id, "total_amount": total}

    def fraud_request(c: dict) -> dict:
        iid = _id(c, "incident_id")
        fraud.request_sent(ctx(), iid, _text(c, "reference"), _text(c, "method", required=False) or "platform")
        with app.session() as s:
            return {"incident_id": iid, "answer_to_request_s": fraud.case(s, iid, app.clock.now()).answer_to_request_s}

    def fraud_result(c: dict) -> dict:
        iid = _id(c, "incident_id")
        amount = _number(c, "amount_stopped") if c.get("amount_stopped") is not None else None
        fraud.result(ctx(), iid, _text(c, "outcome"), amount, _text(c, "note", required=False))
        return {"incident_id": iid}

    def fraud_case(c: dict) -> dict:
        iid = _id(c, "incident_id")
        with app.session() as s:
            k = fraud.case(s, iid, app.clock.now())
        return {"incident_id": iid, "case": k.as_json(tz), "elapsed_s": round(k.elapsed_s, 1),
                "checklist": [{"step": a, "done": b, "detail": d} for a, b, d in k.checklist]}

    def fraud_export(c: dict) -> dict:
        iid = _id(c, "incident_id")
        path = _text(c, "path")
        with app.session() as s:
            k = fraud.case(s, iid, app.clock.now())
        try:
            out = fraud.export(k, path, tz=tz)
        except OSError as exc:
            raise DispatchError(f"无法写入 {path}: {exc.strerror or exc}") from None
        return {"incident_id": iid, "path": str(out)}

    def refer(c: dict) -> dict:
        iid = _id(c, "incident_id")
        changes = referrals.refer(ctx(), iid, _text(c, "to"), _text(c, "contact"), _text(c, "follow_up_on"),
                                  _text(c, "note", required=False), tz=tz)
        with app.session() as s:
            r = next(r for r in referrals.referrals(s, [iid])[iid] if r.id == changes.last_event_id)
        return {"incident_id": iid, "referral_id": r.id, "flag": r.flag}

    def follow_up(c: dict) -> dict:
        iid = _id(c, "incident_id")
        rid = _id(c, "referral_id") if "referral_id" in c else None
        referrals.follow_up(ctx(), iid, _text(c, "outcome"), _text(c, "note", required=False), rid)
        return {"incident_id": iid}

    def overdue_referrals(c: dict) -> dict:
        if "today" in c:
            try:
                today = date.fromisoformat(_text(c, "today"))
            except ValueError:
                raise DispatchError("today 应为日期，如 2026-11-30") from None
        else:
            today = referrals.today_in(app.clock.now(), tz)
        with app.session() as s:
            rows = referrals.overdue(s, today)
        return {"today": today.isoformat(), "referrals": [r.as_json() for r in rows]}

    return {"fraud_record": fraud_record, "fraud_request": fraud_request, "fraud_result": fraud_result,
            "fraud_case": fraud_case, "fraud_export": fraud_export, "refer": refer, "follow_up": follow_up,
            "overdue_referrals": overdue_referrals}
