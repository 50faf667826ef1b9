"""反诈 紧急止付 panel: the fast path of a telecom-fraud call. A big timer since the answer
(mm:ss, red after `red_after_s`, default 10 min; it stops when the request is sent), the
checklist (登记 / 申请已发 + 编号 / 结果), the form and "导出给反诈中心".

The form takes one account or transfer per line, as a call-taker types them while the
caller reads from the phone:
  受害人账户 / 嫌疑人账户:  账号 开户行 [户名]
  转账:                    金额 时间 [收款账号]     (时间: HH:MM, HH:MM:SS or YYYY-MM-DD HH:MM)

Keys: Tab through the fields, Ctrl+S 登记, Ctrl+R 申请已发, Ctrl+G 登记结果, Ctrl+E 导出, Esc closes:
at once when nothing typed is unsaved, else it asks first (取消 is the default) and names
the fields that would be lost."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE
from dispatch.services import fraud, queries
from ui.confirm import confirm
from ui.window_actions import attempt, for_incident, on_key, show_kept

if TYPE_CHECKING:
    from dispatch.bootstrap import App

RED_AFTER_S = 600.0
GREEN, RED = "#3fb950", "#ff7b72"


def parse_accounts(text: str) -> list[dict]:
    """Lines "账号 开户行 [户名]" -> [{account, bank, holder}] (the service validates)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            out.append({"account": parts[0], "bank": parts[1] if len(parts) > 1 else "",
                        "holder": " ".join(parts[2:])})
    return out


def parse_transfers(text: str, today: str, now: str = "") -> list[dict]:
    """Lines "金额 时间 [收款账号]" -> [{amount, at, to_account}]; a time alone is today's
    (local), or yesterday's when today's would be later than `now` (local "HH:MM[:SS]"):
    just after midnight a victim's "23:50" is last night's, not a time in the future. A
    bad amount is refused here with the line number."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.replace("元", " ").replace(",", "").split()
        if not parts:
            continue
        try:
            amount = float(parts[0])
        except ValueError:
            raise DispatchError(f"转账第 {n} 行的金额不是数字: {parts[0]!r}") from None
        rest = parts[1:]
        at = ""
        if rest and "-" in rest[0] and len(rest) > 1 and ":" in rest[1]:
            at, rest = f"{rest[0]} {rest[1]}", rest[2:]
        elif rest and ":" in rest[0]:
            day = today
            if now and _clock(rest[0]) > _clock(now):
                day = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
            at, rest = f"{day} {rest[0]}", rest[1:]
        if not at:
            raise DispatchError(f"转账第 {n} 行缺少时间（如 11:40 或 2026-11-23 11:40）")
        out.append({"amount": amount, "at": at, "to_account": rest[0] if rest else ""})
    return out


def _clock(text: str) -> tuple[int, ...]:
    """"23:50" or "7:05:30" as comparable (hours, minutes, seconds); unreadable: (99,)
    (then the service says what is wrong with the time)."""
    try:
        parts = tuple(int(x) for x in text.split(":"))
    except ValueError:
        return (99,)
    return parts + (0,) * (3 - len(parts))


def account_lines(accounts) -> str:  # noqa: ANN001 (fraud.Account)
    """The panel's lines of recorded accounts, as parse_accounts reads them back."""
    return "\n".join(" ".join(x for x in (a.account, a.bank, a.holder) if x) for a in accounts)


def yuan_text(amount: float) -> str:
    """An amount as typed back into the panel: no exponent, no thousands separator."""
    return f"{amount:.0f}" if amount == int(amount) else f"{amount:.2f}"


def transfer_lines(transfers, tz: str) -> str:  # noqa: ANN001 (fraud.Transfer)
    """The panel's lines of recorded transfers (local time, full date), as parse_transfers
    reads them back."""
    out = []
    for t in transfers:
        at = t.at.astimezone(ZoneInfo(tz))
        when = at.strftime("%Y-%m-%d %H:%M:%S" if at.second else "%Y-%m-%d %H:%M")
        out.append(" ".join(x for x in (yuan_text(t.amount), when, t.to_account) if x))
    return "\n".join(out)


def timer_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


_EXPORT_KEY = QKeySequence("Ctrl+E")


