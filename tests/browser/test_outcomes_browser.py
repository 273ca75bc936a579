"""What the money achieved, in the browser (issue 15): the applicant reports values (a wrong one is named at its
field, nothing typed is lost), an official confirms one, everyone reads the implementation report and its chart
tables, an admin makes an API key. Each page is checked with axe-core and screenshotted (desktop and phone)."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from harness import DEMO, Server, check_page, expect, login, new_page

pytest_plugins = ["harness"]  # the fixture: browser

MEASURE = "Kreativ-Netzwerk Plagwitz"  # the demo's measure in implementation (KW2011)


@pytest.fixture(scope="module")
def outcome_server(tmp_path_factory):
    """The demo of its own: this module confirms a value and makes a key."""
    server = Server(tmp_path_factory.mktemp("outcomes"))
    server.run("demo", "--password", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _measure_page(page):
    page.goto("/my")
    page.get_by_role("link", name=MEASURE).first.click()


def test_the_applicant_reports_values_and_a_wrong_one_is_named_at_its_field(browser, outcome_server):
    page = login(browser, outcome_server, DEMO["applicant"])
    _measure_page(page)
    impl = page.locator("section:has(#h-impl)")
    expect(impl).to_contain_text("Fortschritt und Wirkung")
    expect(impl).to_contain_text("1 von 2 Meilensteinen abgenommen")
    check_page(page, "outcomes-measure-applicant")
    page.fill("#report-final-narrative", "Alles umgesetzt, siehe Anlage.")
    page.fill("#report-final-value-participants", "130 Personen")
    page.fill("#report-final-value-events", "9")
    page.get_by_role("button", name="Einreichen").last.click()
    error = page.locator("#report-final-value-participants-err")
    expect(error).to_have_text("Bitte geben Sie nur die Zahl ein, in Personen (ohne Einheit).")
    expect(page.locator("#report-final-narrative")).to_have_value("Alles umgesetzt, siehe Anlage.")
    expect(page.locator("#report-final-value-events")).to_have_value("9")
    expect(page.locator("#report-final-value-participants")).to_have_attribute("aria-invalid", "true")
    check_page(page, "outcomes-report-refused")
    page.context.close()


def test_an_official_confirms_a_reported_value(browser, outcome_server):
    page = login(browser, outcome_server, DEMO["ka"])
    page.goto("/calls")
    page.get_by_role(
        "link", name="Einzelmaßnahmen zur Unterstützung der lokalen Kreativwirtschaft"
    ).first.click()
    page.get_by_role("link", name="Eingegangene Angebote").click()
    page.locator("tr", has_text=MEASURE).get_by_role("link").first.click()
    row = page.locator("table.indicators tr", has_text="Veranstaltungen")
    row.get_by_role("button", name="Bestätigen").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Der Wert ist bestätigt.")
    expect(page.locator("table.indicators tr", has_text="Veranstaltungen")).to_contain_text("Bestätigt")
    check_page(page, "outcomes-measure-official")
    page.context.close()


def test_everyone_reads_the_implementation_report(browser, outcome_server):
    page = new_page(browser, outcome_server)
    page.goto("/")
    page.get_by_role("link", name="Umsetzungsberichte").first.click()
    check_page(page, "outcomes-reports")
    page.get_by_role(
        "link", name="Einzelmaßnahmen zur Unterstützung der lokalen Kreativwirtschaft (KW2011)"
    ).click()
    expect(page.locator("#money-table")).to_contain_text("60.000,00 €")
    expect(page.locator("#indicator-table")).to_contain_text("Teilnehmende")
    expect(page.locator("h3", has_text="Nach Stadtbezirk")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Südwest")
    check_page(page, "outcomes-report-call")
    page.context.close()


def test_an_admin_makes_an_api_key_shown_once(browser, outcome_server):
    page = login(browser, outcome_server, DEMO["admin"])
    page.get_by_role("link", name="API-Schlüssel").click()
    page.fill("#name", "Finanzverfahren")
    page.fill("#email", DEMO["ka"])
    page.get_by_label("Zahlungen erfassen (Finanzverfahren)").check()
    page.get_by_label("Lesen, was das Konto sehen darf").check()
    page.get_by_role("button", name="Schlüssel erzeugen").click()
    expect(page.locator("#secret")).to_contain_text("fc_")
    check_page(page, "api-keys")
    page.get_by_role("link", name="API-Schlüssel").click()  # the page again: the key is not shown any more
    expect(page.locator("#secret")).to_have_count(0)
    expect(page.locator("table")).to_contain_text("Finanzverfahren")
    page.context.close()
