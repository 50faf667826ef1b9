"""Checkpoints of the folded replay state, so that loading a period folds the period,
not the whole log.

A checkpoint is the fold after the log's events up to id `event_id`, all of which
happened before `at` (a whole hour of log time): every incident still open then (its
fold state, the time of its last change, its last event) and every unit's status. It
is taken while a load folds the log and kept in a file under the database's cache
folder (settings.cache_dir / "replay"), one file per checkpoint, named by `at` and
`event_id` so a load opens only the one it resumes from. An incident closed before a
checkpoint is not in it; if it is reopened after it, the load resuming there reads that
incident's earlier events apart (log_read.read_reopened_before).

Why files and not a table: replay reads the database read-only (a training copy, a
read-only PostgreSQL role), and a cache needs no migration; losing it costs one full
fold. A checkpoint is trusted only while the log still holds the same prefix: the
stored hash of event `event_id` (store.hashchain: it covers every earlier event) and
the number of events up to it must both match, and the fold's format version too;
anything else (an unreadable file included) is ignored, never used.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import text

from dispatch.replay.fold import incident_view, shared_state
from sqlalchemy.orm import Session

FORMAT = 2            # bump whenever the fold's state (replay.fold) changes shape
EVERY_S = 3600.0      # one checkpoint per hour of log time
HOURLY_S = 48 * 3600.0  # older than this before the newest: only the first of each block is kept
BLOCK_S = 6 * 3600.0    # UTC 00-06, 06-12, 12-18, 18-24: fold segments (replay.segments) run between their firsts


@dataclass
class Checkpoint:
    """The fold state after events up to `event_id`, all before epoch second `at`."""

    at: float
    event_id: int
    count: int                      # events with id <= event_id
    hash: str                       # stored chain hash of event_id
    # incident id -> (received epoch s, epoch s of its last change, fold state dict, last event tuple)
    incidents: dict[int, tuple] = field(default_factory=dict)
    # unit id -> (initial (status, since, incident), epoch s of last change or None, state or None)
    units: dict[int, tuple] = field(default_factory=dict)
    format: int = FORMAT


class CheckpointStore:
    """The checkpoint files of one database."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _files(self) -> list[tuple[float, int, Path]]:
        if not self.folder.is_dir():
            return []
        out = []
        for p in self.folder.glob("*.ckpt"):
            try:
                at, eid = p.stem.split("_")
                out.append((float(at), int(eid), p))
            except ValueError:
                continue
        return sorted(out)

    def stored(self) -> frozenset[tuple[float, int]]:
        """(at, event id) of every checkpoint file here (valid or not: see latest_valid)."""
        return frozenset((at, eid) for at, eid, _ in self._files())

    def latest_valid(self, session: Session, before: float) -> Checkpoint | None:
        """The latest checkpoint at or before epoch second `before` that still matches the log."""
        for at, eid, path in reversed(self._files()):
            if at > before:
                continue
            cp = _read(path)
            if cp is not None and cp.at == at and cp.event_id == eid and matches_log(session, cp):
                return cp
        return None

    def exact(self, session: Session, at: float, event_id: int) -> Checkpoint | None:
        """The checkpoint at `at` after event `event_id`, if on disk and still matching the log."""
        cp = _read(self.folder / f"{at:.0f}_{event_id}.ckpt")
        return cp if cp is not None and cp.at == at and cp.event_id == event_id and matches_log(session, cp) else None

    def save(self, checkpoints: list[Checkpoint]) -> int:
        """Write the checkpoints not yet on disk that are worth keeping (see `_wanted`),
        drop those on disk that no longer are; returns how many were written. A cache
        that cannot be written (read-only folder) is skipped: replay stays correct."""
        files = self._files()
        known = {(at, eid) for at, eid, _ in files}
        wanted = _wanted([at for at, _, _ in files] + [cp.at for cp in checkpoints])
        written = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for cp in checkpoints:
                if (cp.at, cp.event_id) in known or cp.at not in wanted:
                    continue
                write_cached(self.folder / f"{cp.at:.0f}_{cp.event_id}.ckpt", cp)
                written += 1
            for at, _eid, path in files:
                if at not in wanted:
                    path.unlink(missing_ok=True)
        except OSError:
            pass
        return written


