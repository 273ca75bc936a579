"""a call's required attachments become attachment questions of its application form (German and English label,
required, at most 10 files of a kind, as in the default form); the table required_attachments goes

An attachment's key stays the kind of the files uploaded for it; where a question of the form already has that key
(a cost plan as a table and as a PDF), the attachment question gets the key with "_pdf" and the files follow.

Revision ID: 7f9b1d3e5a6c
Revises: 6e8a0c2d4f5b
Create Date: 2026-12-05 03:00:00

"""

import copy
import importlib.util
import pathlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7f9b1d3e5a6c"
down_revision = "6e8a0c2d4f5b"
branch_labels = None
depends_on = None

SECTION = {"key": "attachments", "title": {"de": "Anlagen", "en": "Attachments"}}
ENGLISH = {  # the labels of the attachments every call asked for until now
    "Leistungsangebot mit Kalkulation (PDF)": "Offer with cost calculation (PDF)",
    "Eigenerklärungen (PDF)": "Self-declarations (PDF)",
}
MAX_FILES = 10  # as the default form's (the quota of a proposal's files holds anyway)


def _default_form() -> dict:
    """The default form of the previous revision (a call stored without a form of its own has it)."""
    path = pathlib.Path(__file__).with_name("20261205_6e8a0c2d4f5b_application_form.py")
    spec = importlib.util.spec_from_file_location("application_form_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return copy.deepcopy(module.DEFAULT_FORM)


calls = sa.table("calls", sa.column("id", sa.Integer()), sa.column("application_form", sa.JSON()))
required = sa.table(
    "required_attachments",
    sa.column("call_id", sa.Integer()),
    sa.column("position", sa.Integer()),
    sa.column("key", sa.String()),
    sa.column("label", sa.String()),
)
proposals = sa.table("proposals", sa.column("id", sa.Integer()), sa.column("call_id", sa.Integer()))
attachments = sa.table("attachments", sa.column("proposal_id", sa.Integer()), sa.column("kind", sa.String()))


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(required.c.call_id, required.c.key, required.c.label).order_by(
            required.c.call_id, required.c.position
        )
    ).all()
    by_call: dict[int, list] = {}
    for row in rows:
        by_call.setdefault(row.call_id, []).append(row)
    default = _default_form()
    for call_id, asked in by_call.items():
        form = conn.execute(sa.select(calls.c.application_form).where(calls.c.id == call_id)).scalar_one()
        form = (
            copy.deepcopy(form) if isinstance(form, dict) and form.get("sections") else copy.deepcopy(default)
        )
        keys = {q.get("key") for s in form["sections"] for q in s.get("questions", [])}
        sections = {s.get("key") for s in form["sections"]}
        questions = []
        for row in asked:
            key = row.key
            while key in keys:
                key = f"{key}_pdf"[:40]
            keys.add(key)
            if key != row.key:  # the files uploaded for it follow
                of_call = sa.select(proposals.c.id).where(proposals.c.call_id == call_id)
                conn.execute(
                    attachments.update()
                    .where(attachments.c.proposal_id.in_(of_call), attachments.c.kind == row.key)
                    .values(kind=key)
                )
            questions.append(
                {
                    "key": key,
                    "type": "attachment",
                    "label": {"de": row.label, "en": ENGLISH.get(row.label, "")},
                    "help": {"de": "", "en": ""},
                    "required": True,
                    "personal": False,
                    "max_files": MAX_FILES,
                }
            )
        section_key = SECTION["key"]
        while section_key in sections:
            section_key = f"{section_key}_files"[:40]
        form["sections"].append({**copy.deepcopy(SECTION), "key": section_key, "questions": questions})
        conn.execute(calls.update().where(calls.c.id == call_id).values(application_form=form))
    op.drop_table("required_attachments")


def downgrade():
    op.create_table(
        "required_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_required_attachments_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_required_attachments")),
        sa.UniqueConstraint("call_id", "key", name=op.f("uq_required_attachments_call_id")),
    )
    op.create_index(
        op.f("ix_required_attachments_call_id"), "required_attachments", ["call_id"], unique=False
    )
    conn = op.get_bind()
    for call_id, form in conn.execute(sa.select(calls.c.id, calls.c.application_form)).all():
        if not isinstance(form, dict) or not form.get("sections"):
            continue
        form = copy.deepcopy(form)
        position = 0
        for section in form["sections"]:
            kept = []
            for q in section.get("questions", []):
                if q.get("type") != "attachment":
                    kept.append(q)
                    continue
                label = (q.get("label") or {}).get("de", q["key"])[:300]
                conn.execute(
                    required.insert().values(call_id=call_id, position=position, key=q["key"], label=label)
                )
                position += 1
            section["questions"] = kept
        form["sections"] = [s for s in form["sections"] if s["questions"]]
        conn.execute(calls.update().where(calls.c.id == call_id).values(application_form=form))
