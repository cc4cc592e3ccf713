"""person ids are never reused (SQLite AUTOINCREMENT); audit payloads count, not list, persons

A deleted officer's row id was handed to the next one to join on SQLite (it takes the
largest id + 1), so an id kept anywhere (an audit payload, a log line) would then point to
another person. PostgreSQL's sequences never reuse ids; there this does nothing to the
table. The quota changes in the audit log listed the ids of officers moved up or back;
they now keep the numbers only (PRODUCT.md §7: nothing that points to a person after a
deletion or the anonymisation of the course).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:25:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Copying the table keeps every row and id; `kurse.migrate` runs migrations with
        # foreign keys off on SQLite, so that dropping the old table sets no reference NULL.
        with op.batch_alter_table(
            "person", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    audit = sa.table(
        "audit_entry", sa.column("id", sa.Integer), sa.column("action"), sa.column("after")
    )
    rows = bind.execute(
        sa.select(audit.c.id, audit.c.after).where(audit.c.action == "quotas_set")
    ).all()
    for entry_id, after in rows:
        payload = json.loads(after) if after else None
        if not isinstance(payload, dict):
            continue
        counted = {k: len(v) if k in ("promoted", "demoted") and isinstance(v, list) else v
                   for k, v in payload.items()}
        if counted != payload:
            bind.execute(
                sa.update(audit)
                .where(audit.c.id == entry_id)
                .values(after=json.dumps(counted, ensure_ascii=False))
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("person", recreate="always"):
            pass
