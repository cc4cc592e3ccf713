"""task columns for what the key says: a reminder's offset and planned start, a lead list's moment

The code read a reminder's offset and the start it was planned for, and whether a lead list
is the one at the registration deadline, back out of the task's key. They are columns now,
filled here from the keys of existing tasks; the keys stay as they are (they keep timed work
from being planned twice). A reminder key from before the start date was part of it
(``reminder:7d:course:42``) gets its offset here and its start when the course is next
planned (`kurse.schedule`), as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:15:37
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offset_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("planned_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("moment", sa.String(length=16), nullable=True))
    bind = op.get_bind()
    task = sa.table(
        "task",
        sa.column("id", sa.Integer),
        sa.column("key", sa.String),
        sa.column("kind", sa.String),
        sa.column("offset_minutes", sa.Integer),
        sa.column("planned_start", sa.DateTime(timezone=True)),
        sa.column("moment", sa.String),
    )
    rows = bind.execute(
        sa.select(task.c.id, task.c.kind, task.c.key).where(
            task.c.kind.in_(["reminder", "leadlist"])
        )
    ).all()
    for task_id, kind, key in rows:
        parts = key.split(":")
        if kind == "leadlist":
            values: dict[str, object] = {"moment": parts[1]}
        else:  # reminder:7d:course:42:20270312T0800Z, or without the start (older keys)
            label = parts[1]
            values = {"offset_minutes": int(label[:-1]) * _UNIT_MINUTES[label[-1]]}
            if len(parts) == 5:
                start = datetime.strptime(parts[4], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
                # SQLite keeps times as naive UTC (`kurse.models.UTCDateTime`).
                sqlite = bind.dialect.name == "sqlite"
                values["planned_start"] = start.replace(tzinfo=None) if sqlite else start
        bind.execute(sa.update(task).where(task.c.id == task_id).values(**values))


def downgrade() -> None:
    # The keys still say everything the columns said: nothing is lost.
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("moment")
        batch_op.drop_column("planned_start")
        batch_op.drop_column("offset_minutes")
