"""course days, minimum attendance and the closing of attendance (issue 18)

A course may name its days explicitly (`Termine:`; JSON, a list of [start, end] in UTC; NULL:
the days follow from start and end, `kurse.days`), the share of days a certificate of
attendance needs (`Mindestanwesenheit:`, percent; NULL: every day), when its lead closed the
attendance (`/anwesenheit_abschliessen`) and until when an admin reopened it after the lock.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("min_attendance", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("attendance_closed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("attendance_unlocked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            "course_min_attendance_share",
            "min_attendance IS NULL OR (min_attendance >= 1 AND min_attendance <= 100)",
        )


def downgrade() -> None:
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_constraint("course_min_attendance_share", type_="check")
        batch_op.drop_column("attendance_unlocked_until")
        batch_op.drop_column("attendance_closed_at")
        batch_op.drop_column("min_attendance")
        batch_op.drop_column("days")
