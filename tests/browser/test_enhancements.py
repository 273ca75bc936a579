"""JavaScript only enhances: a confirmation before a destructive step; and every essential step of a draft
works with JavaScript switched off (no autosave then, the buttons save)."""

from __future__ import annotations

from conftest import PASSWORD, PDF
from harness import DEMO, expect, login, open_draft

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database


def test_removing_an_attachment_asks_first(browser, demo_server, tmp_path):
    pdf = tmp_path / "kalkulation.pdf"
    pdf.write_bytes(PDF)
    page = login(browser, demo_server, DEMO["applicant"])
    open_draft(page)
    page.set_input_files("#file", str(pdf))
    page.get_by_role("button", name="Entwurf speichern").click()
    row = page.locator("main table tr").filter(has_text="kalkulation.pdf")
    expect(row).to_have_count(1)

    questions = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    row.get_by_role("button", name="Entfernen").click()
    page.wait_for_timeout(300)
    assert questions == ["Anlage kalkulation.pdf wirklich entfernen?"]
    expect(row).to_have_count(1)  # dismissed: nothing happened

    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        row.get_by_role("button", name="Entfernen").click()
    expect(page.locator(".flashes")).to_contain_text("Anlage entfernt")
    expect(page.locator("main table tr").filter(has_text="kalkulation.pdf")).to_have_count(0)
    page.context.close()


def test_a_draft_without_javascript(browser, demo_server):
    ctx = browser.new_context(base_url=demo_server.url, locale="de-DE", java_script_enabled=False)
    page = ctx.new_page()
    page.goto("/register")
    page.fill("#name", "Nora Ohnejs")
    page.fill("#email", "nora@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.check("#privacy")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator(".flashes")).to_contain_text("Wir haben Ihnen eine E-Mail")
    page.fill("#email", "nora@example.org")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    open_draft(page)
    assert page.locator(".charcount").count() == 0  # no script ran
    page.fill("#title", "Ohne Skript")
    page.fill("#summary", "Alles geht auch so.")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect(page.locator(".flashes")).to_contain_text("Entwurf gespeichert")
    expect(page.locator("#summary")).to_have_value("Alles geht auch so.")
    expect(page.locator("#autosave-status")).to_have_text("")
    ctx.close()
