"""Answers checked against the call's form: one rule per question type; a wrong value is a message on its
question with the typed text kept; a submission names every missing answer."""

from __future__ import annotations

import pytest
from appform.cases import EVERY_TYPE, FIELDS, cases, valid_answers

from foerdercall.appform.answers import check_answers, personal_keys
from foerdercall.appform.default import default_form
from foerdercall.appform.definition import parse_definition, with_fields_of_action

FORM = with_fields_of_action(parse_definition(EVERY_TYPE), FIELDS)


def _questions():
    return [q for q in FORM.questions() if q.type != "attachment"]


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("q", _questions(), ids=lambda q: q.key)
def test_every_case_of_every_type(q, lang):
    for raw, accepted in cases(q, lang):
        checked = check_answers(FORM, {q.key: raw}, complete=False, lang=lang)
        assert (q.key not in checked.errors) == accepted, (q.key, raw, checked.errors.get(q.key))
        if not accepted:
            assert checked.errors[q.key].strip()
            assert checked.kept[q.key] == raw  # shown again, not lost
            assert q.key not in checked.answers
        assert set(checked.errors) <= {q.key}  # other questions are not touched


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_complete_set_is_accepted_and_json_able(lang):
    import json

    checked = check_answers(FORM, valid_answers(FORM, lang), complete=True, lang=lang, attachments={"cv": 1})
    assert checked.errors == {}
    assert json.loads(json.dumps(checked.answers)) == checked.answers
    a = checked.answers
    assert a["amount"] == 100000 and a["start"] == "2027-01-01" and a["truth"] is True
    assert a["costs"] == [{"item": "Auftakt", "sum": 100000}]
    assert a["targets"] == {"visitors": 10, "events": 10}
    # the stored answers are accepted again as they are
    assert check_answers(FORM, a, complete=True, attachments={"cv": 1}).answers == a


def test_money_as_each_language_types_it():
    q = {
        "sections": [
            {"key": "s", "title": "S", "questions": [{"key": "m", "type": "money", "label": "Betrag"}]}
        ]
    }
    form = parse_definition(q)
    for lang, raw in [
        ("de", "12.500,00"),
        ("en", "12,500.00"),
        ("de", "12500"),
        ("en", "12500"),
        ("de", "12500,5"),
    ]:
        checked = check_answers(form, {"m": raw}, complete=False, lang=lang)
        assert checked.answers["m"] == 1250000 + (50 if raw.endswith(",5") else 0), (lang, raw)
    # "12.500" is twelve thousand five hundred euros in German, "12.50" twelve euros fifty in English
    assert check_answers(form, {"m": "12.500"}, complete=False, lang="de").answers["m"] == 1250000
    assert check_answers(form, {"m": "12.50"}, complete=False, lang="en").answers["m"] == 1250


def test_a_submission_names_every_missing_answer():
    checked = check_answers(FORM, {"title": "Sommerfest", "audience": []}, complete=True)
    assert "title" not in checked.errors
    missing = {"summary", "field", "venue", "start", "amount", "costs", "targets", "cv", "truth", "audience"}
    assert set(checked.errors) == missing, checked.errors
    assert "bestätigen" in checked.errors["truth"] and "Anlage hoch" in checked.errors["cv"]
    # a draft save with the same answers has no complaint
    assert check_answers(FORM, {"title": "Sommerfest"}, complete=False).errors == {}


def test_a_table_names_the_row_and_column_and_keeps_the_others():
    rows = [{"item": "Miete", "sum": "1.000,00"}, {"item": "Technik", "sum": "viel"}, {"item": "", "sum": ""}]
    checked = check_answers(FORM, {"costs": rows, "title": "Fest"}, complete=False)
    assert "Zeile 2, Spalte „Betrag“" in checked.errors["costs"] and checked.kept["costs"] == rows
    assert checked.answers == {"title": "Fest"}
    rows[1]["sum"] = "250"
    checked = check_answers(FORM, {"costs": rows}, complete=True)
    assert checked.answers["costs"] == [{"item": "Miete", "sum": 100000}, {"item": "Technik", "sum": 25000}]
    missing = check_answers(FORM, {"costs": [{"item": "Miete"}]}, complete=True).errors["costs"]
    assert "Zeile 1, Spalte „Betrag“" in missing


def test_a_text_loses_its_control_characters_and_a_short_text_its_line_breaks():
    checked = check_answers(
        FORM, {"title": "Fest\r\nBcc: x\x00", "summary": "Zeile 1\nZeile 2\x07"}, complete=False
    )
    assert checked.answers == {"title": "Fest Bcc: x", "summary": "Zeile 1\nZeile 2"}


def test_the_personal_answers_are_listed():
    assert personal_keys(FORM) == ["cv", "team"]
    assert personal_keys(default_form()) == ["team"]


def test_limits_are_shown_in_the_readers_language():
    assert (
        check_answers(FORM, {"amount": "1,00"}, complete=False).errors["amount"]
        == "Bitte mindestens 1.000,00."
    )
    assert (
        check_answers(FORM, {"start": "31.12.2026"}, complete=False).errors["start"]
        == "Bitte mindestens 01.01.2027."
    )
