"""The whole life of a proposal in a real browser (the steps of tests/test_lifecycle.py), every role in its
own browser context, against ``foerdercall serve`` on loopback (SQLite and PostgreSQL): an official sets up
the call, an applicant registers, drafts, uploads a PDF, loses nothing when the page closes (autosave),
submits; after the deadline two officials open the submissions, one declares the proposal eligible and
assigns a reviewer, who signs the neutrality declaration, declares no conflict and scores; both offices
sign off, the award is made, and the applicant accepts it, following the progress view."""

from __future__ import annotations

import ast
import datetime as dt
import re

import pytest
from conftest import PASSWORD, PDF
from harness import DEMO, check_page, expect, login, new_page, served

from foerdercall import timeutil

pytest_plugins = ["harness"]  # the fixtures: browser, demo_server, pg_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    url = request.getfixturevalue("pg_database") if request.param == "postgresql" else ""
    yield from served(tmp_path_factory.mktemp(f"life-{request.param}"), url)


def sign_neutrality(page) -> None:
    """The page that asks for the call's declaration of neutrality: tick, sign, back to the proposal."""
    expect(_main(page)).to_contain_text("Bevor Sie Angebote dieses Aufrufs sehen")
    expect(_main(page)).not_to_contain_text("Netzwerk Plagwitz")
    page.get_by_label(
        "Ich erkläre, dass ich die Angebote dieses Aufrufs neutral und vertraulich behandle."
    ).check()
    page.get_by_role("button", name="Neutralitätserklärung unterzeichnen").click()
    _flash(page, "Neutralitätserklärung unterzeichnet.")
    expect(_main(page)).to_contain_text("Netzwerk Plagwitz")


def _main(page):
    return page.locator("main")


def _flash(page, text: str) -> None:
    # the page after a post: on a loaded CI machine the server may take a while to answer it
    expect(page.locator(".flashes")).to_contain_text(text, timeout=20_000)


def _confirm_email(page) -> None:
    """Open the confirmation link from the mail in the person's messages, if the app sent one."""
    page.goto("/messages")
    mail = page.locator("main table a", has_text="E-Mail-Adresse")
    if mail.count() == 0:
        return
    mail.first.click()
    link = re.search(r"https?://\S+(/verify/\S+)", page.inner_text("main"))
    assert link, page.inner_text("main")
    page.goto(link.group(1))


