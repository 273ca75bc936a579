"""Bulk actions in the browser: the decision page hands a bulk sign-off to a job, the ranking page an export;
the job page shows the progress (a labelled <progress>, the status in a live region) and reaches the end by
itself, without JavaScript (a <noscript> meta refresh) and with it (app.js polls the job's JSON)."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from harness import DEMO, Server, check_page, expect, login

pytest_plugins = ["harness"]  # the fixture: browser

CALL = "Einzelmaßnahmen zur Unterstützung der lokalen Kreativwirtschaft"


@pytest.fixture(scope="module")
def job_server(tmp_path_factory):
    """The demo, served with every bulk sign-off and every export going through a job."""
    server = Server(tmp_path_factory.mktemp("jobs"))
    server.env.update(SIGN_OFF_SYNC_LIMIT="0", EXPORT_SYNC_LIMIT="0")
    server.run("demo", "--password", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _call_page(page):
    page.goto("/calls")
    page.get_by_role("link", name=CALL).first.click()


def test_bulk_sign_off_without_javascript_reaches_the_end(browser, job_server):
    ctx = browser.new_context(base_url=job_server.url, locale="de-DE", java_script_enabled=False)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("#email", DEMO["afw"])  # AfWiFö: a reviewed proposal of the 2011 call still to sign
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    _call_page(page)
    page.get_by_role("link", name="Entscheidung (Zeichnung)").first.click()
    boxes = page.locator("input[name=proposal]")
    n = boxes.count()
    assert n >= 1
    for i in range(n):
        boxes.nth(i).check()
    page.get_by_role("button", name="Ausgewählte zeichnen").click()
    page.wait_for_url("**/jobs/*")
    progress = page.get_by_label("Fortschritt des Auftrags")
    expect(progress).to_have_attribute("max", str(n))
    # no script runs: the page reloads itself (meta refresh) until the job is done
    expect(page.locator("#job-status")).to_contain_text(f"{n} von {n} – fertig", timeout=30_000)
    expect(progress).to_have_attribute("value", str(n))
    expect(page.locator("table.job-items tbody tr")).to_have_count(n)
    expect(page.locator("table.job-items")).to_contain_text("gezeichnet")
    ctx.close()


def test_export_job_with_javascript_shows_progress_and_the_download(browser, job_server):
    page = login(browser, job_server, DEMO["ka"])
    _call_page(page)
    page.get_by_role("link", name="Rangliste").first.click()
    page.get_by_role("button", name="Export vorbereiten: Rangliste (CSV)").click()
    page.wait_for_url("**/jobs/*")
    status = page.locator("#job-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text("2 von 2 – fertig", timeout=30_000)
    link = page.get_by_role("link", name="Herunterladen: KW2011-ranking.csv")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "KW2011-ranking.csv"
    check_page(page, "job-export-done-ka")
    page.context.close()
