"""offices as data: the offices table (KA and AfWiFö, deciding by default) and each call's deciding offices;
a call's fields of action carry their labels (German and English)

Revision ID: 3b5d7f9a1c2e
Revises: 8c9d0e1f2a3b
Create Date: 2026-12-05 00:00:00

"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3b5d7f9a1c2e"
down_revision = "8c9d0e1f2a3b"
branch_labels = None
depends_on = None

# The two offices foerdercall was built for; from here on they are data an admin keeps.
FIRST_OFFICES = [
    {
        "key": "KA",
        "short_name": "KA",
        "name": "Kulturamt",
        "address": "Martin-Luther-Ring 4–6, 04109 Leipzig",
    },
    {
        "key": "AfWiFoe",
        "short_name": "AfWiFö",
        "name": "Amt für Wirtschaftsförderung",
        "address": "Martin-Luther-Ring 4–6, 04109 Leipzig",
    },
]

# The fields of action every call had so far, with the labels the code gave them.
FIELD_LABELS = {
    "networks": ("Netzwerke", "Networks"),
    "education": ("Bildung & Beschäftigung", "Education & employment"),
    "marketing": ("Marketing", "Marketing"),
    "urban_development": ("Stadtentwicklung", "Urban development"),
    "financing": ("Finanzierung", "Financing"),
}


def _fields_of_action(to_rows: bool) -> None:
    calls = sa.table("calls", sa.column("id", sa.Integer()), sa.column("fields_of_action", sa.JSON()))
    conn = op.get_bind()
    for call_id, fields in conn.execute(sa.select(calls.c.id, calls.c.fields_of_action)).all():
        if to_rows:
            new = [
                {"key": k, "de": FIELD_LABELS.get(k, (k, k))[0], "en": FIELD_LABELS.get(k, (k, k))[1]}
                for k in fields or []
            ]
        else:
            new = [f["key"] for f in fields or []]
        conn.execute(calls.update().where(calls.c.id == call_id).values(fields_of_action=new))


def upgrade():
    offices = op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("short_name", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("head_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("email", sa.String(length=254), server_default="", nullable=False),
        sa.Column("address", sa.Text(), server_default="", nullable=False),
        sa.Column("decides_by_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("length(key) > 0 AND length(short_name) > 0", name=op.f("ck_offices_named")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
        sa.UniqueConstraint("key", name=op.f("uq_offices_key")),
        sa.UniqueConstraint("short_name", name=op.f("uq_offices_short_name")),
    )
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # stored as naive UTC
    op.bulk_insert(
        offices,
        [
            {**o, "head_name": "", "email": "", "decides_by_default": True, "created_at": created}
            for o in FIRST_OFFICES
        ],
    )
    # every call so far was decided by these two (plain ADD COLUMN on both databases)
    op.add_column("calls", sa.Column("deciding_offices", sa.JSON(), server_default="[]", nullable=False))
    op.execute('UPDATE calls SET deciding_offices = \'["KA", "AfWiFoe"]\'')
    _fields_of_action(to_rows=True)


def downgrade():
    _fields_of_action(to_rows=False)
    op.drop_column("calls", "deciding_offices")
    op.drop_table("offices")