def test_whole_life_of_a_proposal_in_the_browser(browser, server, tmp_path, request):
    backend = request.node.callspec.params["server"]
    checks = backend == "sqlite"  # axe, overflow and screenshots once; the steps on both databases

    def look(page, name):
        if checks:
            check_page(page, f"life_{name}")

    pdf = tmp_path / "angebot.pdf"
    pdf.write_bytes(PDF)
    declarations = tmp_path / "erklaerung.pdf"
    declarations.write_bytes(PDF)
    today = timeutil.to_berlin(timeutil.now()).date()
    deadline_day = today + dt.timedelta(days=2)

    # An official (KA) sets up and publishes the call.
    ka = login(browser, server, DEMO["ka"])
    ka.goto("/calls/new")
    ka.fill("#code", "KW27")
    ka.fill("#title", "Kreativwirtschaft Leipzig 2027")
    ka.fill("#description", "Einzelmaßnahmen für die lokale Kreativwirtschaft.")
    ka.fill("#legal_regime", "VOL/A")
    ka.fill("#procedure_type", "Öffentliche Ausschreibung")
    ka.fill("#procedure_reason", "unterhalb der EU-Schwelle")
    ka.fill("#estimated_value", "60.000,00")
    ka.fill("#budget", "60.000,00")
    ka.fill("#max_amount", "25.000,00")
    ka.fill("#opens_at", f"{today.isoformat()}T00:00")
    ka.fill("#submission_deadline", f"{deadline_day.isoformat()}T23:59")
    look(ka, "call-form-filled")
    ka.fill("#reviewers_per_proposal", "1")  # one review completes a proposal's review here
    ka.get_by_role("button", name="Speichern").click()
    _flash(ka, "Der Aufruf ist als Entwurf angelegt")
    call_url = re.sub(r"^https?://[^/]+", "", ka.url)
    ka.get_by_role("button", name="Datenschutzhinweise von der/dem Datenschutzbeauftragten geprüft").click()
    _flash(ka, "Die Datenschutzhinweise sind als geprüft markiert")
    ka.get_by_role("button", name="Veröffentlichen").click()
    expect(_main(ka)).to_contain_text("Veröffentlicht")

    # An applicant registers and starts a draft.
    applicant_ctx_page = new_page(browser, server)
    applicant_ctx_page.context.add_init_script("window.FOERDERCALL_AUTOSAVE_MS = 600")  # not 20 s in a test
    app = applicant_ctx_page
    app.goto("/register")
    app.fill("#name", "Ada Antragstellerin")
    app.fill("#organisation", "Atelier Ada")
    app.fill("#email", "ada@example.org")
    app.fill("#password", PASSWORD)
    app.fill("#password2", PASSWORD)
    app.check("#privacy")
    app.get_by_role("button", name="Konto anlegen").click()
    _flash(app, "Wir haben Ihnen eine E-Mail an ada@example.org geschickt")
    app.fill("#email", "ada@example.org")  # registering does not log in: it answers alike for known addresses
    app.fill("#password", PASSWORD)
    app.locator("main form button[type=submit]").click()
    app.wait_for_load_state()
    _confirm_email(app)
    app.goto(call_url)
    app.get_by_role("button", name="Angebot beginnen").click()
    app.wait_for_url("**/edit")
    edit_url = re.sub(r"^https?://[^/]+", "", app.url)
    app.fill("#title", "Netzwerk Plagwitz")
    app.select_option("#field_of_action", "networks")
    app.fill("#summary", "Vernetzung der Ateliers in Plagwitz")
    app.fill("#description", "Konzept der Maßnahme")
    app.fill("#work_plan", "Q1 bis Q4")
    app.fill("#leipzig_relation", "Plagwitz")
    app.fill("#requested_amount", "20.000,00")
    # the live character count
    expect(app.locator("#summary-count")).to_have_text("Noch 1.965 von 2.000 Zeichen")
    app.select_option("#kind", "offer")
    app.set_input_files("#file", str(pdf))
    app.get_by_role("button", name="Entwurf speichern").click()
    _flash(app, "Entwurf gespeichert")
    expect(_main(app)).to_contain_text("angebot.pdf")
    expect(app.locator("#description")).to_have_value("Konzept der Maßnahme")

    # Autosave while typing: the status says when; the text is on the server without pressing a button.
    app.locator("#description").press("Control+End")
    app.locator("#description").press_sequentially(" mit Werkstätten", delay=5)
    expect(app.locator("#autosave-status")).to_contain_text(re.compile(r"Entwurf gespeichert um \d\d:\d\d"))
    look(app, "proposal-autosaved")
    # ... and when the page is closed right after typing (pagehide), nothing is lost either.
    app.fill("#team", "Ada und Bo")
    app.close(run_before_unload=True)
    app = applicant_ctx_page.context.new_page()
    for _ in range(20):  # the save on leaving the page travels on its own; give it a moment to land
        app.goto(edit_url)
        if app.locator("#team").input_value():
            break
        app.wait_for_timeout(250)
    expect(app.locator("#description")).to_have_value("Konzept der Maßnahme mit Werkstätten")
    expect(app.locator("#team")).to_have_value("Ada und Bo")
    expect(_main(app)).to_contain_text("angebot.pdf")

    # The progress view on the proposal's page: a draft, submit by the deadline.
    app.goto(edit_url.replace("/edit", ""))
    progress = app.locator("section[aria-labelledby=h-progress]")
    expect(progress).to_contain_text("Ihr nächster Schritt")
    expect(progress).to_contain_text(f"{deadline_day:%d.%m.%Y}, 23:59 Uhr")
    expect(progress.locator("[aria-current=step]")).to_contain_text("Entwurf")
    look(app, "proposal-draft-progress")

    # Submitting uploads the second required attachment in the same step.
    app.goto(edit_url)
    app.select_option("#kind", "declarations")
    app.set_input_files("#file", str(declarations))
    app.get_by_role("button", name="Verbindlich einreichen").click()
    _flash(app, "Ihr Angebot ist eingegangen. Aktenzeichen: KW27-0001")
    proposal_url = re.sub(r"^https?://[^/]+", "", app.url)
    expect(app.locator("section[aria-labelledby=h-progress] [aria-current=step]")).to_contain_text(
        "Eingereicht"
    )
    look(app, "proposal-submitted")

    # The deadline passes; the worker's sweep closes the call. Two officials open the submissions.
    server.set_clock(
        timeutil.berlin_to_utc(dt.datetime.combine(deadline_day, dt.time(23, 59))) + dt.timedelta(seconds=61)
    )
    assert ast.literal_eval(server.sweep().strip())["calls_closed"] >= 1  # ours and the demo call
    # each official starts from the task list: the opening is due
    ka.goto("/")
    tasks = ka.locator("#task-opening")
    expect(tasks).to_contain_text("Kreativwirtschaft Leipzig 2027")
    look(ka, "tasks-opening")
    tasks.get_by_role("link", name="Kreativwirtschaft Leipzig 2027").click()
    ka.get_by_role("button", name="Öffnung anstoßen").click()
    expect(_main(ka)).to_contain_text("Eine zweite Person muss")
    afw = login(browser, server, DEMO["afw"])
    expect(afw.locator("#task-opening")).to_contain_text("als zweite Person")
    afw.locator("#task-opening").get_by_role("link", name="Kreativwirtschaft Leipzig 2027").click()
    afw.get_by_role("button", name="Öffnung bestätigen").click()
    expect(_main(afw)).to_contain_text("Öffnungsniederschrift")
    expect(_main(afw)).to_contain_text("KW27-0001")
    look(afw, "opening-record")

    # The formal check; a reviewer is assigned and the review starts.
    ka.goto("/")
    ka.locator("#task-formal-check").get_by_role("link", name="KW27-0001 · Netzwerk Plagwitz").click()
    # before she sees any proposal of the call, she signs its declaration of neutrality, once
    sign_neutrality(ka)
    look(ka, "proposal-formal-check")
    ka.get_by_role("button", name="Formal zulässig").click()
    _flash(ka, "Angebot als formal zulässig erklärt.")
    expect(_main(ka)).to_contain_text("Formal geprüft")
    ka.select_option("#reviewer", label="Rita Gutachterin")
    ka.get_by_role("button", name="Zuweisen").click()
    expect(_main(ka)).to_contain_text("In Begutachtung")
    look(ka, "proposal-in-review")

    # The reviewer: neutrality, no conflict, a score with a justification for every criterion.
    rev = login(browser, server, DEMO["rev1"])
    rev.goto("/reviews")
    mine = rev.locator("section.panel").filter(has_text="KW27-0001")
    mine.get_by_role("checkbox").check()
    mine.get_by_role("button", name="Neutralitätserklärung unterzeichnen").click()
    mine = rev.locator("section.panel").filter(has_text="KW27-0001")
    look(rev, "reviews-conflict-question")
    mine.get_by_role("button", name="Erklärung abgeben").click()
    rev.wait_for_url("**/reviews/*")
    look(rev, "review-form-empty")
    selects = rev.locator("main form select[name^=score_]")
    assert selects.count() == 6
    for i in range(selects.count()):
        select = selects.nth(i)
        select.select_option("4" if i % 2 else "5")
        rev.fill("#" + select.get_attribute("id").replace("score_", "justification_"), f"Begründung {i}")
    look(rev, "review-form-filled")
    rev.get_by_role("button", name="Gutachten abgeben").click()
    _flash(rev, "Gutachten abgegeben")

    # Both offices sign off; the award is made.
    ka.goto(proposal_url)
    expect(_main(ka)).to_contain_text("Gesamtpunktzahl")
    ka.select_option("#decision", "approve")
    ka.get_by_role("button", name="Zeichnen").click()
    _flash(ka, "Zeichnung ist gespeichert")
    afw.goto("/")
    afw.locator("#task-sign-off").get_by_role("link", name="KW27-0001 · Netzwerk Plagwitz").click()
    sign_neutrality(afw)
    look(afw, "proposal-signoff")
    afw.select_option("#decision", "approve")
    afw.get_by_role("button", name="Zeichnen").click()
    expect(_main(afw)).to_contain_text("Genehmigt")
    ka.goto(proposal_url)
    expect(ka.locator("#award-amount")).to_have_value("20.000,00")
    ka.once("dialog", lambda d: d.accept())  # the award is binding: asked to confirm
    ka.get_by_role("button", name="Zuschlag erteilen").click()
    expect(_main(ka)).to_contain_text("Zuschlag erteilt")

    # The applicant sees the next step with its date on the task list, and accepts the award.
    app.goto("/")
    expect(app.locator("#task-mine")).to_contain_text("Zuschlag annehmen")
    look(app, "tasks-applicant")
    app.locator("#task-mine").get_by_role("link", name="Netzwerk Plagwitz").click()
    progress = app.locator("section[aria-labelledby=h-progress]")
    expect(progress).to_contain_text("Zuschlag annehmen")
    expect(progress).to_contain_text("Uhr")
    expect(progress.locator("li.done")).to_have_count(6)  # draft … approved
    look(app, "proposal-awarded")
    app.locator("section[aria-labelledby=h-award]").get_by_role("button", name="Zuschlag annehmen").click()
    expect(_main(app)).to_contain_text("In Umsetzung")
    progress = app.locator("section[aria-labelledby=h-progress]")
    expect(progress.locator("[aria-current=step]")).to_contain_text("In Umsetzung")
    expect(progress).to_contain_text("Meilenstein")
    look(app, "proposal-in-implementation")

    # Every step is in the history, with who and which office.
    history = app.locator("section[aria-labelledby=h-history]")
    for step in (
        "Verbindlich einreichen",
        "Formal zulässig",
        "Gutachten abgegeben",
        "Gemeinsam genehmigt",
        "Zuschlag erteilen",
        "Zuschlag annehmen",
        "Wolfgang Wirtschaft",
        "Ada Antragstellerin",
    ):
        expect(history).to_contain_text(step)
    for page in (ka, afw, rev, app):
        page.context.close()
