"""job files in pieces (no large file in memory); parked posts bounded per client address

Revision ID: 7a8b9c0d1e2f
Revises: 7a1c5e9b3d20
Create Date: 2026-12-04 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7a8b9c0d1e2f"
down_revision = "7a1c5e9b3d20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_job_chunks",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["bulk_jobs.id"], name=op.f("fk_bulk_job_chunks_job_id_bulk_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_bulk_job_chunks")),
    )
    # a job's file moves from the row to its pieces (finished jobs live a day: their files are not carried over;
    # such a job shows no download). Plain ADD/DROP COLUMN on both databases (SQLite >= 3.35): batch mode would
    # copy the tables on SQLite and reflect the users table they refer to.
    op.add_column("bulk_jobs", sa.Column("result_size", sa.Integer(), nullable=True))
    op.drop_column("bulk_jobs", "result_data")
    op.add_column("parked_posts", sa.Column("address_key", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_parked_posts_address_key"), "parked_posts", ["address_key"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_parked_posts_address_key"), table_name="parked_posts")
    op.drop_column("parked_posts", "address_key")
    op.add_column("bulk_jobs", sa.Column("result_data", sa.LargeBinary(), nullable=True))
    op.drop_column("bulk_jobs", "result_size")
    op.drop_table("bulk_job_chunks")
