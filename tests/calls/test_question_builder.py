"""The call editor's question builder (issue 14): a call's application form as rows an official edits without
training, with a preview exactly as applicants see it; a published call's form changes only by a correction."""

import html
import re

import pytest
from conftest import login, publish
from test_editor import draft_call

from foerdercall.appform.default import default_form
from foerdercall.calls.models import Call, CallVersion
from foerdercall.extensions import db
from foerdercall.models import AuditEvent
from forms.formbuilder import rows_of


@pytest.fixture
def ka(app, world):
    client = app.test_client()
    login(client, world.ka.email)
    return client


def post_data(rows: list[dict], **extra) -> dict:
    """The builder's post for these rows (as ``rows_of`` gives them): a checkbox is sent only when ticked."""
    data: dict = {}
    for i, row in enumerate(rows):
        for name, value in row.items():
            if name in ("required", "personal"):
                if value:
                    data[f"items-{i}-{name}"] = "y"
            else:
                data[f"items-{i}-{name}"] = value
    data.update(extra)
    return data


def stored_rows(call: Call) -> list[dict]:
    return rows_of(call.stored_form, "de")


def unchanged(call: Call) -> bool:
    """The call's stored form is still the default one it was created with (a refused post saved nothing)."""
    db.session.expire_all()
    return db.session.get(Call, call.id).stored_form == default_form()


def preview_of(page: str) -> str:
    return page.split('id="preview"', 1)[1]


def test_the_builder_shows_the_calls_form_as_rows_and_the_preview_as_applicants_see_it(ka, world):
    call = draft_call(world)
    page = ka.get(f"/calls/{call.id}/form").get_data(as_text=True)
    labels = re.findall(r'name="items-\d+-label_de"[^>]*value="([^"]*)"', page)
    assert labels[:3] == ["Ihr Angebot", "Titel der Maßnahme", "Handlungsfeld"]
    assert "Anlagen" in [html.unescape(v) for v in labels]
    assert "Das Verfahren verwendet diese Frage als: Titel des Angebots" in page
    preview = preview_of(page)
    assert "Titel der Maßnahme (Pflichtangabe)" in preview and "Obergrenze je Maßnahme: 25.000,00" in preview
    assert "Netzwerke" in preview or "networks" in preview  # the call's field of action is offered


def test_a_new_question_is_saved_with_a_readable_key_and_shown_in_the_preview(ka, world):
    call = draft_call(world)
    rows = stored_rows(call)
    # "Zeile hinzufügen" without JavaScript: the rows again, with an empty row at the end, nothing saved
    page = ka.post(f"/calls/{call.id}/form", data=post_data(rows, row_action="items:add")).get_data(
        as_text=True
    )
    assert f'name="items-{len(rows)}-label_de"' in page
    assert unchanged(call)
    rows.insert(
        2,
        {
            "kind": "single_choice",
            "label_de": "Zielgruppe",
            "label_en": "Target group",
            "help_de": "Wen erreicht die Maßnahme vor allem?",
            "required": "True",
            "options": "Kinder | Children\nJugendliche | Young people\nErwachsene",
        },
    )
    rows.insert(3, {"kind": "long_text", "label_de": "Wirkung über Leipzig hinaus", "high": "1500"})
    response = ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save"), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Das Antragsformular ist gespeichert." in page
    definition = db.session.get(Call, call.id).stored_form
    target = definition.question("zielgruppe")
    assert target is not None and target.required and target.help.de.startswith("Wen erreicht")
    assert [(c.key, c.label.de, c.label.en) for c in target.choices] == [
        ("kinder", "Kinder", "Children"),
        ("jugendliche", "Jugendliche", "Young people"),
        ("erwachsene", "Erwachsene", ""),
    ]
    assert definition.question("wirkung_ueber_leipzig_hinaus").max_length == 1500
    assert [q.key for q in definition.sections[0].questions][:4] == [
        "title",
        "zielgruppe",
        "wirkung_ueber_leipzig_hinaus",
        "field_of_action",
    ]
    assert "Zielgruppe (Pflichtangabe)" in preview_of(page) and "Jugendliche" in preview_of(page)
    assert db.session.query(AuditEvent).filter_by(action="update_call").count() >= 1


def test_wrong_rows_are_refused_each_named_and_nothing_typed_is_lost(ka, world):
    call = draft_call(world)
    rows = stored_rows(call)
    rows.append({"kind": "multiple_choice", "label_de": "Formate", "options": ""})
    rows.append({"kind": "number", "label_de": "", "low": "zehn", "high": "5"})
    rows.append({"kind": "table", "label_de": "Kosten", "options": "Posten | Item | Farbe"})
    n = len(rows)
    response = ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save"))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert f"Eintrag {n - 1}: Bitte geben Sie eine Zahl ein" in page
    assert f"Eintrag {n}: Spalte 1: Die Art „Farbe“ kenne ich nicht" in page
    assert 'value="zehn"' in page and 'value="Formate"' in page  # as typed
    assert unchanged(call)
    # the row errors mended, the form's own rules speak, naming the question
    rows[-2].update(label_de="Teilnehmende", low="10")
    rows[-1]["options"] = "Posten | Item | Text"
    page = html.unescape(
        ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save")).get_data(as_text=True)
    )
    assert "Frage „Formate“ (formate): Eine Auswahlfrage braucht mindestens eine Antwortmöglichkeit." in page
    assert "Frage „Teilnehmende“ (teilnehmende): Die Untergrenze liegt über der Obergrenze." in page
    assert unchanged(call)


