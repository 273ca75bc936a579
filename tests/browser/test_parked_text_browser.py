"""Nobody loses typed text to an expired session (issue 5): in a real browser the session cookie goes while the
applicant types; the save lands on the login page with a message, and after the login the text is shown and
taken over into the draft with one button."""

from __future__ import annotations

from harness import DEMO, check_page, expect, login, open_draft

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server

TEXT = "Konzept, lange getippt, während die Sitzung ablief. Zweiter Satz über Lindenau."


def test_text_typed_while_the_session_expired_is_offered_after_the_login(browser, demo_server):
    from conftest import PASSWORD

    page = login(browser, demo_server, DEMO["applicant2"])
    open_draft(page)
    edit_url = page.url
    page.fill("#description", TEXT)
    page.context.clear_cookies(name="session")  # the session ends (expired, or the browser dropped it)

    page.get_by_role("button", name="Entwurf speichern").click()
    page.wait_for_url("**/login**")
    expect(page.locator(".flashes")).to_contain_text(
        "Ihre Sitzung war abgelaufen. Ihre Eingaben wurden aufbewahrt"
    )
    page.fill("#email", DEMO["applicant2"])
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()

    page.wait_for_url("**/parked**")
    expect(page.locator("main h2").first).to_contain_text("Ihre nicht gespeicherten Eingaben vom")
    expect(page.locator("main")).to_contain_text(TEXT)
    check_page(page, "parked-text")
    page.get_by_role("button", name="In den Entwurf übernehmen").click()

    page.wait_for_url(edit_url)
    expect(page.locator(".flashes")).to_contain_text("übernommen und gespeichert")
    expect(page.locator("#description")).to_have_value(TEXT)
    page.reload()
    expect(page.locator("#description")).to_have_value(TEXT)  # saved on the server, not only shown
    page.context.close()
