"""an index on lower(users.email): the login's lookup no longer reads the whole table

Revision ID: 3e4f5a6b7c8d
Revises: 2d3e4f5a6b7c
Create Date: 2026-11-24 05:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3e4f5a6b7c8d"
down_revision = "2d3e4f5a6b7c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")], unique=False)


def downgrade():
    op.drop_index("ix_users_email_lower", table_name="users")
