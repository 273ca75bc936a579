"""outbox delivery

Revision ID: c3a1f0e2b7d4
Revises: 931d0b3d08db
Create Date: 2026-11-23 19:15:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c3a1f0e2b7d4'
down_revision = '931d0b3d08db'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
