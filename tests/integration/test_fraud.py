"""反诈 紧急止付: record, request, result, the case with its timer and checklist, the export
read back, the statistics — through the services on a real demo database and through `act`."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.services import fraud
from dispatch.store import eventlog

from tests.integration.act_support import REPO, run_act

VICTIM = [{"account": "6222 0212 3456 7890 123", "bank": "工商银行慈溪支行", "holder": "王芳"}]
FRAUDS = [{"account": "6217000011112222333", "bank": "建设银行"},
          {"account": "6228480099998888", "bank": "农业银行"}]
TRANSFERS = [{"amount": 30000, "at": "2026-11-23T11:40:00", "to_account": "6217000011112222333"},
             {"amount": 12500.5, "at": "2026-11-23T11:52:30+08:00", "to_account": "6228480099998888"}]


def _fraud_call(app) -> int:
    iid = app.services.open_call("13900000001", "王芳").incident_id
    app.services.categorise(iid, "telecom_fraud")
    return iid


def test_case_timer_checklist_and_result(app, clock):
    ctx = app.services.ctx
    iid = _fraud_call(app)
    with app.session() as s:  # nothing recorded yet: the timer runs, nothing ticked
        c = fraud.case(s, iid, clock.now())
        assert c.elapsed_s == 0 and [done for _, done, _ in c.checklist] == [False, False, False]
    clock.advance(95)
    fraud.record(ctx, iid, VICTIM, FRAUDS, TRANSFERS, note="冒充公检法")
    clock.advance(150)
    with app.session() as s:
        c = fraud.case(s, iid, clock.now())
    assert c.victim_accounts[0].account == "6222021234567890123"  # spaces dropped
    assert c.total_amount == 42500.5 and c.elapsed_s == 245
    assert c.transfers[0].at.isoformat() == "2026-11-23T03:40:00+00:00"  # zone-less = Asia/Shanghai
    assert [done for _, done, _ in c.checklist] == [True, False, False]
    fraud.request_sent(ctx, iid, "FZ-2026-0042", "反诈平台")
    clock.advance(600)
    with app.session() as s:
        c = fraud.case(s, iid, clock.now())
    assert c.answer_to_request_s == 245 and c.elapsed_s == 245  # the timer stops at the request
    assert c.checklist[1] == ("止付申请已发", True, "反诈平台 编号 FZ-2026-0042")
    with pytest.raises(DispatchError, match="部分止付时止付金额"):
        fraud.result(ctx, iid, "部分止付", 42500.5)
    fraud.result(ctx, iid, "部分止付", 30000, "第二笔已转出")
    app.services.close(iid, "handled")
    fraud.result(ctx, iid, "止付成功")  # after closing, the centre completes it: the whole sum
    with app.session() as s:
        c = fraud.case(s, iid, clock.now())
        kinds = [e.kind for e in eventlog.read(s, incident_id=iid)]
    assert (c.outcome, c.amount_stopped) == ("止付成功", 42500.5) and all(d for _, d, _ in c.checklist)
    assert kinds.count("fraud.result") == 2 and kinds.count("fraud.recorded") == 1


def test_refusals_write_nothing(app, clock):
    ctx = app.services.ctx
    iid = _fraud_call(app)
    dispute = app.services.open_call("13900000002").incident_id
    app.services.categorise(dispute, "dispute")
    with app.session() as s:
        before = eventlog.last_id(s)
    bad = [
        (lambda: fraud.record(ctx, iid, [{"account": "62220A1", "bank": "工行"}], FRAUDS, TRANSFERS), "6 到 30 位数字"),
        (lambda: fraud.record(ctx, iid, [{"account": "12345", "bank": "工行"}], FRAUDS, TRANSFERS), "6 到 30 位数字"),
        (lambda: fraud.record(ctx, iid, [{"account": "1" * 31, "bank": "工行"}], FRAUDS, TRANSFERS), "6 到 30 位数字"),
        (lambda: fraud.record(ctx, iid, [{"account": "123456", "bank": " "}], FRAUDS, TRANSFERS), "开户行"),
        (lambda: fraud.record(ctx, iid, VICTIM, [], TRANSFERS), "嫌疑人账户"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 0, "at": "2026-11-23T11:40"}]), "大于 0"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 1e9 + 1, "at": "2026-11-23T11:40"}]), "10 亿"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": float("nan"), "at": "2026-11-23T11:40"}]), "数字"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 5, "at": "2026-11-23T12:30"}]), "将来"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 5, "at": "昨天"}]), "有效的时间"),
        (lambda: fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 5, "at": "2026-11-23T11:40",
                                                          "to_account": "999999"}]), "不在嫌疑人账户"),
        (lambda: fraud.record(ctx, dispute, VICTIM, FRAUDS, TRANSFERS), "不是电信网络诈骗"),
        (lambda: fraud.record(ctx, 99999, VICTIM, FRAUDS, TRANSFERS), "不存在"),
        (lambda: fraud.request_sent(ctx, iid, "FZ-1"), "请先登记"),
        (lambda: fraud.result(ctx, iid, "止付成功"), "尚未发出"),
        (lambda: fraud.result(ctx, iid, "冻结"), "未知的止付结果"),
    ]
    for call, message in bad:
        with pytest.raises(DispatchError, match=message):
            call()
    fraud.record(ctx, iid, VICTIM, FRAUDS, TRANSFERS)
    with app.session() as s:
        assert eventlog.last_id(s) == before + 1  # only the good record
    for call, message in [(lambda: fraud.request_sent(ctx, iid, " "), "编号"),
                          (lambda: fraud.request_sent(ctx, iid, "FZ-1", "飞鸽"), "申请方式")]:
        with pytest.raises(DispatchError, match=message):
            call()
    fraud.request_sent(ctx, iid, "FZ-1", "电话")
    for call, message in [(lambda: fraud.request_sent(ctx, iid, "FZ-2"), "不能重复"),
                          (lambda: fraud.result(ctx, iid, "止付失败", 10), "应为 0"),
                          (lambda: fraud.result(ctx, iid, "止付成功", 50000), "不超过被骗总额")]:
        with pytest.raises(DispatchError, match=message):
            call()
    app.services.close(iid, "handled")
    with pytest.raises(DispatchError, match="已结警"):
        fraud.record(ctx, iid, VICTIM, FRAUDS, TRANSFERS)


def test_export_csv_and_json_read_back(app, clock, tmp_path: Path):
    ctx = app.services.ctx
    iid = _fraud_call(app)
    clock.advance(60)
    fraud.record(ctx, iid, VICTIM, FRAUDS, TRANSFERS)
    fraud.request_sent(ctx, iid, "FZ-7", "platform")
    with app.session() as s:
        c = fraud.case(s, iid, clock.now())
    out = fraud.export(c, tmp_path / "case.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) == 2
    assert rows[0]["受害人账号"].strip() == "6222021234567890123" and rows[0]["受害人开户行"] == "工商银行慈溪支行"
    assert rows[0]["转账时间"] == "2026-11-23 11:40:00" and rows[0]["转账金额(元)"] == "30000.00"
    assert rows[1]["嫌疑人账号"].strip() == "6228480099998888" and rows[1]["嫌疑人开户行"] == "农业银行"
    assert rows[0]["申请编号"] == "FZ-7" and rows[0]["被骗总额(元)"] == "42500.50"
    data = json.loads(fraud.export(c, tmp_path / "case.json").read_text("utf-8"))
    assert data["reference"] == "FZ-7" and data["answer_to_request_s"] == 60
    assert [t["amount"] for t in data["transfers"]] == [30000, 12500.5]
    for path, message in [(tmp_path / "case.txt", r"\.csv 或 \.json"), (tmp_path / "nope" / "a.csv", "目录不存在")]:
        with pytest.raises(DispatchError, match=message):
            fraud.export(c, path)
    assert not list(tmp_path.glob(".fraud-*")) and not (tmp_path / "case.txt").exists()


def test_summary_answer_to_request(app, clock):
    ctx = app.services.ctx
    start = clock.now()
    for wait in (120, 300, 60, 900):
        iid = _fraud_call(app)
        fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 1000, "at": "2026-11-23T11:00"}])
        clock.advance(wait)
        fraud.request_sent(ctx, iid, f"FZ-{wait}")
    iid = _fraud_call(app)  # recorded, never sent
    fraud.record(ctx, iid, VICTIM, FRAUDS, [{"amount": 1000, "at": "2026-11-23T11:00"}])
    with app.session() as s:
        got = fraud.fraud_summary(s, start, clock.now())
        assert fraud.fraud_summary(s, clock.now(), None)["recorded"] == 1
    assert (got["recorded"], got["n"], got["p50_s"], got["p90_s"]) == (4, 4, 120, 900)


def test_act_ops(tmp_path: Path):
    out = tmp_path / "fz.csv"
    res = run_act(tmp_path, [
        {"op": "open_call", "number": "13900000009"},
        {"op": "categorise", "incident_id": 1000000, "category": "telecom_fraud"},
        {"op": "fraud_request", "incident_id": 1000000, "reference": "X"},
    ])
    assert res[0]["ok"] and not res[1]["ok"] and "不存在" in res[1]["error"]
    iid = res[0]["incident_id"]
    res = run_act(tmp_path, [
        {"op": "categorise", "incident_id": iid, "category": "telecom_fraud"},
        {"op": "fraud_record", "incident_id": iid, "victim_accounts": VICTIM, "fraud_accounts": FRAUDS,
         "transfers": [{"amount": 800, "at": "2020-01-01T10:00"}]},
        {"op": "fraud_record", "incident_id": iid, "victim_accounts": "6222", "fraud_accounts": FRAUDS,
         "transfers": []},
        {"op": "fraud_request", "incident_id": iid, "reference": "FZ-9", "method": "电话"},
        {"op": "fraud_result", "incident_id": iid, "outcome": "已转出"},
        {"op": "fraud_case", "incident_id": iid},
        {"op": "fraud_export", "incident_id": iid, "path": str(out)},
        {"op": "fraud_export", "incident_id": iid, "path": str(tmp_path / "no" / "x.csv")},
    ])
    assert [r["ok"] for r in res] == [True, True, False, True, True, True, True, False], res
    assert res[1]["total_amount"] == 800 and "列表" in res[2]["error"]
    assert res[5]["case"]["outcome"] == "已转出" and res[5]["checklist"][2]["done"]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and "FZ-9" in out.read_text("utf-8-sig")
    assert not (tmp_path / "no").exists()
    # the statistics show the 止付 case and its answer → request time
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "stats", "--json"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    figures = json.loads(r.stdout)
    assert figures["stop_payment"]["recorded"] == 1 and figures["stop_payment"]["n"] == 1
    assert figures["stop_payment"]["p50_s"] >= 0 and figures["stop_payment"]["outcomes"] == {"已转出": 1}
    assert figures["referrals"] == {"waiting": 0, "overdue": 0}
