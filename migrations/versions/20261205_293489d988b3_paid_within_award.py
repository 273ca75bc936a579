"""the sum of an award's payments, kept on the award and held within it by the database (issue 19): filled from
the payments booked so far

Revision ID: 293489d988b3
Revises: 6f31d98d44af
Create Date: 2026-12-05 21:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "293489d988b3"
down_revision = "6f31d98d44af"
branch_labels = None
depends_on = None

NAME = "ck_awards_paid_within_award"
RULE = "paid_cents >= 0 AND released_cents >= 0 AND paid_cents + released_cents <= amount_cents"
NEW_RULE = (  # the same, of the row being written (a trigger's NEW)
    "NEW.paid_cents >= 0 AND NEW.released_cents >= 0 AND NEW.paid_cents + NEW.released_cents <= NEW.amount_cents"
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    op.add_column("awards", sa.Column("paid_cents", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        "UPDATE awards SET paid_cents = COALESCE((SELECT SUM(payments.amount_cents) FROM payments "
        "WHERE payments.award_id = awards.id AND payments.state = 'paid'), 0)"
    )
    if _sqlite():
        # SQLite adds a CHECK only by copying the table (referenced by foreign keys, referring to users: not safe
        # here): triggers refuse the same rows, as the constraint does on PostgreSQL
        for when in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {NAME}_{when.lower()} BEFORE {when} ON awards "
                f"WHEN NOT ({NEW_RULE}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {NAME}'); END"
            )
    else:
        op.create_check_constraint(op.f(NAME), "awards", RULE)


def downgrade():
    if _sqlite():
        for when in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {NAME}_{when}")
    else:
        op.drop_constraint(op.f(NAME), "awards", type_="check")
    op.drop_column("awards", "paid_cents")
