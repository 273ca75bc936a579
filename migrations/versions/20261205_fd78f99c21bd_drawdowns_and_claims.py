"""the money of a grant (issue 19): drawdowns requested by the recipient and paid by an official, and money
claimed back from an award (returned to the budget once repaid); the tranche of a contract's payment plan a
payment pays and its invoice number; a grant call's conditions (part of its approval notices); a grant's proof of use (planned against actual per line of
the cost plan) in its final report

Revision ID: fd78f99c21bd
Revises: 293489d988b3
Create Date: 2026-12-05 21:11:04.094685

"""

import sqlalchemy as sa
from alembic import op

import foerdercall.timeutil

# revision identifiers, used by Alembic.
revision = "fd78f99c21bd"
down_revision = "293489d988b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("claimed_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("claimed_by_id", sa.Integer(), nullable=False),
        sa.Column("repaid_at", foerdercall.timeutil.UTCDateTime(), nullable=True),
        sa.Column("repaid_recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('new', 'claimed', 'repaid')", name=op.f("ck_claims_state")),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_claims_amount_positive")),
        sa.ForeignKeyConstraint(["award_id"], ["awards.id"], name=op.f("fk_claims_award_id_awards")),
        sa.ForeignKeyConstraint(["claimed_by_id"], ["users.id"], name=op.f("fk_claims_claimed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_claims_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repaid_recorded_by_id"], ["users.id"], name=op.f("fk_claims_repaid_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    op.create_index(op.f("ix_claims_award_id"), "claims", ["award_id"], unique=False)
    op.create_index(op.f("ix_claims_proposal_id"), "claims", ["proposal_id"], unique=False)

    op.create_table(
        "drawdowns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("cost_item", sa.String(length=300), server_default="", nullable=False),
        sa.Column("requested_at", foerdercall.timeutil.UTCDateTime(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", foerdercall.timeutil.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("refusal", sa.Text(), server_default="", nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('new', 'requested', 'paid', 'refused')", name=op.f("ck_drawdowns_state")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_drawdowns_amount_positive")),
        sa.ForeignKeyConstraint(["award_id"], ["awards.id"], name=op.f("fk_drawdowns_award_id_awards")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_drawdowns_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_drawdowns_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_drawdowns_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_drawdowns_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drawdowns")),
    )
    op.create_index(op.f("ix_drawdowns_award_id"), "drawdowns", ["award_id"], unique=False)
    op.create_index(op.f("ix_drawdowns_proposal_id"), "drawdowns", ["proposal_id"], unique=False)

    # added in place (no batch copy: the payments table's state triggers on SQLite stay as they are)
    op.add_column("payments", sa.Column("tranche", sa.String(length=20), server_default="", nullable=False))
    op.add_column("payments", sa.Column("invoice", sa.String(length=100), server_default="", nullable=False))
    # added in place (no batch copy: the calls table's state triggers on SQLite stay as they are)
    op.add_column("calls", sa.Column("grant_conditions", sa.Text(), server_default="", nullable=False))
    # added in place (no batch copy: the reports table's state triggers on SQLite stay as they are)
    op.add_column("reports", sa.Column("cost_lines", sa.JSON(), server_default="[]", nullable=False))


def downgrade():
    op.drop_column("reports", "cost_lines")
    op.drop_column("calls", "grant_conditions")
    op.drop_column("payments", "invoice")
    op.drop_column("payments", "tranche")
    op.drop_index(op.f("ix_drawdowns_proposal_id"), table_name="drawdowns")
    op.drop_index(op.f("ix_drawdowns_award_id"), table_name="drawdowns")

    op.drop_table("drawdowns")
    op.drop_index(op.f("ix_claims_proposal_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_award_id"), table_name="claims")

    op.drop_table("claims")
