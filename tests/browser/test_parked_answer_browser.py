"""Nobody loses typed text to an expired session (issue 5), for a one-shot form: in a real browser the session
cookie goes while the applicant writes the answer to a request for missing documents; after the login the
parked page shows the answer again in the same form, and the applicant sends it from there with one button."""

from __future__ import annotations

import re

import pytest
from harness import DEMO, check_page, expect, login, served

pytest_plugins = ["harness"]  # the fixtures: browser

TEXT = "Die unterschriebene Eigenerklärung liegt bei. Zweiter Absatz: die Sprechstunde läuft ab März in Connewitz."


@pytest.fixture(scope="module")
def own_demo(tmp_path_factory):
    """A demo of its own: the test answers the demo's open request (and the shared demo's clock may have let it
    lapse: tests/browser/test_lifecycle_browser.py moves it past the deadline and sweeps)."""
    yield from served(tmp_path_factory.mktemp("parked-answer"))


def test_an_answer_typed_while_the_session_expired_is_sent_from_the_parked_page(browser, own_demo):
    from conftest import PASSWORD

    demo_server = own_demo
    page = login(browser, demo_server, DEMO["applicant"])
    page.goto("/my")
    page.get_by_role("link", name="Crowdfunding-Sprechstunde").first.click()  # the demo's open request
    detail_url = page.url
    page.fill("#answer", TEXT)
    page.context.clear_cookies(name="session")  # the session ends while the applicant writes

    page.get_by_role("button", name="Antwort senden").click()
    page.wait_for_url("**/login**")
    expect(page.locator(".flashes")).to_contain_text("Ihre Eingaben wurden aufbewahrt")
    page.fill("#email", DEMO["applicant"])
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()

    page.wait_for_url("**/parked**")
    answer = page.locator("main textarea[name=answer]")
    expect(answer).to_have_value(TEXT)
    expect(page.locator("main")).to_contain_text("Bitte reichen Sie die unterschriebene Eigenerklärung nach.")
    check_page(page, "parked-answer")
    page.get_by_role("button", name="Antwort senden").click()

    page.wait_for_url(detail_url)
    expect(page.locator(".flashes")).to_contain_text("Ihre Antwort ist eingegangen")
    expect(page.locator("main")).to_contain_text(TEXT)  # in the history: sent, by the applicant's click
    page.goto("/parked")  # nothing left to take over
    expect(page).not_to_have_url(re.compile(r"/parked"))
    page.context.close()
