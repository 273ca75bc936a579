"""What a reader sees of the answers: by the sections of the call's form, each in the reader's format, the labels
of the choices and the columns; personal answers hidden from whom the call hides the applicants."""

from __future__ import annotations

from appform.cases import EVERY_TYPE, FIELDS, valid_answers

from foerdercall.appform.answers import check_answers
from foerdercall.appform.definition import parse_definition, with_fields_of_action
from foerdercall.appform.display import shown_answers


def _shown(app, lang, personal=True):
    definition = with_fields_of_action(parse_definition(EVERY_TYPE), FIELDS)
    with app.test_request_context():
        checked = check_answers(definition, valid_answers(definition), complete=False)
        assert checked.errors == {}
        return definition, shown_answers(definition, checked.answers, lang, personal=personal)


def _flat(sections):
    return {a.question.key: a for s in sections for a in s.answers}


def test_each_answer_is_shown_in_the_readers_format_by_section(app):
    definition, sections = _shown(app, "de")
    assert [s.title for s in sections] == [s.title.de for s in definition.sections if s.questions]
    shown = _flat(sections)
    for q in definition.questions():
        if q.type == "money":
            assert shown[q.key].text.endswith("€") and "," in shown[q.key].text, shown[q.key]
        if q.type == "date":
            assert shown[q.key].text.count(".") == 2, shown[q.key]  # 31.03.2027
        if q.type == "single_choice":
            assert shown[q.key].text == q.choices[0].label.de  # the label, not the key
        if q.type == "declaration":
            assert shown[q.key].text == "bestätigt"
        if q.type == "table":
            assert shown[q.key].head == tuple(c.label.de for c in q.columns) and shown[q.key].rows
        assert q.type != "attachment" or q.key not in shown  # files: the page lists them
    _definition, english = _shown(app, "en")
    money = next(q for q in definition.questions() if q.type == "money")
    assert _flat(english)[money.key].text.startswith("€")


def test_personal_answers_are_hidden_not_left_out(app):
    definition, sections = _shown(app, "de", personal=False)
    shown = _flat(sections)
    personal = [q.key for q in definition.questions() if q.personal and q.type != "attachment"]
    assert personal and all(shown[k].hidden and shown[k].text == "" for k in personal)
    assert not any(a.hidden for k, a in shown.items() if k not in personal)
