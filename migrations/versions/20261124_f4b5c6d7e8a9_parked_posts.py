"""parked posts: text of a refused post (expired session, refused token) kept for its browser

Revision ID: f4b5c6d7e8a9
Revises: e3a4b5c6d7f8
Create Date: 2026-11-24 00:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f4b5c6d7e8a9"
down_revision = "e3a4b5c6d7f8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "parked_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("browser_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("had_files", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_parked_posts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parked_posts")),
    )
    with op.batch_alter_table("parked_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parked_posts_browser_key"), ["browser_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_parked_posts_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_parked_posts_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("parked_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parked_posts_user_id"))
        batch_op.drop_index(batch_op.f("ix_parked_posts_expires_at"))
        batch_op.drop_index(batch_op.f("ix_parked_posts_browser_key"))

    op.drop_table("parked_posts")
