"""mail templates per call and outcome

Revision ID: c1e2f3a4b5d6
Revises: b0d2e3f4a5c7
Create Date: 2026-11-24 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c1e2f3a4b5d6"
down_revision = "b0d2e3f4a5c7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("field_of_action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active_subject", sa.String(length=300), nullable=False),
        sa.Column("active_body", sa.Text(), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=False),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("lang IN ('de', 'en')", name=op.f("ck_mail_templates_lang")),
        sa.CheckConstraint("active_version <= version", name=op.f("ck_mail_templates_active_version")),
        sa.CheckConstraint(
            "NOT active OR active_version > 0", name=op.f("ck_mail_templates_active_previewed")
        ),
        sa.ForeignKeyConstraint(
            ["activated_by_id"], ["users.id"], name=op.f("fk_mail_templates_activated_by_id_users")
        ),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_mail_templates_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_mail_templates_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["edited_by_id"], ["users.id"], name=op.f("fk_mail_templates_edited_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_templates")),
        sa.UniqueConstraint(
            "call_id", "kind", "lang", "state", "field_of_action", name=op.f("uq_mail_templates_call_id")
        ),
    )
    with op.batch_alter_table("mail_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_templates_call_id"), ["call_id"], unique=False)

    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_column("template_version")
        batch_op.drop_column("template_id")

    with op.batch_alter_table("mail_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_templates_call_id"))

    op.drop_table("mail_templates")
