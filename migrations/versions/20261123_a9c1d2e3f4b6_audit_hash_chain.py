"""audit trail chained by hashes (tamper-evident)

Revision ID: a9c1d2e3f4b6
Revises: f7a1c2d3e4b5
Create Date: 2026-11-23 22:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9c1d2e3f4b6"
down_revision = "f7a1c2d3e4b5"
branch_labels = None
depends_on = None


def upgrade():
    from datetime import UTC
    from types import SimpleNamespace

    from foerdercall.audit.trail import GENESIS, event_hash

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    # chain the events written so far, in the order they were written
    events = sa.table(
        "audit_events",
        *(
            sa.column(c)
            for c in (
                "id",
                "at",
                "actor_id",
                "actor_name",
                "actor_office",
                "action",
                "object_type",
                "object_id",
                "call_id",
                "proposal_id",
                "from_state",
                "to_state",
                "reason",
                "seq",
                "prev_hash",
                "hash",
            )
        ),
        sa.column("data", sa.JSON),
    )
    conn = op.get_bind()
    prev, seq = GENESIS, 0
    for row in conn.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        seq += 1
        ev = SimpleNamespace(
            **{**row, "seq": seq, "at": row["at"].replace(tzinfo=UTC), "data": row["data"] or {}}
        )
        digest = event_hash(prev, ev)
        conn.execute(
            events.update().where(events.c.id == row["id"]).values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    conn.execute(
        sa.table("audit_chain_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash"))
        .insert()
        .values(id=1, last_seq=seq, last_hash=prev)
    )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
        batch_op.create_index("ix_audit_events_object", ["object_type", "object_id"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_object")
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("audit_chain_head")
