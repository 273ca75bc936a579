"""The call editor's question builder and a generated applicant form in a real browser (issue 14): with
JavaScript an entry is added in place and the preview follows the typing; without it the preview button does the
same through the server; nothing is saved by either. axe-core checks the builder and the youth call's form."""

from __future__ import annotations

from harness import DEMO, check_page, expect, login

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database

YOUTH = "Jugendkultur im Stadtteil 2027"


def _builder(page) -> None:
    page.goto("/calls")
    page.get_by_role("link", name=YOUTH).click()
    page.get_by_role("link", name="Antragsformular (Fragen)").click()
    expect(page.locator("h1")).to_contain_text("Antragsformular")


def test_builder_with_javascript(browser, demo_server):
    page = login(browser, demo_server, DEMO["ka"])
    _builder(page)
    check_page(page, "form_question-builder")
    entries = page.locator("#items [data-row]")
    before = entries.count()
    url = page.url
    page.get_by_role("button", name="Frage oder Abschnitt hinzufügen").click()
    expect(entries).to_have_count(before + 1)
    assert page.url == url  # in place
    new = entries.nth(before)
    expect(new.locator("legend").first).to_have_text(f"Eintrag {before + 1}")
    new.locator("select[name$='-kind']").select_option("single_choice")
    expect(new.locator("input[name$='-low']")).to_be_hidden()  # no limits for a single choice
    new.locator("input[name$='-label_de']").fill("Lieblingsort im Stadtteil")
    new.locator("textarea[name$='-options']").fill("Park | Park\nJugendclub | Youth club")
    preview = page.locator("#preview")
    expect(preview.get_by_label("Lieblingsort im Stadtteil")).to_be_visible()
    expect(preview.locator("option", has_text="Jugendclub")).to_have_count(1)
    check_page(page, "form_question-builder-typed")
    page.context.close()


def test_builder_without_javascript(browser, demo_server):
    page = login(browser, demo_server, DEMO["ka"], javascript=False)
    _builder(page)
    entries = page.locator("#items [data-row]")
    before = entries.count()
    page.get_by_role("button", name="Frage oder Abschnitt hinzufügen").click()
    page.wait_for_load_state()
    expect(entries).to_have_count(before + 1)
    new = entries.nth(before)
    new.locator("select[name$='-kind']").select_option("declaration")
    new.locator("input[name$='-label_de']").fill("Wir beachten das Kinderschutzkonzept.")
    page.get_by_role("button", name="Vorschau aktualisieren").click()
    page.wait_for_load_state()
    expect(page.locator("#preview")).to_contain_text("Wir beachten das Kinderschutzkonzept.")
    page.goto(page.url)  # nothing was saved
    expect(page.locator("#preview")).not_to_contain_text("Kinderschutzkonzept")
    page.context.close()


def test_the_youth_calls_generated_form(browser, demo_server):
    page = login(browser, demo_server, DEMO["applicant2"])
    page.goto("/calls")
    page.get_by_role("link", name=YOUTH).click()
    page.get_by_role("button", name="Antrag beginnen").click()
    page.wait_for_url("**/edit")
    expect(page.get_by_role("group", name="Kostenplan (Pflichtangabe)")).to_be_visible()
    check_page(page, "form_proposal-youth")
    page.get_by_label("Erwartete Teilnehmende (Pflichtangabe)").fill("viele")
    page.get_by_role("button", name="Entwurf speichern").click()
    page.wait_for_load_state()
    field = page.get_by_label("Erwartete Teilnehmende (Pflichtangabe)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("viele")
    check_page(page, "form_proposal-youth-errors")
    page.context.close()
