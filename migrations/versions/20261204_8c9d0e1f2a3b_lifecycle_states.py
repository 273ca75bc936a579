"""every lifecycle as data: a state column on openings, standstills (the objection), milestones, reports and
payments, filled from today's columns; a CHECK per state column (proposals and calls too)

Revision ID: 8c9d0e1f2a3b
Revises: 7a8b9c0d1e2f
Create Date: 2026-12-04 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8c9d0e1f2a3b"
down_revision = "7a8b9c0d1e2f"
branch_labels = None
depends_on = None

# The states of workflows/ at this revision (frozen here: a later change of a workflow's states migrates its
# CHECK anew).
STATES = {
    "proposals": (
        "draft",
        "submitted",
        "clarification",
        "eligible",
        "ineligible",
        "in_review",
        "reviewed",
        "approved",
        "standstill",
        "rejected",
        "awarded",
        "lapsed",
        "in_implementation",
        "final_report_submitted",
        "completed",
        "withdrawn",
        "terminated",
    ),
    "calls": ("draft", "published", "closed", "decided", "in_implementation", "archived"),
    "openings": ("sealed", "requested", "opened"),
    "standstills": ("no_objection", "open", "resolved"),
    "milestones": ("planned", "overdue", "reported", "accepted"),
    "reports": ("draft", "submitted", "accepted", "changes_requested"),
    "payments": ("pending", "paid"),
}
# new columns: (initial state, the state of each existing row from today's columns)
NEW = {
    "openings": ("sealed", "CASE WHEN confirmed_at IS NOT NULL THEN 'opened' ELSE 'requested' END"),
    "standstills": (
        "no_objection",
        "CASE WHEN resolved_at IS NOT NULL THEN 'resolved' WHEN objection_at IS NOT NULL THEN 'open' "
        "ELSE 'no_objection' END",
    ),
    "milestones": (
        "planned",
        "CASE WHEN accepted_at IS NOT NULL THEN 'accepted' WHEN reported_at IS NOT NULL THEN 'reported' "
        "WHEN overdue_at IS NOT NULL THEN 'overdue' ELSE 'planned' END",
    ),
    "payments": ("pending", "'paid'"),
}


def _values(table: str) -> str:
    return ", ".join(f"'{s}'" for s in STATES[table])


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    for table, (initial, fill) in NEW.items():
        op.add_column(table, sa.Column("state", sa.String(length=20), server_default=initial, nullable=False))
        op.execute(f"UPDATE {table} SET state = {fill}")
    # the report's status was already its state (submitted, accepted, changes_requested)
    op.alter_column("reports", "status", new_column_name="state")
    for table in STATES:
        name = f"ck_{table}_state"
        if _sqlite():
            # SQLite adds a CHECK only by copying the table (which, referenced by foreign keys and referring to
            # users, is not safe here): triggers refuse the same values, as a constraint would
            for when in ("INSERT", "UPDATE OF state"):
                op.execute(
                    f"CREATE TRIGGER {name}_{when.split()[0].lower()} BEFORE {when} ON {table} "
                    f"WHEN NEW.state NOT IN ({_values(table)}) "
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
                )
        else:
            op.create_check_constraint(op.f(name), table, f"state IN ({_values(table)})")


def downgrade():
    for table in STATES:
        name = f"ck_{table}_state"
        if _sqlite():
            for when in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{when}")
        else:
            op.drop_constraint(op.f(name), table, type_="check")
    op.alter_column("reports", "state", new_column_name="status")
    for table in NEW:
        op.drop_column(table, "state")
