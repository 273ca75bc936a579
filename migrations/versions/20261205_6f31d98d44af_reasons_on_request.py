"""reasons on request (issue 19): an unsuccessful applicant's request for the reasons of the decision and the
office's answer; the days after the notice in which a call's applicants may ask; whether a call is co-funded by
the EU (ERDF: its publicity and the retention of its records); legal holds on records

Revision ID: 6f31d98d44af
Revises: 29e517bce4bc
Create Date: 2026-12-05 20:52:00

"""

import sqlalchemy as sa
from alembic import op

import foerdercall.timeutil

# revision identifiers, used by Alembic.
revision = "6f31d98d44af"
down_revision = "29e517bce4bc"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reason_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="not_asked", nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("requested_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("due_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", foerdercall.timeutil.UTCDateTime(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('not_asked', 'requested', 'answered')", name=op.f("ck_reason_requests_state")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["users.id"], name=op.f("fk_reason_requests_answered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_reason_requests_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reason_requests")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_reason_requests_proposal_id")),
    )
    # added in place (no batch copy: the calls table's state triggers on SQLite stay as they are)
    op.add_column(
        "calls", sa.Column("reasons_request_days", sa.Integer(), server_default="30", nullable=False)
    )
    op.add_column("calls", sa.Column("eu_funded", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="none", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_at", foerdercall.timeutil.UTCDateTime(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("state IN ('none', 'held', 'lifted')", name=op.f("ck_legal_holds_state")),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_legal_holds_lifted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["users.id"], name=op.f("fk_legal_holds_placed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_legal_holds_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_proposal_id"), "legal_holds", ["proposal_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_legal_holds_proposal_id"), table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_column("calls", "eu_funded")
    op.drop_column("calls", "reasons_request_days")
    op.drop_table("reason_requests")
