"""a proposal's new state "declined": the applicant declined the award (its CHECK anew)

Revision ID: d4e6f8a0b2c4
Revises: c3d5e7f9a1b2
Create Date: 2026-12-05 14:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d4e6f8a0b2c4"
down_revision = "c3d5e7f9a1b2"
branch_labels = None
depends_on = None

# The proposal states of workflows/ at this revision (frozen here, as in 8c9d0e1f2a3b).
BEFORE = (
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
)
AFTER = (*BEFORE, "declined")
NAME = "ck_proposals_state"


def _check(states: tuple[str, ...]) -> None:
    values = ", ".join(f"'{s}'" for s in states)
    if op.get_bind().dialect.name == "sqlite":  # triggers stand in for the CHECK (see 8c9d0e1f2a3b)
        for when in ("INSERT", "UPDATE OF state"):
            op.execute(f"DROP TRIGGER IF EXISTS {NAME}_{when.split()[0].lower()}")
            op.execute(
                f"CREATE TRIGGER {NAME}_{when.split()[0].lower()} BEFORE {when} ON proposals "
                f"WHEN NEW.state NOT IN ({values}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {NAME}'); END"
            )
    else:
        op.drop_constraint(op.f(NAME), "proposals", type_="check")
        op.create_check_constraint(op.f(NAME), "proposals", f"state IN ({values})")


def upgrade():
    _check(AFTER)


def downgrade():
    op.execute("UPDATE proposals SET state = 'lapsed' WHERE state = 'declined'")
    _check(BEFORE)
