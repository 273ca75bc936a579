"""The application form is the call's data and the answers the proposal's: the migration keeps what was stored
(on SQLite and PostgreSQL), the form is fixed at publication like the criteria, and the role answers are mirrored
into the columns that ranking, budget and lists read."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
import sqlalchemy as sa
from appform.cases import EVERY_TYPE
from conftest import fill_draft, migrated_app
from sqlalchemy import text

from foerdercall.appform.default import DEFAULT_FORM
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db

# the default form as the migrations of issue 14 stored it: before the place and the targets (issue 15)
FORM_OF_ISSUE_14 = {"sections": [s for s in DEFAULT_FORM["sections"] if s["key"] != "impact"]}


def _stored_call(conn, at, form=None) -> None:
    """An applicant and a published call as an earlier revision stored them (the form: when calls had forms)."""
    conn.execute(
        text(
            "INSERT INTO users (email, name, organisation, password_hash, locale, head_of_office, active, "
            "created_at) VALUES ('a@example.org', 'Ada', '', 'x', 'de', false, true, :at)"
        ),
        {"at": at},
    )
    columns, values, params = "", "", {}
    if form is not None:
        columns, values, params = ", application_form", ", :form", {"form": json.dumps(form)}
    conn.execute(
        text(
            "INSERT INTO calls (code, title, description, fields_of_action, state, mode, legal_regime, "
            "procedure_type, procedure_reason, estimated_value_cents, budget_cents, max_amount_cents, "
            "committed_cents, opens_at, submission_deadline, clarification_days, acceptance_days, "
            "implementation_months, scale_max, min_total, version, next_file_seq, created_at, "
            f"row_version{columns}) VALUES ('KW2026', 'Aufruf 2026', '', :fields, 'published', 'procurement', "
            f"'', '', '', 0, 6000000, 2500000, 0, :at, :at, 14, 28, 10, 5, 50, 1, 1, :at, 1{values})"
        ),
        {"fields": '[{"key": "networks", "de": "Netzwerke", "en": "Networks"}]', "at": at, **params},
    )


def _required_attachments(conn, *rows) -> None:
    """The call's required attachments as the table of before issue 14 held them."""
    for position, (key, label) in enumerate(rows):
        conn.execute(
            text(
                "INSERT INTO required_attachments (call_id, position, key, label) "
                "SELECT id, :position, :key, :label FROM calls"
            ),
            {"position": position, "key": key, "label": label},
        )


