"""audit events and the chain's head carry an HMAC made with the audit key (not in the database); events
written before stay without one (covered by the first checkpoint after the upgrade)

Revision ID: 2f9eeddb521c
Revises: 3e4f5a6b7c8d
Create Date: 2026-12-04 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '2f9eeddb521c'
down_revision = '3e4f5a6b7c8d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('mac')
