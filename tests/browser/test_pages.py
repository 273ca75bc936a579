"""Every main page for every role, on the demo data, in a real browser: axe-core finds no serious or critical
violation, nothing overflows at 360 px, no translation key shows; a screenshot of each (desktop and 360 px)
lands in tests/browser/screenshots/. Forms are checked empty, with errors and filled."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from conftest import PASSWORD
from harness import DEMO, check_page, login, new_page, open_draft

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database


@pytest.fixture
def server(demo_server):
    return demo_server


def _nav_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("header nav a, footer a", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/")]


def _visit_all(page, role: str, paths: list[str], seen: set[str] | None = None) -> set[str]:
    """Check each page (and the role's navigation targets); returns the paths visited."""
    seen = set() if seen is None else seen
    queue = list(paths)
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        if path.rsplit(".", 1)[-1] in ("pdf", "ics", "csv", "zip", "json"):
            continue  # downloads, not pages
        response = page.goto(path)
        assert response is not None and response.status < 500, (path, response and response.status)
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        queue.extend(_nav_links(page))
        check_page(page, f"{role}{urlparse(page.url).path.replace('/', '_') or '_home'}")
    return seen


def _link(page, text: str) -> str:
    return page.get_by_role("link", name=text, exact=False).first.get_attribute("href")


def test_anonymous_pages(browser, server):
    page = new_page(browser, server)
    page.goto("/calls")
    calls = page.eval_on_selector_all("main h2 a", "els => els.map(e => e.getAttribute('href'))")
    assert len(calls) == 3
    _visit_all(page, "anonymous", ["/calls", *calls, "/login", "/register", "/accessibility"])
    page.context.close()


def test_login_form_states(browser, server):
    page = new_page(browser, server)
    page.goto("/login")
    check_page(page, "form_login-empty")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".field.has-error").count() >= 1
    check_page(page, "form_login-errors")
    page.fill("#email", DEMO["applicant"])
    page.fill("#password", PASSWORD)
    check_page(page, "form_login-filled")
    page.context.close()


def test_register_form_states(browser, server):
    page = new_page(browser, server)
    page.goto("/register")
    check_page(page, "form_register-empty")
    page.fill("#email", "kein-at-zeichen")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    errors = page.locator("[aria-invalid=true]")
    assert errors.count() >= 2
    # every error is linked to its field
    for i in range(errors.count()):
        described = errors.nth(i).get_attribute("aria-describedby")
        assert described and page.locator(f"#{described}").inner_text().strip()
    # ... and listed at the top, announced, each a link that takes the focus to its field
    links = page.locator(".error-summary[role=alert] a")
    assert links.count() == errors.count()
    target = links.first.get_attribute("href")
    links.first.click()
    assert page.evaluate("() => '#' + document.activeElement.id") == target
    check_page(page, "form_register-errors")
    page.fill("#name", "Clara Kreativ")
    page.fill("#email", "clara@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.check("#privacy")
    check_page(page, "form_register-filled")
    page.context.close()


def test_applicant_pages(browser, server):
    page = login(browser, server, DEMO["applicant"])
    seen = _visit_all(page, "applicant", ["/calls", "/my", "/messages"])
    page.goto("/my")
    mine = page.eval_on_selector_all("main table a", "els => els.map(e => e.getAttribute('href'))")
    assert len(mine) >= 3
    _visit_all(page, "applicant", mine, seen)
    # a new draft: the form empty, with an error, filled
    open_draft(page)
    for name in (
        "title",
        "summary",
        "description",
        "work_plan",
        "team",
        "leipzig_relation",
        "requested_amount",
    ):
        page.fill(f"#{name}", "")
    check_page(page, "form_proposal-empty")
    page.fill("#requested_amount", "viel Geld")
    page.get_by_role("button", name="Entwurf speichern").click()
    page.wait_for_load_state()
    assert page.locator("#requested_amount[aria-invalid=true]").count() == 1
    check_page(page, "form_proposal-errors")
    page.fill("#title", "Offene Ateliers Connewitz")
    page.select_option("#field_of_action", "networks")
    for name in ("summary", "description", "work_plan", "team", "leipzig_relation"):
        page.fill(f"#{name}", "Ein ausführlicher Text. " * 8)
    page.fill("#requested_amount", "12.000,00")
    check_page(page, "form_proposal-filled")
    page.context.close()


def test_applicant2_pages(browser, server):
    page = login(browser, server, DEMO["applicant2"])
    seen = _visit_all(page, "applicant2", ["/my"])
    page.goto("/my")
    _visit_all(
        page,
        "applicant2",
        page.eval_on_selector_all("main table a", "els => els.map(e => e.getAttribute('href'))"),
        seen,
    )
    page.context.close()


@pytest.mark.parametrize("role", ["ka", "afw"])
def test_official_pages(browser, server, role):
    page = login(browser, server, DEMO[role])
    page.goto("/calls")
    calls = page.eval_on_selector_all("main h2 a", "els => els.map(e => e.getAttribute('href'))")
    seen = _visit_all(
        page, role, ["/calls", *calls, *(c + "/proposals" for c in calls), *(c + "/opening" for c in calls)]
    )
    for call in calls:  # everything an official reaches from a call's page (overview, ranking, decision …)
        page.goto(call)
        links = page.eval_on_selector_all("main a", "els => els.map(e => e.getAttribute('href'))")
        _visit_all(page, role, [h for h in links if h and h.startswith(call + "/")], seen)
    page.goto(calls[-1] + "/proposals")  # the 2011 call: opened, every state
    links = page.eval_on_selector_all("main table a", "els => els.map(e => e.getAttribute('href'))")
    assert len([h for h in links if not h.endswith("/conflict")]) == 5  # each with its conflict page
    _visit_all(page, role, links, seen)
    page.context.close()


def test_call_form_states(browser, server):
    page = login(browser, server, DEMO["ka"])
    page.goto("/calls/new")
    check_page(page, "form_call-empty")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true]").count() >= 2
    check_page(page, "form_call-errors")
    page.context.close()


