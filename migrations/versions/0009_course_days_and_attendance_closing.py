"""course days, minimum attendance, the closing of attendance and certificates (issue 18)

A course may name its days explicitly (`Termine:`; JSON, a list of [start, end] in UTC; NULL:
the days follow from start and end, `kurse.days`), the share of days a certificate of
attendance needs (`Mindestanwesenheit:`, percent; NULL: every day), when its lead closed the
attendance (`/anwesenheit_abschliessen`), until when an admin reopened it after the lock, the
secret its self check-in codes are made from;
and the certificates of attendance with their serial numbers and verification codes (the
holder's name kept as printed, so that verification outlives the course's anonymisation).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
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
        batch_op.add_column(sa.Column("checkin_secret", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            "course_min_attendance_share",
            "min_attendance IS NULL OR (min_attendance >= 1 AND min_attendance <= 100)",
        )


    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=100), nullable=False),
        sa.Column("holder_rank", sa.String(length=50), nullable=True),
        sa.Column("days_present", sa.Integer(), nullable=False),
        sa.Column("days_total", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("lead_name", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_certificate_agency_id_agency", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name="fk_certificate_course_id_course", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_certificate_person_id_person", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registration.id"],
            name="fk_certificate_registration_id_registration",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_certificate"),
        sa.UniqueConstraint("serial", name="uq_certificate_serial"),
        sa.UniqueConstraint("verification", name="uq_certificate_verification"),
    )
    op.create_index("ix_certificate_registration", "certificate", ["registration_id"])
    op.create_index("ix_certificate_person", "certificate", ["person_id"])
    op.create_index("ix_certificate_course", "certificate", ["course_id"])


def downgrade() -> None:
    op.drop_index("ix_certificate_course", table_name="certificate")
    op.drop_index("ix_certificate_person", table_name="certificate")
    op.drop_index("ix_certificate_registration", table_name="certificate")
    op.drop_table("certificate")
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_constraint("course_min_attendance_share", type_="check")
        batch_op.drop_column("checkin_secret")
        batch_op.drop_column("attendance_unlocked_until")
        batch_op.drop_column("attendance_closed_at")
        batch_op.drop_column("min_attendance")
        batch_op.drop_column("days")
