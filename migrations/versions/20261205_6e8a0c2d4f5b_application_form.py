"""a call's application form as data (sections of typed questions) and each proposal's answers by question (JSON;
JSONB on PostgreSQL); stored calls get the default form of the 2011-style call, stored proposals its answers from
their columns (the columns stay: the role answers are mirrored into them)

Revision ID: 6e8a0c2d4f5b
Revises: 5d7f9b1c3e4a
Create Date: 2026-12-05 01:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "6e8a0c2d4f5b"
down_revision = "5d7f9b1c3e4a"
branch_labels = None
depends_on = None

# the questions fixed in code until now (foerdercall/appform/default.py as of this migration), keyed by their columns
DEFAULT_FORM = {
    "sections": [
        {
            "key": "proposal",
            "title": {"de": "Ihr Angebot", "en": "Your proposal"},
            "questions": [
                {
                    "key": "title",
                    "type": "short_text",
                    "label": {"de": "Titel der Maßnahme", "en": "Project title"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "role": "title",
                    "max_length": 300,
                },
                {
                    "key": "field_of_action",
                    "type": "single_choice",
                    "label": {"de": "Handlungsfeld", "en": "Field of action"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "role": "field_of_action",
                },
                {
                    "key": "summary",
                    "type": "long_text",
                    "label": {"de": "Kurzbeschreibung", "en": "Summary"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "max_length": 2000,
                },
                {
                    "key": "description",
                    "type": "long_text",
                    "label": {"de": "Konzept", "en": "Concept"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "max_length": 20000,
                },
                {
                    "key": "work_plan",
                    "type": "long_text",
                    "label": {"de": "Arbeits- und Zeitplan", "en": "Work plan and schedule"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "max_length": 20000,
                },
                {
                    "key": "team",
                    "type": "long_text",
                    "label": {"de": "Team", "en": "Team"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": True,
                    "max_length": 10000,
                },
                {
                    "key": "leipzig_relation",
                    "type": "long_text",
                    "label": {"de": "Bezug zu Leipzig", "en": "Connection to Leipzig"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "max_length": 10000,
                },
                {
                    "key": "requested_amount",
                    "type": "money",
                    "label": {"de": "Angebotspreis (netto, €)", "en": "Offer price (net, €)"},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "role": "amount",
                },
            ],
        }
    ]
}
TEXT_COLUMNS = ("title", "field_of_action", "summary", "description", "work_plan", "team", "leipzig_relation")


def upgrade():
    op.add_column("calls", sa.Column("application_form", sa.JSON(), server_default="{}", nullable=False))
    op.add_column(
        "proposals",
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default="{}",
            nullable=False,
        ),
    )
    conn = op.get_bind()
    calls = sa.table("calls", sa.column("id", sa.Integer()), sa.column("application_form", sa.JSON()))
    conn.execute(calls.update().values(application_form=DEFAULT_FORM))
    proposals = sa.table(
        "proposals",
        sa.column("id", sa.Integer()),
        sa.column("requested_amount_cents", sa.BigInteger()),
        sa.column("answers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        *(sa.column(name, sa.Text()) for name in TEXT_COLUMNS),
    )
    rows = conn.execute(
        sa.select(proposals.c.id, proposals.c.requested_amount_cents, *(proposals.c[n] for n in TEXT_COLUMNS))
    ).all()
    for row in rows:
        answers = {name: row._mapping[name] for name in TEXT_COLUMNS if row._mapping[name]}
        if row.requested_amount_cents:
            answers["requested_amount"] = row.requested_amount_cents
        conn.execute(proposals.update().where(proposals.c.id == row.id).values(answers=answers))


def downgrade():
    op.drop_column("proposals", "answers")
    op.drop_column("calls", "application_form")
