"""a milestone's share of the money (from the applicant's milestone plan)

Revision ID: 8a0c2e4f6b7d
Revises: 7f9b1d3e5a6c
Create Date: 2026-12-05 09:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8a0c2e4f6b7d"
down_revision = "7f9b1d3e5a6c"
branch_labels = None
depends_on = None


def upgrade():
    # added in place (no batch copy: the milestones table's state triggers on SQLite stay as they are)
    op.add_column("milestones", sa.Column("share", sa.Numeric(5, 2), nullable=True))


def downgrade():
    op.drop_column("milestones", "share")
