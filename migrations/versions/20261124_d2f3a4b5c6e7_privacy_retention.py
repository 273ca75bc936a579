"""privacy notice and retention per call, objection outcome

Revision ID: d2f3a4b5c6e7
Revises: c1e2f3a4b5d6
Create Date: 2026-11-24 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d2f3a4b5c6e7"
down_revision = "c1e2f3a4b5d6"
branch_labels = None
depends_on = None


def upgrade():
    # the call: its privacy notice ('' = the generated template) and the retention of unfunded proposals
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privacy_notice", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("retention_months", sa.Integer(), server_default="6", nullable=False))

    # sign-offs: one per office and decision round; a reopened decision voids its round (kept for the record)
    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_round", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.Text(), server_default="", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_sign_offs_voided_by_id_users"), "users", ["voided_by_id"], ["id"]
        )
        batch_op.drop_constraint("uq_sign_offs_proposal_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_sign_offs_proposal_id"), ["proposal_id", "office", "decision_round"]
        )

    # standstills: the objection's outcome; a standstill closed by a reopened decision, a new one may follow
    with op.batch_alter_table("standstills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("objection_outcome", sa.String(length=10), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_standstills_closed_by_id_users"), "users", ["closed_by_id"], ["id"]
        )
        batch_op.drop_constraint("uq_standstills_proposal_id", type_="unique")
        batch_op.create_index(batch_op.f("ix_standstills_proposal_id"), ["proposal_id"], unique=False)
    op.execute("UPDATE standstills SET objection_outcome = 'dismissed' WHERE resolved_at IS NOT NULL")

    op.create_table(
        "anonymisations",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(), nullable=False),
        sa.Column("files_deleted", sa.Integer(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("account_anonymised", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_anonymisations_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_anonymisations_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_anonymisations")),
    )
    with op.batch_alter_table("anonymisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anonymisations_call_id"), ["call_id"], unique=False)


def downgrade():
    with op.batch_alter_table("anonymisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anonymisations_call_id"))
    op.drop_table("anonymisations")

    with op.batch_alter_table("standstills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standstills_proposal_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_standstills_proposal_id"), ["proposal_id"])
        batch_op.drop_constraint(batch_op.f("fk_standstills_closed_by_id_users"), type_="foreignkey")
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("objection_outcome")

    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_sign_offs_proposal_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_sign_offs_proposal_id"), ["proposal_id", "office"])
        batch_op.drop_constraint(batch_op.f("fk_sign_offs_voided_by_id_users"), type_="foreignkey")
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("decision_round")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("retention_months")
        batch_op.drop_column("privacy_notice")
