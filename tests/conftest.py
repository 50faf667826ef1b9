"""Shared fixtures: a real SQLite file with the demo loaded (copied per test from a
template built once), a manual clock, and PostgreSQL when DISPATCH_TEST_PG_URL is set."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

if not os.environ.get("QT_QPA_PLATFORM"):  # unset or empty
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

REPO = Path(__file__).resolve().parent.parent
# 2026-11-23 12:00 Asia/Shanghai: police on duty, night-only volunteers not
NOON_UTC = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database built once per test session through the real bootstrap."""
    from dispatch.bootstrap import bootstrap
    from dispatch.services.clock import ManualClock
    from dispatch.settings import Settings

    data_dir = tmp_path_factory.mktemp("demo-template")
    app = bootstrap(Settings(data_dir=data_dir), clock=ManualClock(NOON_UTC))
    app.engine.dispose()
    return data_dir / "dispatch.sqlite3"


@pytest.fixture
def clock():
    from dispatch.services.clock import ManualClock
    return ManualClock(NOON_UTC)


@pytest.fixture
def app(tmp_path: Path, demo_template: Path, clock):
    """A fresh copy of the demo database in tmp_path, opened through bootstrap."""
    from dispatch.bootstrap import bootstrap
    from dispatch.settings import Settings

    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    app = bootstrap(Settings(data_dir=tmp_path), clock=clock)
    yield app
    app.engine.dispose()


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("DISPATCH_TEST_PG_URL")
    if not url:
        pytest.skip("DISPATCH_TEST_PG_URL not set")
    return url
