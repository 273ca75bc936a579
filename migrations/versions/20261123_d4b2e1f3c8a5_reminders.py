"""reminders

Revision ID: d4b2e1f3c8a5
Revises: c3a1f0e2b7d4
Create Date: 2026-11-23 19:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'd4b2e1f3c8a5'
down_revision = 'c3a1f0e2b7d4'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
