"""Backups of a running database and restores into a new, empty one.

- SQLite: the online backup API (a consistent copy while seats keep writing); the
  backup is itself a SQLite file, restored the same way into the new file.
- PostgreSQL: `pg_dump --format=custom` when pg_dump is on PATH, restored with
  pg_restore; otherwise a logical export (JSON lines: a header, then one line per row
  of every table), restored by migrating the new database and inserting the rows.
  A logical export restores into SQLite or PostgreSQL alike.
A restore refuses a target that already holds any table, and is all or nothing: a
backup that turns out damaged (a SQLite file failing its integrity check, a line of an
export that is not what the export writes, an export without its closing line of row
counts or with other counts, pg_restore stopping) is refused naming what is wrong, and
the target is left as empty as it was (what the restore made of it is removed), so a
good copy can be restored into it next. Check a restore with `verify-log` (hash chain
and anchor) and by folding the log (replay).
"""
from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, LargeBinary, MetaData, inspect, select, text
from sqlalchemy.exc import StatementError

from dispatch.domain.errors import DispatchError
from dispatch.store.db import make_engine

JSONL_FORMAT = "dispatch-jsonl-1"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL (plain or `file:...?mode=ro&uri=true`), None for others."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    if path.startswith("file:"):
        path = path[5:].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def backup(engine: Engine, dest: Path, fmt: str | None = None) -> dict:
    """Back up the database behind `engine` into `dest` (which must not exist).
    `fmt` forces "jsonl" (logical export); by default SQLite uses its backup API and
    PostgreSQL pg_dump when available. Returns {"format", "file", "bytes"}."""
    dest = Path(dest)
    if dest.is_dir():
        raise DispatchError(f"备份路径是一个目录，请给出文件名: {dest}")
    if dest.exists():
        raise DispatchError(f"备份文件已存在，不会覆盖: {dest}")
    _check_parent(dest, "备份")
    dialect = engine.dialect.name
    if fmt not in (None, "jsonl"):
        raise DispatchError(f"未知的备份格式: {fmt}（可用: jsonl）")
    if fmt == "jsonl":
        kind = _export_jsonl(engine, dest)
    elif dialect == "sqlite":
        kind = _backup_sqlite(engine, dest)
    elif shutil.which("pg_dump"):
        kind = _pg_dump(engine, dest)
    else:
        kind = _export_jsonl(engine, dest)
    return {"format": kind, "file": str(dest), "bytes": dest.stat().st_size}


def restore(src: Path, target_url: str) -> dict:
    """Restore the backup `src` into the empty database at `target_url`.
    Returns {"format", "db"}; refuses a non-empty target or a mismatched format."""
    src = Path(src)
    if not src.is_file():
        raise DispatchError(f"找不到备份文件: {src}")
    with src.open("rb") as f:  # (an OSError is said in Chinese by the command line)
        head = f.read(16)
    if not head.startswith((SQLITE_MAGIC, PGDUMP_MAGIC)):
        _jsonl_header(src)  # refused before the target is touched
    path = sqlite_path(target_url)
    if path is not None:
        if path.exists() and path.is_dir():
            raise DispatchError(f"恢复目标是一个目录，请给出数据库文件名: {path}")
        _check_parent(path, "恢复目标")  # make_engine would create it
    existed = path is not None and path.exists()
    target = make_engine(target_url)
    try:
        _refuse_non_empty(target)
        functions = _functions(target)
        if head.startswith(SQLITE_MAGIC) and path is None:
            raise DispatchError("SQLite 备份只能恢复到 SQLite 数据库（或先用 --format jsonl 导出）")
        if head.startswith(PGDUMP_MAGIC) and (target.dialect.name != "postgresql" or not shutil.which("pg_restore")):
            raise DispatchError("pg_dump 备份只能用 pg_restore 恢复到 PostgreSQL 数据库")
        try:
            if head.startswith(SQLITE_MAGIC) and path is not None:
                target.dispose()
                _restore_sqlite(src, path)
                kind = "sqlite"
            elif head.startswith(PGDUMP_MAGIC):
                _pg_run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq_url(target), str(src)])
                kind = "pg_dump"
            else:
                _import_jsonl(src, target)
                kind = "jsonl"
        except BaseException:
            _empty_again(target, path, existed, functions)
            raise
    finally:
        target.dispose()
    return {"format": kind, "db": target_url}


