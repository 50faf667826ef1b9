"""event hash chain

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30

Adds events.hash (SHA-256 chained over the canonical encoding, see
dispatch.store.hashchain) and the one-row log_anchor table; events already in the
log are chained in id order (the append-only guard is lifted for that one UPDATE).
"""
import json

import sqlalchemy as sa
from alembic import op

from dispatch.store import hashchain

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('events', sa.Column('hash', sa.String(length=64), nullable=True))  # plain ALTER: keeps triggers
    op.create_table('log_anchor',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('events', sa.BigInteger(), nullable=False),
                    sa.Column('last_id', sa.BigInteger(), nullable=False),
                    sa.Column('last_hash', sa.String(length=64), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, occurred_at, seat, operator, kind, incident_id, unit_id, payload "
                                "FROM events ORDER BY id")).mappings().all()
    anchor = hashchain.Anchor(0, 0, hashchain.GENESIS)
    hashes = []
    for r in rows:
        row = dict(r)
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
        if isinstance(row["occurred_at"], str):  # SQLite text, UTC
            row["occurred_at"] = _sqlite_time(row["occurred_at"])
        anchor.last_hash = hashchain.event_hash(anchor.last_hash, row)
        anchor.last_id, anchor.events = row["id"], anchor.events + 1
        hashes.append({"h": anchor.last_hash, "i": row["id"]})
    if hashes:
        _without_update_guard(bind.dialect.name,
                              lambda: bind.execute(sa.text("UPDATE events SET hash = :h WHERE id = :i"), hashes))
    bind.execute(hashchain.log_anchor.insert().values(id=hashchain.ANCHOR_ID, events=anchor.events,
                                                      last_id=anchor.last_id, last_hash=anchor.last_hash))


def _sqlite_time(value: str):
    from datetime import datetime, timezone
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def _without_update_guard(dialect: str, work) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        work()
        op.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    else:
        op.execute("DROP TRIGGER events_no_update")
        work()
        op.execute("""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;""")


def downgrade() -> None:
    op.drop_table('log_anchor')
    op.drop_column('events', 'hash')  # plain ALTER (no table copy): the append-only triggers stay
