"""The call editor's criteria rows in a real browser: with JavaScript a row is added, moved and removed in
place and the weight sum follows the typing; the rows are posted in the order shown. axe-core checks the form."""

from __future__ import annotations

from harness import DEMO, check_page, expect, login

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database


def test_rows_with_javascript(browser, demo_server):
    page = login(browser, demo_server, DEMO["ka"])
    page.goto("/calls/new")
    sum_ = page.locator("#criteria-total")
    expect(sum_).to_have_text("Summe: 100 % von 100 %")
    rows = page.locator("#criteria [data-row]")
    expect(rows).to_have_count(6)

    url = page.url
    page.get_by_role("button", name="Kriterium hinzufügen").click()
    expect(rows).to_have_count(7)
    assert page.url == url  # no round trip
    expect(page.locator("#criteria-6-name")).to_be_focused()
    expect(rows.nth(6).locator("legend")).to_have_text("Kriterium 7")
    key = page.locator("input[name='criteria-6-key']").input_value()
    assert key.startswith("k") and len(key) == 9
    page.fill("#criteria-6-name", "Nachhaltigkeit")
    page.fill("#criteria-6-weight", "5")
    expect(sum_).to_have_text("Summe: 105 % von 100 %")
    page.fill("#criteria-0-weight", "15")
    expect(sum_).to_have_text("Summe: 100 % von 100 %")

    # move the new row up: it is row 6 now, its fields named so
    rows.nth(6).get_by_role("button", name="Nach oben").click()
    expect(page.locator("#criteria-5-name")).to_have_value("Nachhaltigkeit")
    expect(page.locator("#criteria-6-name")).not_to_have_value("Nachhaltigkeit")
    check_page(page, "form_call-rows-js")

    # remove the first row: the others move up, the sum follows
    rows.nth(0).get_by_role("button", name="Entfernen").click()
    expect(rows).to_have_count(6)
    expect(page.locator("#criteria-4-name")).to_have_value("Nachhaltigkeit")
    expect(sum_).to_have_text("Summe: 85 % von 100 %")
    page.context.close()


def test_rows_without_javascript(browser, demo_server):
    page = login(browser, demo_server, DEMO["ka"], javascript=False)
    page.goto("/calls/new")
    page.fill("#title", "Bleibt stehen")
    page.get_by_role("button", name="Kriterium hinzufügen").click()
    page.wait_for_load_state()
    expect(page.locator("#criteria [data-row]")).to_have_count(7)
    expect(page.locator("#title")).to_have_value("Bleibt stehen")
    page.context.close()
