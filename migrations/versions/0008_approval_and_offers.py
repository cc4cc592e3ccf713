"""approval and offers: approvers per agency, held seats with a deadline, offer hours per course

Issue 17. An agency may require approval of its officers' sign-ups (``approval_required``)
by one of its approvers (table ``approver``). A registration may hold a seat until a deadline
(``held_since``, ``held_until``) in two new states, ``requested`` (waiting for approval) and
``offered`` (a seat offered from the waiting list); how the hold ended, who decided it and
why stay on the registration. A course may fill freed seats by offers of ``offer_hours``
(NULL: automatically, as before). A task may be about one registration (a held seat's
expiry, the approvers' reminder). Existing rows keep their meaning: no agency needs approval,
every course fills seats automatically, nothing is held.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "status IN ('confirmed', 'waiting', 'cancelled')"
_NEW_STATES = "status IN ('confirmed', 'waiting', 'cancelled', 'requested', 'offered')"
_HELD = "(status IN ('requested', 'offered')) = (held_until IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approval_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "approver",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_approver_agency_id_agency", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_approver_person_id_person", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agency_id", "person_id", name="pk_approver"),
    )
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_hours", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "course_offer_hours_range",
            "offer_hours IS NULL OR (offer_hours >= 1 AND offer_hours <= 168)",
        )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_reason", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            "fk_registration_decided_by_person",
            "person",
            ["decided_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint("registration_status_known", type_="check")
        batch_op.create_check_constraint("registration_status_known", _NEW_STATES)
        batch_op.create_check_constraint("registration_held_has_deadline", _HELD)
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_task_registration_id", ["registration_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_task_registration_id_registration",
            "registration",
            ["registration_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    # Held seats have no place in the old states: a requested or offered seat becomes
    # confirmed (it counted as taken), as the quota counters already say, since the hold
    # began (so that its officer gets the reminders).
    op.execute(
        "UPDATE registration SET status = 'confirmed', confirmed_at = held_since, "
        "held_until = NULL WHERE status IN ('requested', 'offered')"
    )
    op.execute("DELETE FROM task WHERE registration_id IS NOT NULL")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint("fk_task_registration_id_registration", type_="foreignkey")
        batch_op.drop_index("ix_task_registration_id")
        batch_op.drop_column("registration_id")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_constraint("registration_held_has_deadline", type_="check")
        batch_op.drop_constraint("registration_status_known", type_="check")
        batch_op.create_check_constraint("registration_status_known", _OLD_STATES)
        batch_op.drop_constraint("fk_registration_decided_by_person", type_="foreignkey")
        batch_op.drop_column("outcome_reason")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("outcome")
        batch_op.drop_column("held_until")
        batch_op.drop_column("held_since")
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_constraint("course_offer_hours_range", type_="check")
        batch_op.drop_column("offer_hours")
    op.drop_table("approver")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("approval_required")
