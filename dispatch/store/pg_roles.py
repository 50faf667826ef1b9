"""PostgreSQL: the console's own login role, separate from the owner that runs migrations.

The console role may read everything and write the projections, but on the log
(`events`, `positions`) only INSERT and SELECT, and on `log_anchor` only SELECT and
UPDATE: no DELETE, no TRUNCATE, and, not owning the tables, no ALTER/DISABLE TRIGGER
and no DROP. Run it as the owner after every schema upgrade (it grants on the tables
that exist now); the console's URL then names this role.
"""
from __future__ import annotations

import re

from sqlalchemy import Engine, inspect, text

from dispatch.domain.errors import DispatchError

LOG_TABLES = ("events", "positions")
ANCHOR = "log_anchor"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_console_role(engine: Engine, role: str, password: str | None) -> dict:
    """Create (or update) `role` and grant it the console's privileges in the current
    schema. Returns {"role", "schema", "log_tables", "tables"}."""
    if engine.dialect.name != "postgresql":
        raise DispatchError("数据库角色只用于 PostgreSQL")
    if not _NAME.match(role):
        raise DispatchError(f"角色名只能用小写字母、数字和下划线: {role!r}")
    if password is not None and not password:
        raise DispatchError("密码不能为空")
    with engine.begin() as c:
        schema = c.execute(text("SELECT current_schema()")).scalar()
        tables = [t for t in inspect(c).get_table_names(schema=schema) if t != "alembic_version"]
        if "events" not in tables:
            raise DispatchError("数据库尚未初始化：请先用所有者账号启动一次（执行迁移）")
        exists = c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        quoted_pw = c.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar() if password else None
        if not exists:
            c.execute(text(f'CREATE ROLE "{role}" LOGIN' + (f" PASSWORD {quoted_pw}" if quoted_pw else "")))
        elif quoted_pw:
            c.execute(text(f'ALTER ROLE "{role}" PASSWORD {quoted_pw}'))
        c.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        c.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"'))
        for t in tables:
            if t in LOG_TABLES:
                grant = "SELECT, INSERT"
            elif t == ANCHOR:
                grant = "SELECT, UPDATE"
            else:
                grant = "SELECT, INSERT, UPDATE, DELETE"
            c.execute(text(f'GRANT {grant} ON "{schema}"."{t}" TO "{role}"'))
        c.execute(text(f'GRANT SELECT ON "{schema}".alembic_version TO "{role}"'))
        c.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"'))
    return {"role": role, "schema": schema, "log_tables": list(LOG_TABLES), "tables": len(tables)}
