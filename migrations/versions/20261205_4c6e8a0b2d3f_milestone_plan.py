"""a call's milestone plan as data (the milestones every award of the call starts with)

Revision ID: 4c6e8a0b2d3f
Revises: 3b5d7f9a1c2e
Create Date: 2026-12-05 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4c6e8a0b2d3f"
down_revision = "3b5d7f9a1c2e"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("calls", sa.Column("milestone_plan", sa.JSON(), server_default="[]", nullable=False))
    # the plan the code made for every award so far: kick-off after a month, the mid-term half-way
    calls = sa.table(
        "calls",
        sa.column("id", sa.Integer()),
        sa.column("implementation_months", sa.Integer()),
        sa.column("milestone_plan", sa.JSON()),
    )
    conn = op.get_bind()
    for call_id, months in conn.execute(sa.select(calls.c.id, calls.c.implementation_months)).all():
        plan = [
            {"de": "Projektstart", "en": "Kick-off", "month": 1},
            {"de": "Halbzeit: Zwischenstand", "en": "Mid-term", "month": max(1, (months or 12) // 2)},
        ]
        conn.execute(calls.update().where(calls.c.id == call_id).values(milestone_plan=plan))


def downgrade():
    op.drop_column("calls", "milestone_plan")
