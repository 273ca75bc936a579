"""bulk jobs with progress

Revision ID: e3a4b5c6d7f8
Revises: d2f3a4b5c6e7
Create Date: 2026-11-24 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e3a4b5c6d7f8"
down_revision = "d2f3a4b5c6e7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("result_name", sa.String(length=200), nullable=True),
        sa.Column("result_mimetype", sa.String(length=120), nullable=True),
        sa.Column("result_data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_bulk_jobs_job_state")
        ),
        sa.CheckConstraint("done >= 0 AND done <= total", name=op.f("ck_bulk_jobs_job_progress")),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_bulk_jobs_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_bulk_jobs_started_by_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_jobs")),
    )
    with op.batch_alter_table("bulk_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_jobs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulk_jobs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulk_jobs_started_by_id"), ["started_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulk_jobs_state"), ["state"], unique=False)


def downgrade():
    with op.batch_alter_table("bulk_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_bulk_jobs_started_by_id"))
        batch_op.drop_index(batch_op.f("ix_bulk_jobs_created_at"))
        batch_op.drop_index(batch_op.f("ix_bulk_jobs_call_id"))

    op.drop_table("bulk_jobs")
