"""reminders

Revision ID: d4b2e1f3c8a5
Revises: c3a1f0e2b7d4
Create Date: 2026-11-23 19:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4b2e1f3c8a5"
down_revision = "c3a1f0e2b7d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_days", sa.JSON(), server_default="[7, 1]", nullable=False))
        batch_op.add_column(
            sa.Column("review_reminder_days", sa.JSON(), server_default="[3, 1]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("signoff_reminder_days", sa.Integer(), server_default="3", nullable=False)
        )
        batch_op.add_column(
            sa.Column("signoff_escalation_days", sa.Integer(), server_default="5", nullable=False)
        )
        batch_op.add_column(
            sa.Column("milestone_reminder_days", sa.Integer(), server_default="7", nullable=False)
        )
        batch_op.add_column(
            sa.Column("implementation_reminder_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_calls_review_deadline"), ["review_deadline"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("head_of_office", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_overdue_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposals_personal_deadline"), ["personal_deadline"], unique=False
        )


def downgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposals_personal_deadline"))

    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_column("overdue_at")

    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_column("report_overdue_at")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("head_of_office")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_review_deadline"))
        batch_op.drop_column("implementation_reminder_days")
        batch_op.drop_column("milestone_reminder_days")
        batch_op.drop_column("signoff_escalation_days")
        batch_op.drop_column("signoff_reminder_days")
        batch_op.drop_column("review_reminder_days")
        batch_op.drop_column("reminder_days")
