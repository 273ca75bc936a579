"""mail delivery under faults (issue 18): a mail is claimed per delivery attempt and held by a process (its
advisory lock's key on PostgreSQL, so a dead process's claims are known at once); why and when a mail failed
(a failure of the relay is tried again by itself once the relay takes mail again, ``requeued`` rounds); an
index on the time a mail was sent

Revision ID: 774c78fe748d
Revises: fd78f99c21bd
Create Date: 2026-12-05 23:33:25.773714

"""

import sqlalchemy as sa
from alembic import op

import foerdercall.timeutil

# revision identifiers, used by Alembic.
revision = "774c78fe748d"
down_revision = "fd78f99c21bd"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimant", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("failure", sa.String(length=10), server_default="", nullable=False))
        batch_op.add_column(sa.Column("failed_at", foerdercall.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("requeued", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_outbox_mails_sent_at"), ["sent_at"], unique=False)
    # the mails that failed before: when (as near as is known) and, for a 5xx, for good
    op.execute(
        "UPDATE outbox_mails SET failed_at = COALESCE(claimed_at, created_at), "
        "failure = CASE WHEN last_error LIKE 'SMTP 5%' THEN 'permanent' ELSE '' END WHERE status = 'failed'"
    )


def downgrade():
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_mails_sent_at"))
        batch_op.drop_column("requeued")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("failure")
        batch_op.drop_column("claimant")
