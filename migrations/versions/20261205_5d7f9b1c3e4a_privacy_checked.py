"""a call's privacy notice marked as checked by the data-protection officer

Revision ID: 5d7f9b1c3e4a
Revises: 4c6e8a0b2d3f
Create Date: 2026-12-05 00:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d7f9b1c3e4a"
down_revision = "4c6e8a0b2d3f"
branch_labels = None
depends_on = None


def upgrade():
    # added in place (no batch copy: the calls table's state triggers on SQLite stay as they are)
    op.add_column("calls", sa.Column("privacy_checked_at", sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column's foreign key only with the column
        op.execute(
            "ALTER TABLE calls ADD COLUMN privacy_checked_by_id INTEGER "
            "CONSTRAINT fk_calls_privacy_checked_by_id_users REFERENCES users (id)"
        )
    else:
        op.add_column("calls", sa.Column("privacy_checked_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_calls_privacy_checked_by_id_users"), "calls", "users", ["privacy_checked_by_id"], ["id"]
        )
    # calls published before: their notice was checked as the process asked (the mark is new, not the rule)
    calls = sa.table(
        "calls",
        sa.column("published_at", sa.DateTime()),
        sa.column("privacy_checked_at", sa.DateTime()),
    )
    op.execute(
        calls.update()
        .where(calls.c.published_at.is_not(None))
        .values(privacy_checked_at=calls.c.published_at)
    )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_calls_privacy_checked_by_id_users"), "calls", type_="foreignkey")
    op.drop_column("calls", "privacy_checked_by_id")
    op.drop_column("calls", "privacy_checked_at")
