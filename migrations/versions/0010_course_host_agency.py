"""the host agency of every course (Ausrichter), for the figures of the cooperation

Issue 19 counts per agency the courses it hosted and the seats of them taken by officers of
another agency; a course now names its host. Existing courses get the agency with the most
seats in the course's quotas (on a tie the agency with the lowest id, i.e. the one seeded or
added first; a course without quota rows the lowest agency id): the agency that set the most
seats aside is, in the courses planned so far, the one that held them. An admin corrects a
course's host with ``/kurs_bearbeiten CODE`` and ``Ausrichter: PD-Z``. A database with
courses but no agency at all (only made by hand: a course has quotas, quotas agencies) stops
here, as the column cannot be filled. Downgrade drops the column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_agency_id", sa.Integer(), nullable=True))
    course = sa.table("course", sa.column("id", sa.Integer), sa.column("host_agency_id"))
    quota = sa.table(
        "quota", sa.column("course_id"), sa.column("agency_id"), sa.column("seats")
    )
    agency = sa.table("agency", sa.column("id", sa.Integer))
    most_seats = (
        sa.select(quota.c.agency_id)
        .where(quota.c.course_id == course.c.id)
        .order_by(quota.c.seats.desc(), quota.c.agency_id)
        .limit(1)
        .scalar_subquery()
    )
    bind = op.get_bind()
    bind.execute(sa.update(course).values(host_agency_id=most_seats))
    first = sa.select(sa.func.min(agency.c.id)).scalar_subquery()
    bind.execute(
        sa.update(course).where(course.c.host_agency_id.is_(None)).values(host_agency_id=first)
    )
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.alter_column("host_agency_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_course_host_agency_id_agency",
            "agency",
            ["host_agency_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index("ix_course_host_agency_id", ["host_agency_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_index("ix_course_host_agency_id")
        batch_op.drop_constraint("fk_course_host_agency_id_agency", type_="foreignkey")
        batch_op.drop_column("host_agency_id")
