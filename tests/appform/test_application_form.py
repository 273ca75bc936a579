"""The form an applicant fills in, generated from the call's form definition: labels in the reader's language,
one rule per type (check_answers), tables that grow without JavaScript, the typed text kept on an error."""

from __future__ import annotations

import pytest
from appform.cases import EVERY_TYPE, FIELDS, valid_answers
from werkzeug.datastructures import MultiDict

from foerdercall.appform.default import default_form
from foerdercall.appform.definition import parse_definition, with_fields_of_action
from forms.application import application_form

FORM = with_fields_of_action(parse_definition(EVERY_TYPE), FIELDS)

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite"], indirect=True
)  # a bare form: one database is enough


def _posted(answers) -> MultiDict:
    """Answers as a browser posts them (tables and targets as prefixed fields, several choices repeated)."""
    data = MultiDict()
    for key, value in answers.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for n, row in enumerate(value):
                for column, cell in row.items():
                    data.add(f"{key}-{n}-{column}", cell)
        elif isinstance(value, dict):
            for indicator, number in value.items():
                data.add(f"{key}-{indicator}", number)
        elif isinstance(value, list):
            for item in value:
                data.add(key, item)
        else:
            data.add(key, value)
    return data


def _form(app, lang, data=None, **kw):
    cls = application_form(FORM, lang)
    with app.test_request_context("/"):
        form = cls(formdata=data, meta={"csrf": False}, **kw)
        if data is not None:
            form.validate()
        return form


def test_one_field_per_question_with_its_label_in_the_readers_language(app):
    de, en = _form(app, "de"), _form(app, "en")
    keys = [q.key for q in FORM.questions() if q.type != "attachment"]
    assert all(k in de._fields for k in keys) and "cv" not in de._fields  # a file is uploaded, not typed
    assert de.title.label.text == "Titel (Pflichtangabe)" and de.team.label.text == "Team"
    assert en.title.label.text == "Title (required)" and en.summary.description == "Two or three sentences."
    assert [c.label for c in en.field.choices][1:] == ["Music", "Film"]
    assert en.targets.form.visitors.label.text == "Visitors (Personen)"
    assert de.title.render_kw == {"aria-required": "true"}
    assert 'type="date"' in de.start()
    assert len(de.costs.entries) == 1  # min_rows 1: one empty row to start


@pytest.mark.parametrize(("lang", "typed"), [("de", "12.500,00"), ("en", "12,500.00")])
def test_money_in_the_readers_way(app, lang, typed):
    answers = {**valid_answers(FORM, lang), "amount": typed}
    form = _form(app, lang, _posted(answers))
    assert form.answers()["amount"] == 1_250_000, form.errors
    assert form.errors == {}
    # shown again from the stored answers the same way
    shown = _form(app, lang, answers=form.answers())
    assert shown.amount.data == typed


def test_a_complete_submission_and_the_stored_answers_shown_again(app):
    answers = valid_answers(FORM, "de")
    form = _form(app, "de", _posted(answers), complete=True)
    # the attachment is not part of the form: its file is checked where it is uploaded
    assert form.errors == {}, form.errors
    stored = form.answers()
    assert stored["costs"] == [{"item": "Auftakt", "sum": 100000}] and stored["audience"] == ["kids"]
    again = _form(app, "de", answers=stored)
    assert again.costs.entries[0].form.sum.data == "1.000,00" and again.targets.form.visitors.data == "10"
    assert again.audience.data == ["kids"] and again.truth.data is True


def test_a_wrong_value_is_a_message_on_its_field_and_the_text_is_kept(app):
    answers = {
        "title": "Fest",
        "amount": "zwölf Euro",
        "start": "31.02.2027",
        "participants": "1e309",
        "costs": [{"item": "Miete", "sum": "viel"}],
        "field": "x" * 5000,
        "audience": ["nope"],
    }
    form = _form(app, "de", _posted(answers))
    assert set(form.errors) == {"amount", "start", "participants", "costs", "field", "audience"}, form.errors
    assert form.amount.errors == ["Bitte einen Betrag in Euro eingeben, z. B. 1.234,56."]
    assert form.start.errors == ["Diesen Tag gibt es nicht."]
    assert "Zeile 1, Spalte „Betrag“" in form.costs.errors[0]
    assert 'value="zwölf Euro"' in form.amount() and form.costs.entries[0].form.sum.data == "viel"
    assert form.answers() == {"title": "Fest"}  # what could be read


def test_a_submission_names_every_missing_answer_on_its_field(app):
    form = _form(app, "de", _posted({"title": "Fest"}), complete=True)
    assert set(form.errors) == {
        "summary",
        "field",
        "venue",
        "start",
        "amount",
        "costs",
        "targets",
        "truth",
        "audience",
    }


def test_a_table_grows_by_a_button_without_javascript(app):
    data = _posted({"costs": [{"item": "Miete", "sum": "100"}]})
    data.add("costs-add", "Zeile hinzufügen")
    cls = application_form(FORM, "de")
    with app.test_request_context("/"):
        form = cls(formdata=data, meta={"csrf": False})
        assert form.added_row() is True
        assert len(form.costs.entries) == 2 and form.costs.entries[0].form.item.data == "Miete"
        assert 'name="costs-1-item"' in form.costs.entries[1].form.item()
        plain = cls(formdata=_posted({"title": "x"}), meta={"csrf": False})
        assert plain.added_row() is False


def test_the_default_form_asks_todays_questions(app):
    form_cls = application_form(with_fields_of_action(default_form(), FIELDS), "de")
    with app.test_request_context("/"):
        form = form_cls(meta={"csrf": False})
    assert [f.name for f in form][:8] == [
        "title",
        "field_of_action",
        "summary",
        "description",
        "work_plan",
        "team",
        "leipzig_relation",
        "requested_amount",
    ]
    assert form.description.label.text == "Konzept (Pflichtangabe)"
