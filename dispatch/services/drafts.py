"""Intake drafts: what a call-taker typed but has not saved yet (place text, narrative,
caller fields, category choice), kept in one small JSON file per seat so that it
survives a crash of the console, with what the seat had been shown of the incident (its
base: restored, a save of the draft is refused if another seat changed those fields since). Written atomically (temp file + os.replace): a
crash while writing leaves the previous draft, never half a file. Qt-free."""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Draft:
    """The intake of one incident as it stood on screen."""

    incident_id: int
    place_text: str = ""
    narrative: str = ""
    caller_number: str = ""
    caller_name: str = ""
    category: str = ""
    priority: str = ""
    base: str = ""  # JSON: the incident's fields as shown when this was typed (ui.intake.base_of)


def draft_path(data_dir: Path, seat: str, database_key: str) -> Path:
    """`data_dir/drafts/<database key>/<seat>.json` (Settings.database_key): a draft
    typed on one database never comes back on another (a training copy holds the live
    incident numbers); characters a file name cannot hold become `_`."""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", seat).strip(". ") or "seat"
    key = re.sub(r"[^0-9A-Za-z]", "_", database_key) or "db"
    return Path(data_dir) / "drafts" / key / f"{safe}.json"


def write_draft(path: Path, draft: Draft) -> None:
    """Replace the draft at `path` atomically (the directory is created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(draft), f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_draft(path: Path) -> Draft | None:
    """The draft at `path`, or None when there is none or it cannot be read as one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("incident_id"), int) \
            or isinstance(data.get("incident_id"), bool):
        return None
    values: dict[str, Any] = {"incident_id": data["incident_id"]}
    for f in fields(Draft)[1:]:
        v = data.get(f.name, "")
        values[f.name] = v if isinstance(v, str) else ""
    return Draft(**values)


def clear_draft(path: Path) -> None:
    """Forget the draft (nothing happens if there is none)."""
    path.unlink(missing_ok=True)