class FraudPanel(QDialog):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        # A line edit claims Ctrl+E for itself on Linux (to the end of the line), so the
        # panel's 导出 did nothing from 止付金额 or 申请编号, the last fields filled (QA):
        # the key is left to the panel's shortcut.
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and QKeySequence(event.keyCombination()) == _EXPORT_KEY):
            event.ignore()
            return True
        return False

    def __init__(self, app: App, incident_id: int, parent: QWidget | None = None,
                 red_after_s: float = RED_AFTER_S) -> None:
        super().__init__(parent)
        self.app, self.incident_id, self.red_after_s = app, incident_id, red_after_s
        self.tz = getattr(app.settings, "tz", "Asia/Shanghai")
        self.setWindowTitle(f"紧急止付 — 警情 {incident_id}")
        self.case: fraud.FraudCase | None = None
        self.timer_label = QLabel("00:00")
        self.timer_label.setTextFormat(Qt.TextFormat.PlainText)  # (what people typed, never markup)
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.timer_label.setAccessibleName("接警以来")
        self.checklist = QLabel("")
        self.checklist.setTextFormat(Qt.TextFormat.PlainText)
        self.victims = QPlainTextEdit()
        self.victims.setPlaceholderText("账号 开户行 户名，每行一个，如：6222021234567890123 工商银行 王芳")
        self.frauds = QPlainTextEdit()
        self.frauds.setPlaceholderText("账号 开户行，每行一个")
        self.transfers = QPlainTextEdit()
        self.transfers.setPlaceholderText("金额 时间 收款账号，每行一笔，如：30000 11:40 6217000011112222333")
        for box in (self.victims, self.frauds, self.transfers):
            box.setTabChangesFocus(True)
            box.setFixedHeight(64)
        self.note = QLineEdit()
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("反诈中心的止付申请编号")
        self.method = QComboBox()
        for code, label in fraud.METHODS.items():
            self.method.addItem(label, code)
        self.outcome = QComboBox()
        self.outcome.addItems(fraud.OUTCOMES)
        self.amount_stopped = QLineEdit()
        self.amount_stopped.setPlaceholderText("止付金额（元），止付成功可留空表示全部")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color:{RED}")
        self.record_btn = QPushButton("登记 (Ctrl+S)")
        self.request_btn = QPushButton("申请已发 (Ctrl+R)")
        self.result_btn = QPushButton("登记结果 (Ctrl+G)")
        self.export_btn = QPushButton("导出给反诈中心 (Ctrl+E)")
        close_btn = QPushButton("关闭 (Esc)")
        for b, slot in ((self.record_btn, self.record), (self.request_btn, self.request_sent),
                        (self.result_btn, self.result), (self.export_btn, self.export_dialog),
                        (close_btn, self.reject)):
            b.setAutoDefault(False)
            b.clicked.connect(slot)
        form = QFormLayout()
        form.addRow("受害人账户", self.victims)
        form.addRow("嫌疑人账户", self.frauds)
        form.addRow("转账", self.transfers)
        form.addRow("备注", self.note)
        form.addRow("申请方式", self.method)
        form.addRow("申请编号", self.reference)
        form.addRow("止付结果", self.outcome)
        form.addRow("止付金额", self.amount_stopped)
        buttons = QHBoxLayout()
        for b in (self.record_btn, self.request_btn, self.result_btn, self.export_btn, close_btn):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.timer_label)
        lay.addWidget(self.checklist)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addLayout(buttons)
        for keys, slot in (("Ctrl+S", self.record), ("Ctrl+R", self.request_sent), ("Ctrl+G", self.result),
                           ("Ctrl+E", self.export_dialog)):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        for line in self.findChildren(QLineEdit):  # (their own Ctrl+E: see eventFilter)
            line.installEventFilter(self)
        # the typed fields, by the names Esc's question uses, and their text as last saved
        self._fields: dict[str, QPlainTextEdit | QLineEdit] = {
            "受害人账户": self.victims, "嫌疑人账户": self.frauds, "转账": self.transfers, "备注": self.note,
            "申请编号": self.reference, "止付金额": self.amount_stopped}
        self._saved: dict[str, str] = {name: "" for name in self._fields}
        self.resize(720, 620)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.tick)
        self._tick.start(1000)
        self.refresh()
        self._fill_from_case()
        self._say_category()
        self.victims.setFocus()

    def _say_category(self) -> None:
        """An incident of another category cannot take a 登记: said when the panel opens,
        before anything is typed, not only at Ctrl+S (the panel holds the window: mending
        the category means closing it)."""
        with self.app.session() as s:
            view = queries.incident(s, self.incident_id)
        if view is not None and view.category and view.category != fraud.FRAUD_CATEGORY:
            label = CATEGORY_BY_CODE[view.category].label if view.category in CATEGORY_BY_CODE else view.category
            self.error.setText(f"警情 {self.incident_id} 的类别是「{label}」，不是电信网络诈骗：请先按 Esc 关闭，"
                               "在接警区将类别改为「电信网络诈骗」（F4）再登记")

    # ---- display -----------------------------------------------------------------
    def refresh(self) -> None:
        try:
            with self.app.session() as s:
                self.case = fraud.case(s, self.incident_id, self.app.clock.now())
        except DispatchError as exc:
            self.error.setText(str(exc))
            return
        lines = [f"{'☑' if done else '☐'} {step}{'：' + detail if detail else ''}"
                 for step, done, detail in self.case.checklist]
        self.checklist.setText("\n".join(lines))
        self.tick()

    def tick(self) -> None:
        if self.case is None:
            return
        c = self.case
        elapsed = c.elapsed_s if c.requested_at else (self.app.clock.now() - c.received_at).total_seconds()
        late = elapsed >= self.red_after_s
        self.timer_label.setText(timer_text(elapsed))
        self.timer_label.setProperty("late", late)
        colour = RED if late else GREEN
        self.timer_label.setStyleSheet(f"font-size:48px; font-weight:bold; color:{colour}")
        self.timer_label.setToolTip("接警至申请发出" if c.requested_at else "接警以来")

    def _fill_from_case(self) -> None:
        """A panel opened again shows what the case already holds (a new 登记 replaces the
        last one whole: fields left blank would drop the accounts and transfers recorded
        before), and counts it as saved."""
        c = self.case
        if c is None:
            return
        self.victims.setPlainText(account_lines(c.victim_accounts))
        self.frauds.setPlainText(account_lines(c.fraud_accounts))
        self.transfers.setPlainText(transfer_lines(c.transfers, self.tz))
        self.note.setText(c.result_note or c.record_note)
        self.reference.setText(c.reference)
        if c.method:
            self.method.setCurrentIndex(max(0, self.method.findData(c.method)))
        if c.outcome:
            self.outcome.setCurrentText(c.outcome)
        if c.amount_stopped is not None:
            self.amount_stopped.setText(yuan_text(c.amount_stopped))
        self._mark_saved(*self._fields)

    # ---- what is typed but not saved ------------------------------------------------
    @staticmethod
    def _text(w: QPlainTextEdit | QLineEdit) -> str:
        return (w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()).strip()

    def unsaved(self) -> list[str]:
        """The fields whose typed text no action has saved yet."""
        return [name for name, w in self._fields.items() if self._text(w) != self._saved[name]]

    def _mark_saved(self, *names: str) -> None:
        for name in names:
            self._saved[name] = self._text(self._fields[name])

    def reject(self) -> None:
        """Esc, 关闭 or the window's close: typed data that no action saved is not thrown
        away without asking."""
        lost = self.unsaved()
        if lost and not confirm(self, f"关闭紧急止付 — 警情 {self.incident_id}",
                                f"以下内容已录入但未登记：{'、'.join(lost)}\n关闭后这些内容将丢失。\n\n"
                                "确定放弃并关闭？（取消：返回继续录入，Ctrl+S 登记）", "放弃并关闭"):
            self._fields[lost[0]].setFocus()
            return
        super().reject()

    # ---- actions ------------------------------------------------------------------
    def _do(self, fn, *args, saves: tuple[str, ...] = ()) -> bool:  # noqa: ANN001
        if not attempt(self, self.error, fn, *args):
            return False
        self._mark_saved(*saves)
        self.refresh()
        return True

    def record(self) -> bool:
        recorded = self.case is not None and self.case.recorded_at is not None
        if recorded and not set(self.unsaved()) & {"受害人账户", "嫌疑人账户", "转账", "备注"}:
            self.error.setText("登记内容没有改动，无需再次登记")  # (it wrote the same 登记 again)
            return False
        local = self.app.clock.now().astimezone(ZoneInfo(self.tz))
        try:
            transfers = parse_transfers(self.transfers.toPlainText(), local.date().isoformat(),
                                        local.strftime("%H:%M:%S"))
        except DispatchError as exc:
            self.error.setText(str(exc))
            return False
        return self._do(fraud.record, self.app.services.ctx, self.incident_id,
                        parse_accounts(self.victims.toPlainText()), parse_accounts(self.frauds.toPlainText()),
                        transfers, self.note.text(), self.tz, saves=("受害人账户", "嫌疑人账户", "转账", "备注"))

    def request_sent(self) -> bool:
        return self._do(fraud.request_sent, self.app.services.ctx, self.incident_id, self.reference.text(),
                        self.method.currentData(), saves=("申请编号",))

    def result(self) -> bool:
        text = self.amount_stopped.text().strip().replace(",", "")
        amount = None
        if text:
            try:
                amount = float(text)
            except ValueError:
                self.error.setText(f"止付金额不是数字: {text!r}")
                return False
        return self._do(fraud.result, self.app.services.ctx, self.incident_id, self.outcome.currentText(),
                        amount, self.note.text(), saves=("止付金额", "备注"))

    def export_to(self, path: str | Path) -> Path | None:
        """Write the case file for the anti-fraud centre; the message says where."""
        self.refresh()
        try:
            out = fraud.export(self.case, path, tz=self.tz) if self.case else None
        except DispatchError as exc:
            self.error.setText(str(exc))
            return None
        except OSError as exc:
            self.error.setText(f"无法写入 {path}: {exc.strerror or exc}")
            return None
        self.error.setText(f"已导出: {out}" if out else "")
        return out

    def export_dialog(self) -> None:
        stamp = self.app.clock.now().astimezone(ZoneInfo(self.tz)).strftime("%Y%m%d%H%M")
        path, _ = QFileDialog.getSaveFileName(self, "导出给反诈中心", f"止付-警情{self.incident_id}-{stamp}.csv",
                                              "CSV (*.csv);;JSON (*.json)")
        if path:
            self.export_to(path)


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+Shift+F: the 紧急止付 fast path for the incident in hand."""
    window.open_fraud_panel = for_incident(window, "请先接警或选择警情，再登记紧急止付",
                                           lambda iid: show_kept(window, FraudPanel(window.app, iid, window),
                                                                 "fraud_panel"))
    on_key(window, "Ctrl+Shift+F", window.open_fraud_panel)