def _wanted(ats: list[float]) -> set[float]:
    """Hourly checkpoints for the last HOURLY_S of log time, the first of each BLOCK_S of
    UTC time (every six hours) before that: a period in an old day then folds at most six
    hours before it (~1 MB a day kept), and the fold segments' ends are always kept."""
    if not ats:
        return set()
    newest = max(ats)
    first_of_block: dict[int, float] = {}
    for at in ats:
        block = int(at // BLOCK_S)
        if at < first_of_block.get(block, float("inf")):
            first_of_block[block] = at
    return {at for at in ats if at >= newest - HOURLY_S} | set(first_of_block.values())


def worth_taking(at: float, event_id: int, have: set[tuple[float, int]], newest: float) -> bool:
    """Whether a fold should take the checkpoint at `at` (after event `event_id`): not one
    already on disk or taken (`have`: (at, event id) pairs), and one `_wanted` would keep
    with `newest` the latest checkpoint of the log: in the last HOURLY_S, or the first of
    its block (BLOCK_S)."""
    if (at, event_id) in have:
        return False
    if at >= newest - HOURLY_S:
        return True
    block = int(at // BLOCK_S)
    return not any(a < at and int(a // BLOCK_S) == block for a, _ in have)


def take(at: float, last_id: int, done: int, incidents: dict, states: dict, last_of: dict,
         open_ids: set, units: dict) -> Checkpoint:
    """The fold as it stands (open incidents and every unit), to resume from at `at`."""
    inc = {i: (incidents[i].received, incidents[i].times[-1], states[i].copy(), last_of[i]) for i in open_ids}
    uts = {uid: (u.initial, u.times[-1] if u.times else None, u.states[-1] if u.states else None)
           for uid, u in units.items()}
    return Checkpoint(at=at, event_id=last_id, count=done, hash="", incidents=inc, units=uts)


def restore(cp: Checkpoint, units: dict, incidents: dict, states: dict, last_of: dict,
            open_ids: set, new_track: Callable[[float], Any]) -> None:
    """Seed a fold with a checkpoint: each open incident and unit starts from its state then
    (`new_track(received)` makes an incident's empty track). An incident or unit whose
    track already holds its states up to the checkpoint (read from fold segments before
    it: replay.segments) keeps it: its state then is already its last."""
    for iid, (received, changed, state, last) in cp.incidents.items():
        states[iid] = shared_state(state)
        track = incidents.get(iid)
        if track is None:
            track = incidents[iid] = new_track(received)
            track.times.append(changed)
            track.views.append(incident_view(state))
        last_of[iid] = last
        open_ids.add(iid)
    for uid, (initial, changed, state) in cp.units.items():
        u = units.get(uid)
        if u is None:
            continue
        u.initial = initial
        if state is not None and not u.times:
            u.times.append(changed)
            u.states.append(state)


def write_cached(path: Path, value: Any) -> None:
    """Write one cache file whole or not at all (a temporary file renamed over it)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, path)


def read_cached(path: Path, kind: type, version: int) -> Any:
    """The object of `kind` (with `format` == version) in a cache file, or None: a damaged,
    foreign or older file is simply not used."""
    try:
        value = pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - see above
        return None
    return value if isinstance(value, kind) and getattr(value, "format", None) == version else None


def _read(path: Path) -> Checkpoint | None:
    cp: Checkpoint | None = read_cached(path, Checkpoint, FORMAT)
    return cp


def matches_log(session: Session, cp: Checkpoint) -> bool:
    """True while the log's prefix up to cp.event_id is the one the checkpoint folded."""
    conn = session.connection()
    row = conn.execute(text("SELECT hash FROM events WHERE id = :i"), {"i": cp.event_id}).first()
    if row is None or row[0] is None or row[0] != cp.hash:
        return False
    count = conn.execute(text("SELECT count(*) FROM events WHERE id <= :i"), {"i": cp.event_id}).scalar()
    return int(count or 0) == cp.count


def stored_hashes(session: Session, event_ids: list[int]) -> dict[int, str | None]:
    """The stored chain hash of each of these events (those in the log)."""
    ids = sorted({int(i) for i in event_ids})
    hashes: dict[int, str | None] = {}
    conn = session.connection()
    for k in range(0, len(ids), 500):
        marks = ",".join(str(i) for i in ids[k:k + 500])
        for eid, h in conn.execute(text(f"SELECT id, hash FROM events WHERE id IN ({marks})")):
            hashes[int(eid)] = h
    return hashes


def seal(session: Session, checkpoints: list[Checkpoint]) -> None:
    """Fill in the stored chain hash of each checkpoint's last event (None: not chained,
    then the checkpoint is dropped: nothing could vouch for its prefix later)."""
    hashes = stored_hashes(session, [cp.event_id for cp in checkpoints])
    kept = []
    for cp in checkpoints:
        h = hashes.get(cp.event_id)
        if h:
            cp.hash = h
            kept.append(cp)
    checkpoints[:] = kept
