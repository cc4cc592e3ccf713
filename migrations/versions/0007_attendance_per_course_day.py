"""attendance per course day: one row per registration and day, with the agency kept

Issue 18 records attendance per course day (present, absent, excused); issue 19 counts it per
agency. The row keeps the course and the agency of its registration, so that the counts stay
right after the person's data is deleted or the course anonymised.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('present', 'absent', 'excused')", name="attendance_state_known"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_attendance_agency_id_agency", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name="fk_attendance_course_id_course", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["person.id"],
            name="fk_attendance_recorded_by_person",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registration.id"],
            name="fk_attendance_registration_id_registration",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attendance"),
        sa.UniqueConstraint("registration_id", "day", name="uq_attendance_registration_day"),
    )
    op.create_index("ix_attendance_course_day", "attendance", ["course_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attendance_course_day", table_name="attendance")
    op.drop_table("attendance")
