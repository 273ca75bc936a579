"""Keyboard alone: the skip link, the login form and a draft form are filled and submitted without a mouse,
and the focused element is always visibly marked."""

from __future__ import annotations

import re

from conftest import PASSWORD
from harness import DEMO, check_page, expect, new_page

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database


def _focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {id: e.id, tag: e.tagName, text: (e.innerText || '').trim(),
                visible: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")


def tab_to(page, selector: str, limit: int = 40) -> dict:
    """Press Tab until the element matching `selector` has the focus (and check its focus is visible)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            focused = _focused(page)
            assert focused["visible"], f"no visible focus on {focused}"
            return focused
    raise AssertionError(f"{selector} not reachable with Tab")


def test_login_and_draft_with_the_keyboard_alone(browser, demo_server):
    page = new_page(browser, demo_server)
    page.goto("/login")
    # The first Tab reaches the skip link; Enter moves on to the content.
    page.keyboard.press("Tab")
    skip = _focused(page)
    assert skip["text"] == "Zum Inhalt springen" and skip["visible"]
    page.keyboard.press("Enter")
    tab_to(page, "#email")
    page.keyboard.type(DEMO["applicant2"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/(#main)?$", page.url), page.url  # the start page: the task list
    expect(page.locator("h1")).to_have_text("Ihre Aufgaben")
    expect(page.locator("header nav")).to_contain_text("Abmelden")
    tab_to(page, "main a[href='/calls']")  # from there to the open calls
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # To the open demo call and into a new draft, by links and buttons.
    demo_call = page.get_by_role("link", name="Demo-Aufruf").get_attribute("href")
    tab_to(page, f"main a[href='{demo_call}']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "main form.action button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/edit")

    tab_to(page, "#title")
    page.keyboard.type("Siebdruck im Westen")
    page.keyboard.press("Tab")  # the field of action: a select, chosen with the arrow keys
    assert _focused(page)["id"] == "field_of_action"
    page.keyboard.press("ArrowDown")
    for name, text in (
        ("summary", "Offene Siebdruckwerkstatt"),
        ("description", "Kurse und offene Abende"),
        ("work_plan", "Monat 1 bis 12"),
        ("team", "Bruno und Team"),
        ("leipzig_relation", "Lindenau"),
    ):
        tab_to(page, f"#{name}")
        page.keyboard.type(text)
    tab_to(page, "#requested_amount")
    page.keyboard.type("9.500,00")
    tab_to(page, "#advice_requested")
    page.keyboard.press("Space")
    tab_to(page, "button[value=save]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text("Entwurf gespeichert")
    expect(page.locator("#title")).to_have_value("Siebdruck im Westen")
    expect(page.locator("#requested_amount")).to_have_value("9.500,00")
    expect(page.locator("#advice_requested")).to_be_checked()
    assert page.locator("#field_of_action").input_value() != ""
    check_page(page, "keyboard_draft-saved")

    # Submitting by keyboard: refused (no attachments yet), the refusal announced, and nothing is lost.
    tab_to(page, "button[value=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # the gaps announced at the top (role=alert), each linked to its question
    expect(page.locator(".error-summary[role=alert]")).to_contain_text("Bitte laden Sie diese Anlage hoch.")
    expect(page.locator("#leipzig_relation")).to_have_value("Lindenau")
    page.context.close()
