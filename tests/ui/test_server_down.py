"""The database server down at start (issue 9, item 8): the console says so in Chinese
with 重试 and 退出, and a retry once the server is back opens it; a headless command
prints one line naming the database and exits 2. No traceback anywhere."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from dispatch.settings import Settings
from tests.integration.pg_schema import fresh_schema
from ui.app import bootstrap_or_ask

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A local port nothing listens on (a server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forwarder:
    """The server coming back: a TCP relay from `port` to the real PostgreSQL."""

    def __init__(self, port: int, to: tuple[str, int]) -> None:
        self.to = to
        self.sock = socket.create_server(("127.0.0.1", port))
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.to)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for s in self.open:
            s.close()


def _down_url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/x"


def test_headless_command_prints_one_line_and_exits_2(tmp_path):
    port = free_port()
    r = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "--db",
                        f"postgresql://postgres:secret@127.0.0.1:{port}/x", "incidents", "--json"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "无法连接数据库服务器" in lines[0] and f"127.0.0.1:{port}/x" in lines[0]
    assert "secret" not in r.stderr and "Traceback" not in r.stderr


def test_quit_at_the_message_gives_up_after_as_many_tries_as_asked(tmp_path):
    asked: list[tuple[str, str]] = []

    def ask(title: str, text: str) -> bool:
        asked.append((title, text))
        return len(asked) < 2  # 重试 once, then 退出

    port = free_port()
    assert bootstrap_or_ask(Settings(data_dir=tmp_path, db_url=_down_url(port), load_demo=False), ask) is None
    assert [t for t, _ in asked] == ["无法连接数据库", "无法连接数据库"]
    assert "无法连接数据库服务器" in asked[0][1] and f"127.0.0.1:{port}/x" in asked[0][1]
    assert "重试" in asked[0][1] and "退出" in asked[0][1]
    assert "已尝试 2 次" in asked[1][1]


def test_the_dialog_offers_retry_and_quit(qtbot, tmp_path):
    seen: list[list[str]] = []

    def answer() -> None:
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "db_unreachable" and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(50, answer)
            return
        seen.append([b.text() for b in box.buttons()])
        assert box.defaultButton().text() == "重试"
        wanted = "重试" if len(seen) == 1 else "退出"
        next(b for b in box.buttons() if b.text() == wanted).click()
        if len(seen) == 1:
            QTimer.singleShot(50, answer)  # the second dialog, after the retry failed again

    QTimer.singleShot(50, answer)
    settings = Settings(data_dir=tmp_path, db_url=_down_url(free_port()), load_demo=False)
    assert bootstrap_or_ask(settings) is None
    assert len(seen) == 2 and all(sorted(b) == ["退出", "重试"] for b in seen)


def test_retry_opens_the_console_once_the_server_is_back(tmp_path, pg_url):
    real = urlsplit(pg_url)
    port = free_port()
    relay: list[Forwarder] = []

    def server_comes_back(_title: str, _text: str) -> bool:
        relay.append(Forwarder(port, (real.hostname or "127.0.0.1", real.port or 5432)))
        return True

    with fresh_schema(pg_url) as url:
        parts = urlsplit(url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        down = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))
        assert f":{port}/" in down
        try:
            app = bootstrap_or_ask(Settings(data_dir=tmp_path, db_url=down, load_demo=False), server_comes_back)
            assert app is not None and len(relay) == 1
            iid = app.services.open_call("13800000000").incident_id
            with app.session() as s:
                from dispatch.services import queries
                assert queries.incident(s, iid) is not None
            app.engine.dispose()
        finally:
            for r in relay:
                r.close()


@pytest.fixture
def pg_url(pg_url):  # noqa: F811 (the shared fixture, which skips without DISPATCH_TEST_PG_URL)
    if urlsplit(pg_url).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip("the relay stands in for a local server only")
    return pg_url
