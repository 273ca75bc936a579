"""A form definition is data; one that cannot be filled in is refused with every problem, each naming its
section or question (issue 14, "Bad input")."""

from __future__ import annotations

import copy
import json

import pytest
from appform.cases import EVERY_TYPE, FIELDS

from foerdercall.appform.default import DEFAULT_FORM, default_form
from foerdercall.appform.definition import DefinitionError, parse_definition, with_fields_of_action
from foerdercall.proposals.models import ANSWER_FIELDS


def _refused(data) -> list[str]:
    with pytest.raises(DefinitionError) as exc:
        parse_definition(data)
    return exc.value.problems


def _one_question(**q):
    return {"sections": [{"key": "s", "title": {"de": "Teil"}, "questions": [q]}]}


def test_the_default_form_is_todays_questions_with_their_columns_as_keys():
    form = default_form()
    keys = [q.key for q in form.questions()]
    # then the required attachments of then, their keys the kinds of the files uploaded for them
    assert keys == [
        "title",
        "field_of_action",
        *ANSWER_FIELDS[1:],
        "requested_amount",
        "place",
        "targets",
        "offer",
        "declarations",
    ]
    assert [q.type for q in form.questions()][-2:] == ["attachment", "attachment"]
    assert form.question("offer").label.get("en") == "Offer with cost calculation (PDF)"
    assert form.by_role("title").key == "title" and form.by_role("amount").key == "requested_amount"
    assert form.by_role("field_of_action").key == "field_of_action"
    assert form.question("description").label.de == "Konzept"
    assert form.question("leipzig_relation").label.get("en") == "Connection to Leipzig"
    assert form.personal_keys() == ["team"]
    # the place and the targets (issue 15) are asked, not required: a call's office makes them so in its form
    assert [q.key for q in form.questions() if not q.required] == ["place", "targets"]
    assert form.by_role("place").key == "place"
    assert [i.key for _q, i in form.indicators()] == [
        "participants",
        "events",
        "enterprises",
        "jobs",
        "reach",
        "follow_up_funding",
    ]


def test_a_definition_survives_json_and_back():
    for data in (DEFAULT_FORM, EVERY_TYPE):
        form = parse_definition(data)
        again = parse_definition(json.loads(json.dumps(form.to_data())))
        assert again == form


def test_the_calls_fields_of_action_become_the_choices():
    form = with_fields_of_action(parse_definition(EVERY_TYPE), FIELDS)
    q = form.by_role("field_of_action")
    assert q.choice_keys() == ["music", "film"] and q.choices[0].label.get("en") == "Music"
    assert form.question("venue").choice_keys() == ["inside", "outside"]  # other choice questions unchanged


def test_english_falls_back_to_german():
    form = parse_definition(_one_question(key="q", type="short_text", label={"de": "Frage"}))
    assert form.question("q").label.get("en") == "Frage"


