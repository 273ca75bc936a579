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
    # columns added in place (no batch copy of the table on SQLite)
    op.add_column("outbox_mails", sa.Column("claimant", sa.Integer(), nullable=True))
    op.add_column(
        "outbox_mails", sa.Column("failure", sa.String(length=10), server_default="", nullable=False)
    )
    op.add_column("outbox_mails", sa.Column("failed_at", foerdercall.timeutil.UTCDateTime(), nullable=True))
    op.add_column("outbox_mails", sa.Column("requeued", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_outbox_mails_sent_at", "outbox_mails", ["sent_at"], unique=False)
    # the mails that failed before: when (as near as is known) and, for a 5xx, for good
    op.execute(
        "UPDATE outbox_mails SET failed_at = COALESCE(claimed_at, created_at), "
        "failure = CASE WHEN last_error LIKE 'SMTP 5%' THEN 'permanent' ELSE '' END WHERE status = 'failed'"
    )


def downgrade():
    op.drop_index("ix_outbox_mails_sent_at", table_name="outbox_mails")
    for name in ("requeued", "failed_at", "failure", "claimant"):
        op.drop_column("outbox_mails", name)
