"""Intake drafts on disk: atomic write, read back, clear, and no crash on junk."""
from __future__ import annotations

import json
import os

import pytest

from dispatch.services.drafts import Draft, clear_draft, draft_path, read_draft, write_draft


def test_write_read_clear(tmp_path):
    path = draft_path(tmp_path, "席位01", "a1b2")
    assert path == tmp_path / "drafts" / "a1b2" / "席位01.json"
    assert read_draft(path) is None
    d = Draft(incident_id=7, place_text="南京东路外滩", narrative="有人落水，呼救", caller_number="13916001234",
              caller_name="王女士", category="life_risk", priority="urgent")
    write_draft(path, d)
    assert read_draft(path) == d
    assert json.loads(path.read_text(encoding="utf-8"))["narrative"] == "有人落水，呼救"
    write_draft(path, Draft(incident_id=8, narrative="第二次"))
    assert read_draft(path) == Draft(incident_id=8, narrative="第二次")
    assert os.listdir(path.parent) == ["席位01.json"]  # no temp files left behind
    clear_draft(path)
    assert read_draft(path) is None
    clear_draft(path)  # twice is fine


def test_seat_name_cannot_leave_the_drafts_folder(tmp_path):
    path = draft_path(tmp_path, "../a/b:c", "a1b2")
    assert path.parent == tmp_path / "drafts" / "a1b2" and "/" not in path.name
    assert draft_path(tmp_path, "s", "../../x").parent == tmp_path / "drafts" / "______x"


def test_a_failed_write_keeps_the_previous_draft(tmp_path):
    path = draft_path(tmp_path, "s", "a1b2")
    write_draft(path, Draft(incident_id=1, narrative="已写入"))
    with pytest.raises(TypeError):
        write_draft(path, Draft(incident_id=2, narrative=object()))  # fails half-way through the dump
    assert read_draft(path) == Draft(incident_id=1, narrative="已写入")
    assert os.listdir(path.parent) == ["s.json"]


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00", b"[1,2]", b'{"incident_id": "7"}',
                                     b'{"incident_id": true}', b"{not json"])
def test_junk_is_no_draft(tmp_path, content):
    path = draft_path(tmp_path, "s", "a1b2")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert read_draft(path) is None


def test_wrong_field_types_are_dropped(tmp_path):
    path = draft_path(tmp_path, "s", "a1b2")
    path.parent.mkdir(parents=True)
    path.write_text('{"incident_id": 3, "narrative": 5, "place_text": "人民广场", "extra": 1}', encoding="utf-8")
    assert read_draft(path) == Draft(incident_id=3, place_text="人民广场")
