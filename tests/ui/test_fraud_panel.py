"""紧急止付 panel and 纠纷移交回访 list as widgets on a real demo database: typed by
keyboard, the timer turning red, the checklist ticking, refusals shown in the widget,
the export written; overdue referrals listed in red and followed up."""
from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import Qt

from dispatch.services import fraud
from dispatch.services import referrals as rf
from ui.fraud_panel import FraudPanel, parse_transfers
from ui.referral_list import RED, ReferralList
from tests.ui.window_support import shown

CTRL = Qt.KeyboardModifier.ControlModifier


def test_fast_path_by_keyboard(qtbot, app, clock, tmp_path: Path):
    iid = app.services.open_call("13900000021", "王芳").incident_id
    app.services.categorise(iid, "telecom_fraud")
    clock.advance(100)
    p = FraudPanel(app, iid, red_after_s=300)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitUntil(p.victims.hasFocus)
    assert p.timer_label.text() == "01:40" and not p.timer_label.property("late")
    qtbot.keyClicks(p.victims, "6222021234567890123 ")
    p.victims.insertPlainText("工商银行 王芳")  # CJK goes in as the input method commits it
    qtbot.keyClick(p.victims, Qt.Key.Key_Tab)
    assert p.frauds.hasFocus()
    p.frauds.setPlainText("12345 建设银行")  # too short: refused, shown, nothing written
    qtbot.keyClick(p.frauds, Qt.Key.Key_Tab)
    qtbot.keyClicks(p.transfers, "30000 11:40 6217000011112222333")
    qtbot.keyClick(p.transfers, Qt.Key.Key_S, CTRL)
    assert "6 到 30 位数字" in p.error.text()
    assert p.checklist.text().startswith("☐ 登记")
    p.frauds.setPlainText("6217000011112222333 建设银行")
    qtbot.keyClick(p.transfers, Qt.Key.Key_S, CTRL)
    assert p.error.text() == "" and p.checklist.text().startswith("☑ 登记账户与转账：1 笔共 30,000.00 元")
    clock.advance(250)  # 5:50 since the answer: past the 5-minute mark set for this test
    p.tick()
    assert p.timer_label.text() == "05:50" and p.timer_label.property("late")
    qtbot.keyClick(p.reference, Qt.Key.Key_R, CTRL)  # no reference yet
    assert "编号" in p.error.text()
    qtbot.keyClicks(p.reference, "FZ-88")
    qtbot.keyClick(p.reference, Qt.Key.Key_R, CTRL)
    clock.advance(600)
    p.tick()
    assert p.timer_label.text() == "05:50"  # stopped at the request
    assert "☑ 止付申请已发：反诈平台 编号 FZ-88" in p.checklist.text()
    p.outcome.setCurrentText("部分止付")
    p.amount_stopped.setText("30000")
    assert not p.result() and "部分止付时止付金额" in p.error.text()
    p.amount_stopped.setText("12000")
    qtbot.keyClick(p.amount_stopped, Qt.Key.Key_G, CTRL)
    assert p.error.text() == "" and "☑ 止付结果：部分止付，止付 12,000.00 元" in p.checklist.text()
    out = p.export_to(tmp_path / "fz.csv")
    assert out is not None and "已导出" in p.error.text()
    rows = list(csv.DictReader(out.read_text("utf-8-sig").splitlines()))
    assert rows[0]["申请编号"] == "FZ-88" and rows[0]["止付结果"] == "部分止付"
    assert p.export_to(tmp_path / "fz.doc") is None and ".csv 或 .json" in p.error.text()


def test_transfer_lines():
    got = parse_transfers("30,000元 11:40\n\n500 2026-11-22 23:10 6217000011112222333", "2026-11-23")
    assert got == [{"amount": 30000.0, "at": "2026-11-23 11:40", "to_account": ""},
                   {"amount": 500.0, "at": "2026-11-22 23:10", "to_account": "6217000011112222333"}]
    for bad, message in (("三万 11:40", "不是数字"), ("300", "缺少时间")):
        try:
            parse_transfers(bad, "2026-11-23")
        except fraud.DispatchError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(bad)


