"""What a call-taker typed but did not save survives a crash: the draft reaches its
file within 2 s of typing, and a console started again on the same data directory
puts it back into the intake of its incident and says so."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from dispatch.bootstrap import bootstrap
from dispatch.services.drafts import draft_path, read_draft
from tests.ui.window_support import open_window as _window


def _type(qtbot, widget, text: str) -> None:
    widget.setFocus()
    e = QInputMethodEvent()
    e.setCommitString(text)
    QApplication.sendEvent(widget, e)


def test_typed_text_survives_a_restart(qtbot, app, clock):
    w = _window(qtbot, app)
    iid = w.intake.new_call()
    path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
    _type(qtbot, w.intake.place, "南京东路外滩")
    _type(qtbot, w.intake.narrative, "有人落水，岸边群众在喊")
    qtbot.keyClicks(w.intake.number, "13916001234")   # typed, not yet saved (no Enter, no Tab)
    typed = time.monotonic()
    qtbot.waitUntil(lambda: (d := read_draft(path)) is not None and d.narrative == "有人落水，岸边群众在喊"
                    and d.caller_number == "13916001234", timeout=2000)
    assert time.monotonic() - typed < 2.0
    assert read_draft(path).place_text == "南京东路外滩" and read_draft(path).incident_id == iid

    # the process dies here: nothing was saved to the log; a new console on the same data
    w.intake._draft_timer.stop()
    w.hide()
    restarted = bootstrap(app.settings, clock=clock)
    w2 = _window(qtbot, restarted)
    assert w2.intake.incident_id == iid
    assert w2.intake.narrative.toPlainText() == "有人落水，岸边群众在喊"
    assert w2.intake.place.text() == "南京东路外滩"
    assert w2.intake.number.text() == "13916001234"
    assert "已恢复警情" in w2.intake.notice.text() and str(iid) in w2.intake.notice.text()
    assert read_draft(path).narrative == "有人落水，岸边群众在喊"  # still kept until saved or closed
    qtbot.waitUntil(lambda: len(w2.intake.place_box.found) > 0, timeout=10000)  # the place is searched again
    restarted.engine.dispose()


def test_a_draft_of_a_closed_incident_is_dropped(qtbot, app, clock):
    w = _window(qtbot, app)
    iid = w.intake.new_call()
    path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
    _type(qtbot, w.intake.narrative, "误拨")
    qtbot.waitUntil(lambda: read_draft(path) is not None, timeout=2000)
    w.intake._draft_timer.stop()
    app.services.close(iid, "invalid", "误拨")      # closed by another seat before the restart
    w.hide()
    w2 = _window(qtbot, bootstrap(app.settings, clock=clock))
    assert w2.intake.incident_id is None and w2.intake.narrative.toPlainText() == ""
    assert w2.intake.notice.text() == "" and read_draft(path) is None
    w2.app.engine.dispose()


def test_no_draft_no_notice(qtbot, app):
    w = _window(qtbot, app)
    assert w.intake.incident_id is None and w.intake.notice.text() == ""
    assert not w.intake.restore_draft()
    w.intake.place.setFocus()
    qtbot.keyClick(w.intake.place, Qt.Key.Key_A)  # disabled without an incident: nothing to keep
    qtbot.wait(1300)
    assert read_draft(draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)) is None


def test_a_draft_already_saved_restores_quietly(qtbot, app, clock):
    w = _window(qtbot, app)
    iid = w.intake.new_call("13800000000")
    path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
    _type(qtbot, w.intake.narrative, "邻居吵架")
    w.intake.category.select("dispute")
    qtbot.waitUntil(lambda: read_draft(path) is not None and read_draft(path).category == "dispute", timeout=2000)
    assert w.intake.save_details()             # Ctrl+S: everything on screen is in the log
    w.intake._draft_timer.stop()
    w.hide()
    w2 = _window(qtbot, bootstrap(app.settings, clock=clock))
    assert w2.intake.incident_id == iid and w2.intake.narrative.toPlainText() == "邻居吵架"
    assert w2.intake.notice.text() == ""       # nothing was lost: nothing to announce
    w2.app.engine.dispose()


def test_a_draft_never_comes_back_on_another_database(qtbot, app, clock, tmp_path):
    """The same data folder and seat on another database (a training copy holds the live
    incident numbers; a PostgreSQL room beside the embedded file): its incident of the
    same number gets nothing of what was typed on the first."""
    w = _window(qtbot, app)
    iid = w.intake.new_call()
    _type(qtbot, w.intake.narrative, "甲库的警情：有人落水")
    path = draft_path(app.settings.data_dir, app.settings.seat, app.settings.database_key)
    qtbot.waitUntil(lambda: read_draft(path) is not None, timeout=2000)
    w.intake._draft_timer.stop()
    w.hide()
    other = bootstrap(app.settings.with_overrides(db_url=f"sqlite:///{tmp_path / 'other.sqlite3'}"), clock=clock)
    assert other.settings.database_key != app.settings.database_key
    while True:  # an open incident of the same number there
        got = other.services.open_call("13800000009", "").incident_id
        if got >= iid:
            break
    assert got == iid
    w2 = _window(qtbot, other)
    assert "甲库" not in w2.intake.narrative.toPlainText()
    assert "已恢复警情" not in w2.intake.notice.text()
    assert read_draft(path).narrative == "甲库的警情：有人落水"  # still there for its own database
    other.engine.dispose()