def test_every_problem_is_named_at_once():
    data = {
        "sections": [
            {
                "key": "one",
                "title": {"de": "Eins"},
                "questions": [
                    {"key": "title", "type": "short_text", "label": {"de": "Titel"}, "max_length": 301},
                    {"key": "title", "type": "long_text", "label": {"de": "Noch ein Titel"}},
                    {"key": "Bad Key", "type": "short_text", "label": {"de": "Schlecht"}},
                    {"key": "nolabel", "type": "short_text", "label": {"de": " ", "en": "Only English"}},
                    {"key": "kind", "type": "essay", "label": {"de": "Aufsatz"}},
                    {"key": "pick", "type": "single_choice", "label": {"de": "Wahl"}},
                    {
                        "key": "twice",
                        "type": "multiple_choice",
                        "label": {"de": "Doppelt"},
                        "choices": [{"key": "a", "label": {"de": "A"}}, {"key": "a", "label": {"de": "A2"}}],
                    },
                ],
            },
            {
                "key": "one",
                "title": {"de": ""},
                "questions": [
                    {"key": "n", "type": "number", "label": {"de": "Zahl"}, "min": 10, "max": 1},
                    {
                        "key": "rows",
                        "type": "table",
                        "label": {"de": "Tabelle"},
                        "min_rows": 5,
                        "max_rows": 2,
                        "columns": [{"key": "c", "label": {"de": "C"}}],
                    },
                    {"key": "nocols", "type": "table", "label": {"de": "Leer"}, "columns": []},
                    {"key": "neg", "type": "long_text", "label": {"de": "Negativ"}, "max_length": -5},
                    {"key": "amount", "type": "money", "label": {"de": "Summe"}, "role": "amount"},
                    {"key": "amount2", "type": "money", "label": {"de": "Summe 2"}, "role": "amount"},
                    {"key": "wrongrole", "type": "long_text", "label": {"de": "Rolle"}, "role": "title"},
                ],
            },
        ]
    }
    problems = _refused(data)
    expected = [
        ("Frage „Titel“ (title)", "Höchstlänge"),
        ("Frage „Noch ein Titel“ (title)", "schon vor"),
        ("Frage „Schlecht“ (Bad Key)", "Schlüssel"),
        ("Frage „–“ (nolabel)", "deutsche Beschriftung"),
        ("Frage „Aufsatz“ (kind)", "Unbekannter Fragetyp „essay“"),
        ("Frage „Wahl“ (pick)", "Antwortmöglichkeit"),
        ("Frage „Doppelt“ (twice)", "kommt zweimal vor"),
        ("Abschnitt „–“ (one)", "kommt zweimal vor"),
        ("Abschnitt „–“ (one)", "deutsche Titel"),
        ("Frage „Zahl“ (n)", "Untergrenze"),
        ("Frage „Tabelle“ (rows)", "Untergrenze"),
        ("Frage „Leer“ (nocols)", "Spalte"),
        ("Frage „Negativ“ (neg)", "ganze Zahl ab 0"),
        ("Frage „Summe 2“ (amount2)", "hat schon die Frage amount"),
        ("Frage „Rolle“ (wrongrole)", "passt nicht zum Fragetyp"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)
    assert len(problems) == len(expected), problems


@pytest.mark.parametrize(
    ("question", "what"),
    [
        ({"type": "short_text", "max_length": 0}, "Höchstlänge"),
        ({"type": "long_text", "max_length": 20001}, "Höchstlänge"),
        ({"type": "long_text", "max_length": "viel"}, "ganze Zahl"),
        ({"type": "number", "min": "abc"}, "keine mögliche Zahl"),
        ({"type": "number", "min": "1.5"}, "keine mögliche Zahl"),  # an integer question
        ({"type": "number", "max": "1e309", "integer": False}, "keine mögliche Zahl"),
        ({"type": "money", "min": -1}, "Betrag in Cent"),
        ({"type": "money", "min": 500, "max": 100}, "Untergrenze"),
        ({"type": "date", "min": "2026-02-31"}, "kein Datum"),
        ({"type": "date", "min": "2027-01-01", "max": "2026-01-01"}, "Untergrenze"),
        (
            {"type": "multiple_choice", "choices": [{"key": "a", "label": {"de": "A"}}], "min_picks": 2},
            "mehr Antworten",
        ),
        ({"type": "multiple_choice", "choices": [{"key": "a", "label": {"de": ""}}]}, "Antwort 1 (a)"),
        ({"type": "single_choice", "choices": [{"key": "A", "label": {"de": "A"}}]}, "Antwort 1"),
        ({"type": "attachment", "max_files": 0}, "Dateien"),
        (
            {"type": "table", "columns": [{"key": "c", "label": {"de": "C"}, "type": "long_text"}]},
            "Spaltentyp",
        ),
        (
            {"type": "table", "columns": [{"key": "c", "label": {"de": "C"}}], "max_rows": 201},
            "höchstens 200",
        ),
        ({"type": "table", "role": "milestone_plan", "columns": [{"key": "c", "label": {"de": "C"}}]}, "due"),
        ({"type": "indicators", "indicators": []}, "Indikator"),
        ({"type": "indicators", "indicators": [{"key": "a", "label": {"de": "A"}}] * 2}, "zweimal"),
        ({"type": "declaration", "role": "nonsense"}, "Unbekannte Rolle"),
        (
            {"type": "single_choice", "role": "amount", "choices": [{"key": "a", "label": {"de": "A"}}]},
            "passt nicht",
        ),
    ],
)
def test_an_impossible_question_is_refused_by_its_name(question, what):
    problems = _refused(_one_question(key="frage", label={"de": "Meine Frage"}, **question))
    assert problems and all(p.startswith("Frage „Meine Frage“ (frage): ") for p in problems), problems
    assert any(what in p for p in problems), problems


@pytest.mark.parametrize(
    "data", [None, [], {"sections": "x"}, {"sections": [1]}, {"sections": [{"key": "s"}]}]
)
def test_what_is_no_form_is_refused_with_a_message(data):
    assert _refused(data)


def test_a_key_of_41_characters_is_refused_and_one_of_40_taken():
    parse_definition(_one_question(key="a" * 40, type="short_text", label={"de": "Lang"}))
    assert _refused(_one_question(key="a" * 41, type="short_text", label={"de": "Lang"}))


def test_the_field_of_action_question_needs_no_choices_of_its_own():
    data = copy.deepcopy(DEFAULT_FORM)
    assert "choices" not in data["sections"][0]["questions"][1]
    parse_definition(data)


@pytest.mark.parametrize("key", ["action", "advice_requested", "csrf_token"])
def test_a_key_the_draft_page_uses_itself_is_refused(key):
    (problem,) = _refused(_one_question(key=key, type="short_text", label={"de": "Frage"}))
    assert (
        f"Der Schlüssel „{key}“ ist für die Seite selbst vergeben." in problem and "Frage „Frage“" in problem
    )