@pytest.mark.parametrize("role", ["rev1", "advisor", "admin"])
def test_other_roles_pages(browser, server, role):
    page = login(browser, server, DEMO[role])
    page.goto("/calls")
    seen = _visit_all(page, role, ["/calls"])
    if role == "rev1":
        page.goto("/reviews")
        links = page.eval_on_selector_all("main a", "els => els.map(e => e.getAttribute('href'))")
        _visit_all(page, role, [h for h in links if h and h.startswith("/")], seen)
    if role == "admin":
        page.goto("/admin/users")
        links = page.eval_on_selector_all("main table a", "els => els.map(e => e.getAttribute('href'))")
        _visit_all(page, role, links[:2], seen)
    page.context.close()


def test_english_pages(browser, server):
    """English by choice: the same pages in English show no keys either."""
    page = login(browser, server, DEMO["applicant"])
    page.goto("/calls")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    seen = _visit_all(page, "en-applicant", ["/calls", "/my", "/accessibility"])
    page.goto("/my")
    mine = page.eval_on_selector_all("main table a", "els => els.map(e => e.getAttribute('href'))")
    _visit_all(page, "en-applicant", mine, seen)
    page.goto(next(h for h in mine if not h.endswith("/edit")))
    assert "Where your offer stands" in page.inner_text("main")
    page.context.close()


def test_mail_template_form_states_and_preview(browser, server):
    """An official words the rejection mail of a call: the form empty, with errors, filled; the preview that must
    be seen before the text is used; the list with the active template."""
    from playwright.sync_api import expect

    page = login(browser, server, DEMO["ka"])
    page.goto("/calls")
    page.locator("main h2 a").first.click()
    page.get_by_role("link", name="Mail-Vorlagen").click()
    check_page(page, "official_mail_templates")
    page.get_by_role("link", name="Neue Vorlage anlegen").click()
    check_page(page, "form_mail_template-empty")
    page.get_by_role("button", name="Speichern und Vorschau ansehen").click()
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true]").count() >= 2
    check_page(page, "form_mail_template-errors")
    page.select_option("#kind", "rejection")
    page.fill("#subject", "Ihr Angebot {Aktenzeichen}")
    page.fill("#body", "{Anrede}\nleider {Unbekannt}.")
    page.get_by_role("button", name="Speichern und Vorschau ansehen").click()
    expect(page.locator("main")).to_contain_text("Unbekannt")  # the refused placeholder is named
    page.fill("#body", "{Anrede}\nIhr Angebot „{Titel}“ wurde nicht ausgewählt.\n{Begruendung}")
    check_page(page, "form_mail_template-filled")
    page.get_by_role("button", name="Speichern und Vorschau ansehen").click()
    expect(page.locator("main")).to_contain_text("nicht ausgewählt")
    check_page(page, "official_mail_template_preview")
    page.get_by_role("button", name="aktivieren").click()
    page.wait_for_load_state()
    check_page(page, "official_mail_templates_active")
    page.context.close()
