"""outbox delivery

Revision ID: c3a1f0e2b7d4
Revises: 931d0b3d08db
Create Date: 2026-11-23 19:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3a1f0e2b7d4"
down_revision = "931d0b3d08db"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_runs")),
    )
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_mails_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_check_constraint("status", "status IN ('pending', 'sending', 'sent', 'failed')")


def downgrade():
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_mails_status"), type_="check")
        batch_op.drop_index(batch_op.f("ix_outbox_mails_next_attempt_at"))
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("held")

    op.drop_table("worker_runs")
