"""held decision mails per call, the due moment of a mail (.ics)

Revision ID: e5c3f2a4d9b6
Revises: d4b2e1f3c8a5
Create Date: 2026-11-23 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5c3f2a4d9b6"
down_revision = "d4b2e1f3c8a5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_decision_mails", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_column("event_at")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("hold_decision_mails")