def test_referral_list_overdue_and_follow_up(qtbot, app, clock):
    ctx = app.services.ctx
    today = date(2026, 11, 23)
    ids = []
    for n, when in enumerate((today, today + timedelta(days=1), today + timedelta(days=5))):
        iid = app.services.open_call(f"1370000010{n}").incident_id
        app.services.categorise(iid, "dispute" if n else "theft")
        rf.refer(ctx, iid, "网格员", f"网格员{n}", when)
        ids.append(iid)
    clock.advance(2 * 86400)  # 11-25: the first two overdue, the third waiting
    w = ReferralList(app)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    assert w.table.rowCount() == 2 and w.table.item(0, 0).text() == str(ids[0])
    assert w.table.item(0, 5).text() == "逾期 2 天（非纠纷类（盗窃））"
    assert w.table.item(0, 0).foreground().color() == RED
    assert "其中逾期 2 件" in w.summary.text()
    qtbot.keyClick(w.table, Qt.Key.Key_A, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert w.show_all.isChecked() and w.table.rowCount() == 3
    w.table.setFocus()
    qtbot.keyClick(w.table, Qt.Key.Key_Down)
    w.outcome.setCurrentText("已化解")
    w.note.setFocus()
    w.note.insert("签了调解协议")
    qtbot.keyClick(w.note, Qt.Key.Key_Return, CTRL)
    assert w.error.text() == "" and w.table.rowCount() == 2
    with app.session() as s:
        done = rf.referrals(s, [ids[1]])[ids[1]][0]
    assert (done.outcome, done.follow_up_note) == ("已化解", "签了调解协议")
    w.table.clearSelection()
    w.table.setCurrentCell(-1, -1)
    assert not w.follow_up_selected() and "请先在列表中选择" in w.error.text()


def test_reopened_panel_shows_the_case_and_adds_to_it(qtbot, app, clock):
    """Opened again, the panel shows what was recorded (a new 登记 replaces the last one
    whole: blank fields would have dropped the earlier accounts), counts it as saved
    (Esc closes at once), and a line added to it keeps the rest in the case."""
    iid = app.services.open_call("13900000022", "李明").incident_id
    app.services.categorise(iid, "telecom_fraud")
    first = FraudPanel(app, iid)
    qtbot.addWidget(first)
    first.victims.setPlainText("6222021234567890123 工商银行 王芳")
    first.frauds.setPlainText("6217000011112222333 建设银行")
    first.transfers.setPlainText("30000 2026-11-23 11:40 6217000011112222333\n1234567.5 2026-11-23 11:41:30")
    first.note.setText("对方自称客服")
    assert first.record() and first.error.text() == ""
    first.reference.setText("FZ-90")
    first.method.setCurrentIndex(first.method.findData("phone"))
    assert first.request_sent()
    first.close()

    again = FraudPanel(app, iid)
    qtbot.addWidget(again)
    assert again.victims.toPlainText() == "6222021234567890123 工商银行 王芳"
    assert again.frauds.toPlainText() == "6217000011112222333 建设银行"
    assert again.transfers.toPlainText() == ("30000 2026-11-23 11:40 6217000011112222333\n"
                                             "1234567.50 2026-11-23 11:41:30")
    assert again.note.text() == "对方自称客服" and again.reference.text() == "FZ-90"
    assert again.method.currentData() == "phone" and again.unsaved() == []
    again.frauds.appendPlainText("6217000099998888777 农业银行")
    assert again.unsaved() == ["嫌疑人账户"]
    assert again.record() and again.error.text() == ""
    case = again.case
    assert case is not None
    assert [a.account for a in case.victim_accounts] == ["6222021234567890123"]
    assert [a.account for a in case.fraud_accounts] == ["6217000011112222333", "6217000099998888777"]
    assert [t.amount for t in case.transfers] == [30000.0, 1234567.5]
    assert case.total_amount == 1264567.5


def test_ctrl_e_exports_from_the_last_fields_filled(qtbot, app, monkeypatch):
    """QA round 2: with the cursor in 止付金额 or 申请编号 Ctrl+E did nothing (a line edit
    takes Ctrl+E on Linux to go to the end of its line)."""
    import ui.fraud_panel as fp
    asked = []
    monkeypatch.setattr(fp.QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a[1]) or ("", ""))
    iid = app.services.open_call("13900000022", "").incident_id
    app.services.categorise(iid, "telecom_fraud")
    p = shown(qtbot, FraudPanel(app, iid))
    for field in (p.amount_stopped, p.reference):
        field.setFocus()
        field.setText("12")
        field.setCursorPosition(0)
        qtbot.keyClick(field, Qt.Key.Key_E, CTRL)
        assert field.text() == "12"
    assert asked == ["导出给反诈中心", "导出给反诈中心"]
    # on Linux's xcb the line edit claims the key (offscreen's theme has no such binding):
    # what it would do, and the panel giving the key back to its shortcut
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    claimed = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_E, CTRL)
    claimed.accept()
    assert p.eventFilter(p.amount_stopped, claimed) and not claimed.isAccepted()
    other = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_A, CTRL)
    assert not p.eventFilter(p.amount_stopped, other)
    qtbot.keyClick(p.amount_stopped, Qt.Key.Key_End)  # the line edit's own keys still work
    assert p.amount_stopped.cursorPosition() == 2


def test_another_category_is_said_at_open_and_a_second_record_needs_a_change(qtbot, app):
    """QA round 2: on a 交通事故 incident the panel took a whole entry and refused it only
    at Ctrl+S; 登记 pressed again with nothing changed wrote a second fraud.recorded."""
    from dispatch.store import eventlog
    other = app.services.open_call("13900000023", "").incident_id
    app.services.categorise(other, "traffic_accident")
    p = FraudPanel(app, other)
    qtbot.addWidget(p)
    assert "交通事故" in p.error.text() and "F4" in p.error.text()

    iid = app.services.open_call("13900000024", "").incident_id
    app.services.categorise(iid, "telecom_fraud")
    q = FraudPanel(app, iid)
    qtbot.addWidget(q)
    assert q.error.text() == ""
    q.victims.setPlainText("6222021234567890123 工商银行 王芳")
    q.frauds.setPlainText("6217000011112222333 建设银行")
    q.transfers.setPlainText("30000 00:01 6217000011112222333")
    assert q.record(), q.error.text()
    assert not q.record() and "没有改动" in q.error.text()
    with app.session() as s:
        assert [e.kind for e in eventlog.read(s, incident_id=iid)].count("fraud.recorded") == 1
    q.note.setText("补充：对方自称客服")
    assert q.record()


def test_a_time_alone_later_than_now_is_last_nights():
    """QA round 2: just after midnight a victim's "23:50" transfer was refused as in the
    future unless the whole date was typed."""
    got = parse_transfers("500 23:50\n300 00:05", "2026-11-24", now="00:10:00")
    assert [t["at"] for t in got] == ["2026-11-23 23:50", "2026-11-24 00:05"]
    assert parse_transfers("500 23:50", "2026-11-24", now="23:55:00")[0]["at"] == "2026-11-24 23:50"
    assert parse_transfers("500 23:50", "2026-11-24")[0]["at"] == "2026-11-24 23:50"  # (no `now`: today's)