def _restore_sqlite(src: Path, path: Path) -> None:
    """Copy the SQLite backup into the file at `path`, then check the copy (a damaged page
    of the backup is copied as it is, without complaint)."""
    try:
        with sqlite3.connect(src) as source, sqlite3.connect(path) as dst:
            source.backup(dst)
        with sqlite3.connect(path) as dst:
            problems = [r[0] for r in dst.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise DispatchError(f"备份文件已损坏，未恢复：{exc}") from None
    if problems != ["ok"]:
        raise DispatchError(f"备份文件已损坏（SQLite 完整性检查未通过：{problems[0]}），未恢复")


def _functions(engine: Engine) -> set[str]:
    """The functions of the target's schema (PostgreSQL; a restore adds its triggers')."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as c:
        return set(c.execute(text("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                                  " WHERE n.nspname = current_schema()")).scalars())


def _empty_again(target: Engine, path: Path | None, existed: bool, functions: set[str]) -> None:
    """Remove what a failed restore made of the (empty) target: the SQLite file (an empty
    one again if it existed), or the tables and trigger functions it created."""
    target.dispose()
    if path is not None:
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        if existed:
            path.touch()
        return
    with target.begin() as c:
        for name in inspect(c).get_table_names():
            c.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        for name in _functions(target) - functions:
            c.execute(text(f'DROP FUNCTION IF EXISTS "{name}" CASCADE'))


def _check_parent(path: Path, what: str) -> None:
    """Refuse a file path whose directory does not exist (it is never created)."""
    if not path.parent.is_dir():
        raise DispatchError(f"{what}目录不存在: {path.parent}")


def _jsonl_header(src: Path) -> dict:
    """The header line of a logical export; refuses any other file."""
    try:
        with src.open(encoding="utf-8") as f:
            header = json.loads(f.readline(1 << 16) or "{}")
    except (ValueError, RecursionError):  # not JSON, not UTF-8 (UnicodeDecodeError), huge integers
        header = None
    if not isinstance(header, dict) or header.get("format") != JSONL_FORMAT:
        raise DispatchError(f"无法识别的备份文件: {src}")
    return header


def _refuse_non_empty(engine: Engine) -> None:
    try:
        tables = inspect(engine).get_table_names()
    except Exception as exc:  # noqa: BLE001 - unreachable or unreadable target
        raise DispatchError(f"无法打开恢复目标数据库: {str(exc).splitlines()[0]}") from None
    if tables:
        raise DispatchError(f"恢复目标数据库不是空的（已有 {len(tables)} 张表）：请指定一个新的空数据库")


def _backup_sqlite(engine: Engine, dest: Path) -> str:
    raw: Any = engine.raw_connection()
    try:
        with sqlite3.connect(dest) as out:
            raw.driver_connection.backup(out)
    finally:
        raw.close()
    return "sqlite"


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DispatchError(f"{cmd[0]} 失败: {(r.stderr.strip().splitlines() or ['?'])[-1]}")


def _pg_dump(engine: Engine, dest: Path) -> str:
    with engine.connect() as c:
        schema = str(c.execute(text("SELECT current_schema()")).scalar())
    _pg_run(["pg_dump", "--format=custom", "--no-owner", "-n", schema, "-f", str(dest), _libpq_url(engine)])
    return "pg_dump"


def _tables(engine: Engine) -> MetaData:
    meta = MetaData()
    meta.reflect(engine)
    return meta


def _export_jsonl(engine: Engine, dest: Path) -> str:
    """Every table in one REPEATABLE READ snapshot (SQLite: one read transaction)."""
    meta = _tables(engine)
    with engine.connect() as conn, dest.open("w", encoding="utf-8") as out:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        out.write(json.dumps({"format": JSONL_FORMAT,
                              "tables": [t.name for t in meta.sorted_tables]}, ensure_ascii=False) + "\n")
        rows: dict[str, int] = {}
        for table in meta.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = 0
            for row in conn.execute(select(table).order_by(*order)).mappings():
                doc = {"t": table.name, "r": {k: _encode(v) for k, v in row.items()}}
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
                rows[table.name] += 1
        out.write(json.dumps({"end": JSONL_FORMAT, "rows": rows}, ensure_ascii=False) + "\n")
    return "jsonl"


def _encode(value):  # noqa: ANN001, ANN202
    if isinstance(value, datetime):
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return {"$dt": value.isoformat()}
    if isinstance(value, (bytes, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value, column):  # noqa: ANN001, ANN202
    if isinstance(value, dict) and "$dt" in value and len(value) == 1:
        return datetime.fromisoformat(value["$dt"])
    if isinstance(value, dict) and "$b64" in value and len(value) == 1:
        return base64.b64decode(value["$b64"])
    if isinstance(value, str) and isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(value, str) and isinstance(column.type, LargeBinary):
        return value.encode()
    return value


def _import_jsonl(src: Path, target: Engine) -> None:
    from dispatch.store import migrate

    _jsonl_header(src)
    with src.open(encoding="utf-8") as f:
        f.readline()  # the header, checked above
        migrate.upgrade(target)
        meta = _tables(target)
        skip = {"alembic_version"}
        with target.begin() as conn:
            for name in ("log_anchor",):  # the migration wrote a fresh anchor: the backup's replaces it
                conn.execute(meta.tables[name].delete())
            batch: list[dict] = []
            current = ""
            counted: dict[str, int] = {}
            end = None
            for number, line in enumerate(f, start=2):
                if end is not None:
                    raise DispatchError(f"备份文件第 {number} 行在结尾记录之后，文件已损坏，未恢复")
                try:
                    doc = json.loads(line)
                    if not isinstance(doc, dict):
                        raise ValueError(line)
                    if "end" in doc:
                        end = doc
                        continue
                    table, values = doc["t"], doc["r"]
                    counted[table] = counted.get(table, 0) + 1
                    if table in skip or table not in meta.tables:
                        continue
                    if table != current:
                        _insert(conn, meta, current, batch)
                        current, batch = table, []
                    cols = meta.tables[current].columns
                    batch.append({k: _decode(v, cols[k]) for k, v in values.items() if k in cols})
                except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                    raise DispatchError(f"备份文件第 {number} 行已损坏，未恢复") from None
            _insert(conn, meta, current, batch)
            if end is None or end.get("end") != JSONL_FORMAT:
                raise DispatchError("备份文件不完整（没有结尾记录：可能在写入或复制时被截断），未恢复")
            rows = end.get("rows")
            if not isinstance(rows, dict):
                raise DispatchError("备份文件的结尾记录已损坏，未恢复")
            expected = {t: n for t, n in rows.items() if n}
            if counted != expected:
                short = sorted(t for t in expected.keys() | counted.keys() if counted.get(t, 0) != expected.get(t, 0))
                raise DispatchError(f"备份文件的行数与其结尾记录不符（表 {'、'.join(short[:5])}），未恢复")
            if target.dialect.name == "postgresql":
                _reset_sequences(conn, meta)


def _insert(conn, meta: MetaData, name: str | None, rows: list[dict]) -> None:  # noqa: ANN001
    if name and rows:
        try:
            conn.execute(meta.tables[name].insert(), rows)
        except StatementError as exc:  # a row the schema refuses: the backup is not what was exported
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DispatchError(f"备份中表 {name} 的数据无法写入（{first}），未恢复") from None


def _reset_sequences(conn, meta: MetaData) -> None:  # noqa: ANN001
    for table in meta.sorted_tables:
        if "id" in table.columns and table.name != "log_anchor":
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
            if seq:
                conn.execute(text(f"SELECT setval('{seq}', COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
