"""how an official hears of what arrives for them: a mail each time, or one a day

Revision ID: c3d5e7f9a1b2
Revises: 8a0c2e4f6b7d
Create Date: 2026-12-05 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3d5e7f9a1b2"
down_revision = "8a0c2e4f6b7d"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "users", sa.Column("notify_mode", sa.String(10), nullable=False, server_default="immediate")
    )


def downgrade():
    op.drop_column("users", "notify_mode")
