"""audit events and the chain's head carry an HMAC made with the audit key (not in the database); events
written before stay without one (covered by the first checkpoint after the upgrade)

Revision ID: 2f9eeddb521c
Revises: 3e4f5a6b7c8d
Create Date: 2026-12-04 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2f9eeddb521c"
down_revision = "3e4f5a6b7c8d"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN on both databases (SQLite >= 3.35 has both): batch mode would copy the append-only
# audit table on SQLite, and reflect the tables it refers to.
def upgrade():
    op.add_column("audit_events", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("audit_chain_head", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column("audit_chain_head", "mac")
    op.drop_column("audit_events", "mac")
