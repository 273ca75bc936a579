"""proposal_scores keep each proposal's weighted total and knock-out for the mean and the median (jsonb on PostgreSQL)

Revision ID: 2d3e4f5a6b7c
Revises: 1c2d3e4f5a6b
Create Date: 2026-11-24 02:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2d3e4f5a6b7c"
down_revision = "1c2d3e4f5a6b"
branch_labels = None
depends_on = None


def _total(weights, scale_max, values):
    # frozen copy of foerdercall.ranking.service.weighted_total (a migration does not follow later code changes)
    weighted = sum(w * v for w, v in zip(weights, values, strict=True) if v is not None)
    w = sum(w for w, v in zip(weights, values, strict=True) if v is not None)
    return round(weighted / w / scale_max * 100, 2) if w else None


def _knocked(minimums, values):
    return any(ko is not None and v is not None and v < ko for ko, v in zip(minimums, values, strict=True))


def upgrade():
    with op.batch_alter_table("proposal_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_mean", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("total_median", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("knocked_mean", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("knocked_median", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":  # the ranking orders by the elements: binary JSON
        for column in ("means", "medians"):
            op.execute(f"ALTER TABLE proposal_scores ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")
    backfill(op.get_bind())


def backfill(bind):
    """The rows already there: from their per-criterion aggregates and their call's catalogue."""
    calls = {}
    for call_id, scale_max, weight, ko in bind.execute(
        sa.text(
            "SELECT c.id, c.scale_max, k.weight, k.knockout_min FROM calls c JOIN criteria k ON k.call_id = c.id "
            "ORDER BY c.id, k.position, k.id"
        )
    ):
        entry = calls.setdefault(call_id, (scale_max, [], []))
        entry[1].append(weight)
        entry[2].append(ko)
    scores = sa.table(
        "proposal_scores",
        sa.column("proposal_id"),
        sa.column("total_mean"),
        sa.column("total_median"),
        sa.column("knocked_mean"),
        sa.column("knocked_median"),
    )
    for pid, call_id, means, medians in bind.execute(
        sa.text("SELECT proposal_id, call_id, means, medians FROM proposal_scores")
    ).all():
        if call_id not in calls:
            continue
        scale_max, weights, minimums = calls[call_id]
        means = json.loads(means) if isinstance(means, str) else means
        medians = json.loads(medians) if isinstance(medians, str) else medians
        if len(means) != len(weights):
            continue
        bind.execute(
            scores.update()
            .where(scores.c.proposal_id == pid)
            .values(
                total_mean=_total(weights, scale_max, means),
                total_median=_total(weights, scale_max, medians),
                knocked_mean=_knocked(minimums, means),
                knocked_median=_knocked(minimums, medians),
            )
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in ("means", "medians"):
            op.execute(f"ALTER TABLE proposal_scores ALTER COLUMN {column} TYPE json USING {column}::json")
    with op.batch_alter_table("proposal_scores", schema=None) as batch_op:
        batch_op.drop_column("knocked_median")
        batch_op.drop_column("knocked_mean")
        batch_op.drop_column("total_median")
        batch_op.drop_column("total_mean")
