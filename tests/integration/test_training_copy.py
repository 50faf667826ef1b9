"""A training exercise runs on a copy of the live database and never touches it."""
from __future__ import annotations

import argparse
import shutil

from dispatch.bootstrap import bootstrap
from dispatch.commands.support import settings_from_args
from dispatch.services import queries
from dispatch.settings import Settings
from dispatch.store import eventlog


def test_training_runs_on_a_copy(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    live = bootstrap(Settings(data_dir=tmp_path))
    live_iid = live.services.open_call("13800000001", "实战来电").incident_id
    with live.session() as s:
        live_last = eventlog.last_id(s)

    args = argparse.Namespace(db=None, data_dir=str(tmp_path), seat=None, operator=None,
                              no_demo=False, training=True)
    settings = settings_from_args(args)
    assert settings.training and settings.database_url != live.settings.database_url
    assert "training" in settings.database_url
    exercise = bootstrap(settings)
    with exercise.session() as s:  # the copy starts as the live state was
        assert [v.id for v in queries.open_incidents(s)] == [live_iid]
    exercise.services.open_call("110", "演练")
    exercise.services.close(live_iid, "invalid", "演练结警")

    with live.session() as s:  # the live log did not move
        assert eventlog.last_id(s) == live_last
        assert [v.id for v in queries.open_incidents(s)] == [live_iid]
    live.engine.dispose()
    exercise.engine.dispose()
