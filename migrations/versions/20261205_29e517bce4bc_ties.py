"""ties the published tie-break criteria leave open (issue 19): the decisions and draws on them, whether a call
announced lots, and each criterion's rank as a tie-break (the criteria DOMAIN.md names keep breaking ties in
stored calls: feasibility first, then economic effect)

Revision ID: 29e517bce4bc
Revises: b72572f993ca
Create Date: 2026-12-05 20:39:04.228933

"""

import sqlalchemy as sa
from alembic import op

import foerdercall.timeutil

# revision identifiers, used by Alembic.
revision = "29e517bce4bc"
down_revision = "b72572f993ca"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tie_breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("ranked", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("signatures", sa.JSON(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", foerdercall.timeutil.UTCDateTime(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "method <> 'lot' OR seed IS NOT NULL OR state = 'open'", name=op.f("ck_tie_breaks_lot_has_seed")
        ),
        sa.CheckConstraint("method IN ('decision', 'lot')", name=op.f("ck_tie_breaks_method")),
        sa.CheckConstraint(
            "state IN ('open', 'proposed', 'resolved', 'refused')", name=op.f("ck_tie_breaks_state")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_tie_breaks_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_tie_breaks_proposed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tie_breaks")),
    )
    op.create_index(op.f("ix_tie_breaks_call_id"), "tie_breaks", ["call_id"], unique=False)
    # added in place (no batch copy: the calls table's state triggers on SQLite stay as they are)
    op.add_column(
        "calls", sa.Column("lots_announced", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("criteria", sa.Column("tie_rank", sa.Integer(), nullable=True))
    op.execute("UPDATE criteria SET tie_rank = 1 WHERE key = 'feasibility'")
    op.execute("UPDATE criteria SET tie_rank = 2 WHERE key = 'economic_effect'")


def downgrade():
    op.drop_column("criteria", "tie_rank")
    op.drop_column("calls", "lots_announced")
    op.drop_index(op.f("ix_tie_breaks_call_id"), table_name="tie_breaks")
    op.drop_table("tie_breaks")