def test_a_proposal_stored_before_keeps_its_answers(fresh_database, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = migrated_app(fresh_database, tmp_path)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        downgrade(directory=directory, revision="5d7f9b1c3e4a")  # before calls had their own forms
        db.session.remove()
        at = dt.datetime(2026, 1, 5, 9, 0)
        with db.engine.begin() as conn:
            _stored_call(conn, at)
            _required_attachments(
                conn,
                ("offer", "Leistungsangebot mit Kalkulation (PDF)"),
                ("declarations", "Eigenerklärungen (PDF)"),
            )
            for title, team, amount in (
                ("Netzwerk Plagwitz", "Ada und Ben\nZeile 2 ✓", 1234567),
                ("", "", 0),
            ):
                conn.execute(
                    text(
                        "INSERT INTO proposals (call_id, applicant_id, state, title, summary, description, "
                        "work_plan, team, leipzig_relation, field_of_action, requested_amount_cents, "
                        "advice_requested, created_at, updated_at, row_version) SELECT c.id, u.id, 'draft', "
                        ":title, 'Kurz', 'Konzept „mit“ Anführungszeichen', 'Plan', :team, 'Leipzig', "
                        "'networks', :amount, false, :at, :at, 1 FROM calls c, users u"
                    ),
                    {"title": title, "team": team, "amount": amount, "at": at},
                )
        upgrade(directory=directory)
        (form,) = db.session.execute(text("SELECT application_form FROM calls")).one()
        assert (
            form if isinstance(form, dict) else json.loads(form)
        ) == FORM_OF_ISSUE_14  # attachments as questions
        stored = [
            a if isinstance(a, dict) else json.loads(a)
            for (a,) in db.session.execute(text("SELECT answers FROM proposals ORDER BY id")).all()
        ]
        assert stored[0] == {
            "title": "Netzwerk Plagwitz",
            "field_of_action": "networks",
            "summary": "Kurz",
            "description": "Konzept „mit“ Anführungszeichen",
            "work_plan": "Plan",
            "team": "Ada und Ben\nZeile 2 ✓",
            "leipzig_relation": "Leipzig",
            "requested_amount": 1234567,
        }
        assert "title" not in stored[1] and "requested_amount" not in stored[1]  # none given: none stored
        # the stored answers are answers to the call's form as it is checked today
        from foerdercall.appform.answers import check_answers
        from foerdercall.calls.models import Call

        call = db.session.scalars(db.select(Call)).one()
        checked = check_answers(
            call.form_definition, stored[0], complete=True, attachments={"offer": 1, "declarations": 1}
        )
        assert checked.errors == {} and checked.answers == stored[0]
        db.session.remove()
        db.engine.dispose()


def test_stored_required_attachments_become_questions_and_their_files_follow(fresh_database, tmp_path):
    """A call whose form asks for a cost plan as a table and, as before, as a PDF: the PDF question gets its own
    key and the files uploaded for it follow; the labels keep their text, the known ones get their English."""
    from flask_migrate import downgrade, upgrade

    app = migrated_app(fresh_database, tmp_path)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        downgrade(directory=directory, revision="6e8a0c2d4f5b")  # calls have forms; attachments their table
        db.session.remove()
        at = dt.datetime(2026, 1, 5, 9, 0)
        own = copy.deepcopy(DEFAULT_FORM)
        own["sections"] = own["sections"][:1]  # the form of then: no attachments
        own["sections"][0]["questions"].append(
            {
                "key": "cost_plan",
                "type": "table",
                "label": {"de": "Kostenplan", "en": "Cost plan"},
                "columns": [{"key": "item", "label": {"de": "Posten"}, "type": "short_text"}],
            }
        )
        with db.engine.begin() as conn:
            _stored_call(conn, at, own)
            _required_attachments(
                conn,
                ("cost_plan", "Kosten- und Finanzierungsplan (PDF)"),
                ("declarations", "Eigenerklärungen (PDF)"),
            )
            conn.execute(
                text(
                    "INSERT INTO proposals (call_id, applicant_id, state, title, summary, description, "
                    "work_plan, team, leipzig_relation, field_of_action, requested_amount_cents, "
                    "advice_requested, created_at, updated_at, row_version, answers) SELECT c.id, u.id, 'draft', "
                    "'', '', '', '', '', '', '', 0, false, :at, :at, 1, '{}' FROM calls c, users u"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO attachments (proposal_id, kind, filename, storage_name, content_type, size, "
                    "sha256, uploaded_by_id, uploaded_at) SELECT p.id, 'cost_plan', 'kosten.pdf', 'x1', "
                    "'application/pdf', 10, :sha, p.applicant_id, :at FROM proposals p"
                ),
                {"sha": "0" * 64, "at": at},
            )
        upgrade(directory=directory)
        from foerdercall.calls.models import Call
        from foerdercall.proposals.models import Attachment

        call = db.session.scalars(db.select(Call)).one()
        asked = [q for q in call.form_definition.questions() if q.type == "attachment"]
        assert [(q.key, q.label.de, q.label.en, q.required) for q in asked] == [
            ("cost_plan_pdf", "Kosten- und Finanzierungsplan (PDF)", "", True),
            ("declarations", "Eigenerklärungen (PDF)", "Self-declarations (PDF)", True),
        ]
        assert call.form_definition.question("cost_plan").type == "table"
        assert [a.kind for a in db.session.scalars(db.select(Attachment))] == ["cost_plan_pdf"]
        db.session.remove()
        assert not sa.inspect(db.engine).has_table("required_attachments")
        # and back: the table again, the form without its attachment questions
        downgrade(directory=directory, revision="6e8a0c2d4f5b")
        rows = db.session.execute(text("SELECT key, label FROM required_attachments ORDER BY position")).all()
        assert [tuple(r) for r in rows] == [
            ("cost_plan_pdf", "Kosten- und Finanzierungsplan (PDF)"),
            ("declarations", "Eigenerklärungen (PDF)"),
        ]
        db.session.remove()
        db.engine.dispose()


def test_the_form_is_fixed_at_publication_and_corrected_as_a_new_version(app, world):
    from foerdercall.calls.models import CallVersion
    from foerdercall.calls.operations import correct_call, update_call

    call = world.call  # published
    assert call.application_form == DEFAULT_FORM
    version = db.session.scalars(db.select(CallVersion).where(CallVersion.call_id == call.id)).one()
    assert version.snapshot["application_form"] == DEFAULT_FORM  # version 1, made at publication
    changed = copy.deepcopy(DEFAULT_FORM)
    changed["sections"][0]["questions"][2]["label"]["de"] = "Worum geht es?"
    with pytest.raises(ActionRefused):
        update_call(call, world.ka, application_form=changed)
        db.session.flush()
    db.session.rollback()
    db.session.refresh(call)
    assert call.application_form == DEFAULT_FORM
    new = correct_call(call, world.ka, "Frage klarer gefasst", application_form=changed)
    db.session.commit()
    assert new.snapshot["application_form"] == changed
    assert call.form_definition.question("summary").label.de == "Worum geht es?"


def test_a_form_that_cannot_be_filled_in_is_refused_naming_the_question(app, world):
    from foerdercall.calls.operations import create_call

    broken = copy.deepcopy(EVERY_TYPE)
    broken["sections"][0]["questions"][3]["choices"] = []
    broken["sections"][1]["questions"][0]["key"] = "title"
    with pytest.raises(ActionRefused) as exc:
        create_call(
            world.ka,
            code="X27",
            title="X",
            budget_cents=100,
            max_amount_cents=100,
            opens_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            submission_deadline=dt.datetime(2027, 2, 1, tzinfo=dt.UTC),
            application_form=broken,
        )
    assert "Frage „Zielgruppen“ (audience)" in str(exc.value)
    assert "Frage „Beantragte Summe“ (title)" in str(exc.value)


def test_the_draft_answers_follow_the_columns_and_the_roles_fill_the_columns(app, world):
    from foerdercall.proposals.operations import start_draft

    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant, amount=12_345_00, title="Netzwerk Plagwitz")
    db.session.commit()
    assert p.answers["title"] == "Netzwerk Plagwitz" and p.answers["requested_amount"] == 12_345_00
    assert p.answers["field_of_action"] == p.field_of_action
    definition = world.call.form_definition
    p.set_answers({**p.answers, "title": "Anders", "requested_amount": 500_00}, definition)
    assert (p.title, p.requested_amount_cents) == ("Anders", 500_00)
