"""the form of address a person chose for letters and mails (none, Frau, Herr)

Revision ID: e5f7a9b1c3d5
Revises: d4e6f8a0b2c4
Create Date: 2026-12-05 14:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5f7a9b1c3d5"
down_revision = "d4e6f8a0b2c4"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("salutation", sa.String(10), nullable=False, server_default=""))


def downgrade():
    op.drop_column("users", "salutation")
