"""JSON columns for the payloads: audit before/after, outbox detail, dialog states and data

The audit log's before and after, an outgoing message's detail and a dialog's states and data
held JSON written by hand into text columns; they are SQLAlchemy `JSON` columns now,
read and written as dicts. On PostgreSQL the type is ``json`` (not ``jsonb``, see
`kurse.models`), converted with ``USING column::json``, which keeps each text as it is; on
SQLite a JSON column is text, so the batch copy leaves every value as it is. The downgrade
turns them back into text with the same content (PostgreSQL's ``json::text`` is the stored
text).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its columns that hold JSON, with whether they may be NULL
_COLUMNS = {
    "audit_entry": {"before": True, "after": True},
    "outbox": {"detail": True},
    "dialog": {"states": False, "data": False},
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, nullable in columns.items():
                batch_op.alter_column(
                    name,
                    existing_type=sa.Text(),
                    type_=sa.JSON(),
                    existing_nullable=nullable,
                    postgresql_using=f'"{name}"::json',
                )


def downgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, nullable in columns.items():
                batch_op.alter_column(
                    name,
                    existing_type=sa.JSON(),
                    type_=sa.Text(),
                    existing_nullable=nullable,
                    postgresql_using=f'"{name}"::text',
                )
