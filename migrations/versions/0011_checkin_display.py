"""check-in codes on show, renewed in place every two minutes (issue 18)

A lead's `/checkin` message is kept (chat, message, course day and the window of the code it
shows), so that the bot edits it with each new code until the day ends, after a restart and
with a standby instance too. Downgrade drops the table: the messages then keep the code they
show, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin_display",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shown_window", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name="fk_checkin_display_course_id_course",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name="fk_checkin_display_person_id_person",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkin_display"),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_checkin_display_message"),
    )
    op.create_index(
        "ix_checkin_display_course_id", "checkin_display", ["course_id"], unique=False
    )
    op.create_index("ix_checkin_display_until", "checkin_display", ["until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_checkin_display_until", table_name="checkin_display")
    op.drop_index("ix_checkin_display_course_id", table_name="checkin_display")
    op.drop_table("checkin_display")