def test_the_questions_the_procedure_needs_keep_their_kind_and_stay(ka, world):
    call = draft_call(world)
    rows = stored_rows(call)
    title = next(r for r in rows if r.get("role") == "title")
    title["kind"] = "long_text"
    page = html.unescape(
        ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save")).get_data(as_text=True)
    )
    assert "Diese Frage liefert dem Verfahren „Titel des Angebots“; ihre Art bleibt „Kurzer Text“." in page
    rows = [r for r in stored_rows(call) if r.get("role") != "amount"]
    page = html.unescape(
        ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save")).get_data(as_text=True)
    )
    assert "Das Formular braucht die Frage nach den beantragten Betrag (Betrag)." in page
    assert unchanged(call)


def test_a_milestone_plan_row_becomes_the_plan_the_award_is_made_from(ka, world):
    call = draft_call(world)
    rows = stored_rows(call)
    rows.append({"kind": "section", "label_de": "Zeitplan", "label_en": "Schedule"})
    rows.append({"kind": "milestone_plan", "label_de": "Ihre Meilensteine", "required": "True", "high": "6"})
    response = ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save"))
    assert response.status_code == 302
    plan = db.session.get(Call, call.id).stored_form.by_role("milestone_plan")
    assert plan is not None and plan.max_rows == 6
    assert [(c.key, c.type) for c in plan.columns] == [
        ("title", "short_text"),
        ("due", "date"),
        ("share", "number"),
    ]
    page = ka.get(f"/calls/{call.id}/form").get_data(as_text=True)
    assert "Meilensteinplan" in page and "Fällig am" in preview_of(page)


def test_a_published_calls_form_changes_only_as_a_correction_with_its_reason(ka, world):
    call = draft_call(world)
    publish(call, world.ka)
    db.session.commit()
    rows = stored_rows(call)
    summary = next(r for r in rows if r.get("key") == "summary")
    summary["help_de"] = "Höchstens eine halbe Seite."
    page = html.unescape(
        ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save")).get_data(as_text=True)
    )
    assert "Bitte begründen Sie die Berichtigung." in page and "Höchstens eine halbe Seite." in page
    assert db.session.get(Call, call.id).stored_form.question("summary").help.de == ""
    response = ka.post(
        f"/calls/{call.id}/form",
        data=post_data(rows, action="save", reason="Hinweis zur Länge ergänzt"),
        follow_redirects=True,
    )
    assert "als Version 2 veröffentlicht" in response.get_data(as_text=True)
    call = db.session.get(Call, call.id)
    assert call.version == 2 and call.stored_form.question("summary").help.de == "Höchstens eine halbe Seite."
    version = db.session.query(CallVersion).filter_by(call_id=call.id, version=2).one()
    assert version.reason == "Hinweis zur Länge ergänzt"
    assert version.snapshot["application_form"]["sections"][0]["questions"][2]["help"]["de"] == (
        "Höchstens eine halbe Seite."
    )


def test_the_preview_alone_for_the_script_shows_the_rows_as_typed(ka, world):
    call = draft_call(world)
    rows = stored_rows(call)
    rows.append(
        {"kind": "declaration", "label_de": "Ich habe die Förderrichtlinie gelesen.", "required": "True"}
    )
    page = ka.post(f"/calls/{call.id}/form/preview", data=post_data(rows)).get_data(as_text=True)
    assert "Ich habe die Förderrichtlinie gelesen." in page and "<html" not in page
    assert unchanged(call)


def test_an_indicator_row_says_how_it_adds_up_its_field_and_whether_it_has_decimals(ka, world):
    """Indicator lines (issue 15): "Deutsch | English | Einheit | Summe, Mittelwert oder Anzahl | Handlungsfeld |
    Dezimal"; only the German label is needed, an unknown way to add up is named."""
    call = draft_call(world)
    rows = stored_rows(call)
    targets = next(r for r in rows if r.get("kind") == "indicators")
    targets["options"] = "Besucher\nZufriedenheit | Satisfaction | Punkte | Mittelwert | networks | Dezimal"
    response = ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    form = db.session.get(Call, call.id).stored_form
    found = [(i.key, i.label.de, i.unit, i.aggregate, i.field, i.integer) for _q, i in form.indicators()]
    assert found == [
        (
            "participants",
            "Besucher",
            "",
            "sum",
            "",
            True,
        ),  # the renamed first line keeps its key (its answers)
        ("events", "Zufriedenheit", "Punkte", "mean", "networks", False),
    ]
    again = next(r for r in stored_rows(db.session.get(Call, call.id)) if r.get("kind") == "indicators")
    assert (
        again["options"]
        == "Besucher\nZufriedenheit | Satisfaction | Punkte | Mittelwert | networks | Dezimal"
    )
    targets = next(r for r in rows if r.get("kind") == "indicators")
    targets["options"] = "Besucher | | | Quatsch"
    page = html.unescape(
        ka.post(f"/calls/{call.id}/form", data=post_data(rows, action="save")).get_data(as_text=True)
    )
    assert "Indikator 1: „Quatsch“ kenne ich nicht (Summe, Mittelwert oder Anzahl)." in page
