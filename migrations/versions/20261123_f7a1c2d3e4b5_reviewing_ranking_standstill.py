"""reviewing: declines and per-call settings; ranking; standstill before large awards

Revision ID: f7a1c2d3e4b5
Revises: e5c3f2a4d9b6
Create Date: 2026-11-23 21:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f7a1c2d3e4b5"
down_revision = "e5c3f2a4d9b6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declined_at", sa.DateTime(), nullable=False),
        sa.Column("reassigned_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('conflict', 'workload', 'other')", name=op.f("ck_review_declines_decline_kind")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_review_declines_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_review_declines_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_declines")),
    )
    with op.batch_alter_table("review_declines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_declines_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_declines_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "standstills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("informed", sa.Integer(), nullable=False),
        sa.Column("objection_at", sa.DateTime(), nullable=True),
        sa.Column("objection", sa.Text(), nullable=False),
        sa.Column("objection_recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["objection_recorded_by_id"],
            ["users.id"],
            name=op.f("fk_standstills_objection_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_standstills_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_standstills_resolved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_standstills_started_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standstills")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_standstills_proposal_id")),
    )
    with op.batch_alter_table("standstills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standstills_ends_at"), ["ends_at"], unique=False)

    op.create_table(
        "proposal_scores",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("means", sa.JSON(), nullable=False),
        sa.Column("medians", sa.JSON(), nullable=False),
        sa.Column("min_points", sa.Float(), nullable=True),
        sa.Column("max_points", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_proposal_scores_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_scores_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_proposal_scores")),
    )
    with op.batch_alter_table("proposal_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_scores_call_id"), ["call_id"], unique=False)

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_points", sa.Float(), nullable=True))

    _backfill_scores()

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reviewers_per_proposal", sa.Integer(), server_default="2", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reviewer_from_each_office", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("justify_every_score", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("blind_review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("hide_applicant", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("score_aggregation", sa.String(length=10), server_default="mean", nullable=False)
        )
        batch_op.add_column(
            sa.Column("standstill_threshold_cents", sa.BigInteger(), server_default="5000000", nullable=False)
        )


def _backfill_scores():
    """The aggregates of the reviews submitted before this revision, as ranking.service.refresh_scores
    writes them with each submission (kept here as of this revision)."""
    import datetime as dt
    import statistics

    conn = op.get_bind()
    criteria = {}  # call id -> [(criterion id, weight)] in catalogue order
    for call_id, cid, weight in conn.execute(
        sa.text("SELECT call_id, id, weight FROM criteria ORDER BY call_id, position, id")
    ):
        criteria.setdefault(call_id, []).append((cid, weight))
    scale = dict(conn.execute(sa.text("SELECT id, scale_max FROM calls")).all())
    scores = {}
    for review_id, cid, score in conn.execute(
        sa.text("SELECT review_id, criterion_id, score FROM review_scores")
    ):
        scores.setdefault(review_id, {})[cid] = score
    per_proposal = {}
    for review_id, proposal_id, call_id in conn.execute(
        sa.text(
            "SELECT r.id, r.proposal_id, p.call_id FROM reviews r JOIN proposals p ON p.id = r.proposal_id "
            "WHERE r.submitted_at IS NOT NULL ORDER BY r.id"
        )
    ):
        per_proposal.setdefault((proposal_id, call_id), []).append(review_id)
    reviews = sa.table("reviews", sa.column("id", sa.Integer()), sa.column("total_points", sa.Float()))
    aggregates = sa.table(
        "proposal_scores",
        *(
            sa.column(n)
            for n in ("proposal_id", "call_id", "reviews", "min_points", "max_points", "updated_at")
        ),
        sa.column("means", sa.JSON()),
        sa.column("medians", sa.JSON()),
    )
    for (proposal_id, call_id), review_ids in per_proposal.items():
        crit = criteria.get(call_id, [])
        vectors = [[scores.get(rid, {}).get(cid) for cid, _w in crit] for rid in review_ids]
        columns = [[v[i] for v in vectors if v[i] is not None] for i in range(len(crit))]
        totals = []
        for rid, v in zip(review_ids, vectors, strict=True):
            w = sum(crit[i][1] for i, x in enumerate(v) if x is not None)
            t = (
                sum(crit[i][1] * x for i, x in enumerate(v) if x is not None) / w / scale[call_id] * 100
                if w
                else None
            )
            totals.append(t)
            conn.execute(reviews.update().where(reviews.c.id == rid).values(total_points=t))
        known = [t for t in totals if t is not None]
        conn.execute(
            aggregates.insert().values(
                proposal_id=proposal_id,
                call_id=call_id,
                reviews=len(review_ids),
                means=[sum(c) / len(c) if c else None for c in columns],
                medians=[float(statistics.median(c)) if c else None for c in columns],
                min_points=min(known) if known else None,
                max_points=max(known) if known else None,
                updated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
        )


def downgrade():
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("total_points")

    with op.batch_alter_table("proposal_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_scores_call_id"))

    op.drop_table("proposal_scores")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("standstill_threshold_cents")
        batch_op.drop_column("score_aggregation")
        batch_op.drop_column("hide_applicant")
        batch_op.drop_column("blind_review")
        batch_op.drop_column("justify_every_score")
        batch_op.drop_column("reviewer_from_each_office")
        batch_op.drop_column("reviewers_per_proposal")

    with op.batch_alter_table("standstills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standstills_ends_at"))

    op.drop_table("standstills")
    with op.batch_alter_table("review_declines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_declines_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_review_declines_proposal_id"))

    op.drop_table("review_declines")
