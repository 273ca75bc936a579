"""The officials' pages for a call's mail templates: write, preview in both languages, activate; bad input is a
message on the field; applicants and reviewers are refused."""

from __future__ import annotations

import re

from conftest import award_after_deadline, fill_draft, login
from sqlalchemy import func, select

from foerdercall.extensions import db
from foerdercall.mail.message import to_message
from foerdercall.mail.models import OutboxMail
from foerdercall.mailtemplates.models import MailTemplate
from foerdercall.mailtemplates.operations import create_template
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

NEW = {
    "kind": "receipt",
    "lang": "de",
    "state": "",
    "field_of_action": "",
    "subject": "Ihr Angebot {Aktenzeichen} ist da",
    "body": "Guten Tag {Name},\n\ndanke für „{Titel}“.",
}


def client_as(app, email):
    client = app.test_client()
    login(client, email)
    return client


def page(resp) -> str:
    return resp.get_data(as_text=True)


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(MailTemplate))


def test_an_official_writes_previews_and_activates_a_template_and_the_applicant_gets_its_text(
    app, world, clock
):
    ka = client_as(app, "ka@x.test")
    detail = page(ka.get(f"/calls/{world.call.id}"))
    assert f'href="/calls/{world.call.id}/mail-templates"' in detail
    index = page(ka.get(f"/calls/{world.call.id}/mail-templates"))
    assert "Eingangsbestätigung" in index and "Keine eigene Vorlage: es gilt der eingebaute Text." in index

    resp = ka.post(f"/calls/{world.call.id}/mail-templates/new", data=NEW)
    assert resp.status_code == 302
    t = db.session.scalar(select(MailTemplate))
    assert resp.headers["Location"].endswith(f"/mail-templates/{t.id}/preview")
    assert (t.kind, t.lang, t.version, t.active) == ("receipt", "de", 1, False)

    # the preview: no proposal may be read yet (sealed until the opening): a sample, in both languages
    preview = page(ka.get(resp.headers["Location"]))
    assert "Gezeigt mit einem Beispielangebot" in preview
    assert "Ihr Angebot KW26-0001 ist da" in preview
    assert "Guten Tag Erika Mustermann,\n\ndanke für „Beispielprojekt Kreativwirtschaft Plagwitz“." in preview
    assert "eingebauter Text" in preview and "Receipt confirmation KW26-0001" in preview  # English: built-in
    assert 'name="version" type="hidden" value="1"' in preview

    # not yet active: the receipt is the built-in one
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    db.session.commit()
    first = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "receipt"))
    assert first.subject.startswith("Eingangsbestätigung") and first.template_id is None

    resp = ka.post(f"/calls/{world.call.id}/mail-templates/{t.id}/activate", data={"version": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (t.active, t.active_version) == (True, 1)

    q = fill_draft(start_draft(world.call, world.applicant2), world.applicant2, title="Siebdruck")
    fire(q, "submit", world.applicant2)
    db.session.commit()
    m = db.session.scalar(
        select(OutboxMail).where(OutboxMail.kind == "receipt", OutboxMail.proposal_id == q.id)
    )
    assert (m.subject, m.template_id, m.template_version) == (f"Ihr Angebot {q.file_number} ist da", t.id, 1)
    assert to_message(m).get_body(("plain",)).get_content().replace("\r\n", "\n") == (
        "Guten Tag Bruno Applicant,\n\ndanke für „Siebdruck“.\n"
    )

    # edited: a draft again until previewed and activated; the list says so
    resp = ka.post(
        f"/calls/{world.call.id}/mail-templates/{t.id}",
        data={"subject": "Neu {Aktenzeichen}", "body": "Neuer Text"},
    )
    assert resp.status_code == 302
    index = page(ka.get(f"/calls/{world.call.id}/mail-templates"))
    assert "aktiv, Fassung 1" in index and "Fassung 2 wartet auf Vorschau und Aktivierung" in index
    # a stale activation (the preview of version 1 in another tab) is refused
    resp = ka.post(f"/calls/{world.call.id}/mail-templates/{t.id}/activate", data={"version": "1"})
    assert "Der Text wurde seit dieser Vorschau geändert." in page(ka.get(resp.headers["Location"]))
    db.session.expire_all()
    assert (t.active_version, t.active_subject) == (1, "Ihr Angebot {Aktenzeichen} ist da")

    # deactivate, then delete (with confirmation)
    ka.post(f"/calls/{world.call.id}/mail-templates/{t.id}/deactivate", data={})
    db.session.expire_all()
    assert t.active is False
    resp = ka.post(f"/calls/{world.call.id}/mail-templates/{t.id}/delete", data={})
    assert count() == 1
    resp = ka.post(f"/calls/{world.call.id}/mail-templates/{t.id}/delete", data={"confirm": "y"})
    assert resp.status_code == 302 and count() == 0


def test_the_preview_uses_a_real_proposal_once_officials_may_read_it(app, world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Klangwerkstatt")
    fire(p, "submit", world.applicant)
    q = fill_draft(start_draft(world.call, world.applicant2), world.applicant2, title="Siebdruck")
    fire(q, "submit", world.applicant2)
    award_after_deadline(world, clock, world.call, p, q)
    t = create_template(
        world.call,
        world.ka,
        kind="ineligible",
        lang="en",
        subject="Excluded {Aktenzeichen}",
        body="Dear {Name}, {Titel}: {Begruendung}",
    )
    db.session.commit()
    preview = page(client_as(app, "afw@x.test").get(f"/calls/{world.call.id}/mail-templates/{t.id}/preview"))
    assert (
        f"Gezeigt mit dem Angebot {q.file_number} dieses Aufrufs" in preview
    )  # the excluded one fits the kind
    assert f"Excluded {q.file_number}" in preview and "Dear Bruno Applicant, Siebdruck: Beispiel" in preview
    assert f"Angebot {q.file_number} ausgeschlossen" in preview  # German: the built-in text
    # the admin may edit texts but not read proposals: a sample
    preview = page(
        client_as(app, "admin@x.test").get(f"/calls/{world.call.id}/mail-templates/{t.id}/preview")
    )
    assert "Beispielangebot" in preview and "Siebdruck" not in preview and "Bruno" not in preview


def test_bad_input_is_a_message_on_the_field_and_saves_nothing(app, world, clock):
    ka = client_as(app, "ka@x.test")
    url = f"/calls/{world.call.id}/mail-templates/new"
    resp = ka.post(url, data={**NEW, "body": "Hallo {Vorname} {Name}"})
    assert resp.status_code == 422 and count() == 0
    text = page(resp)
    assert re.search(
        r'<p class="error" id="body-err">Unbekannte Platzhalter: \{Vorname\}\. Erlaubt sind: '
        r"\{Anrede\}, \{Name\}, \{Aktenzeichen\}",
        text,
    )
    assert 'aria-describedby="body-err"' in text and 'href="#body"' in text
    for bad in (
        {**NEW, "kind": "password_reset"},
        {**NEW, "field_of_action": "financing"},
        {**NEW, "state": "draft"},
        {**NEW, "subject": ""},
        {**NEW, "lang": "fr"},
        {**NEW, "body": "x" * 20001},
        {**NEW, "subject": "\x00", "body": "\x00"},
    ):
        resp = ka.post(url, data=bad)
        assert resp.status_code == 422, bad
        assert count() == 0
    resp = ka.post(url, data={**NEW, "state": "rejected"})  # a state a receipt is never written in
    assert resp.status_code == 422 and "Diese Nachricht wird in diesem Status nie geschrieben." in page(resp)
    assert count() == 0


def test_applicants_and_reviewers_may_not_see_or_change_templates(app, world, clock):
    t = create_template(world.call, world.ka, kind="receipt", lang="de", subject="Geheim", body="Geheim")
    db.session.commit()
    base = f"/calls/{world.call.id}/mail-templates"
    urls = [
        ("GET", base),
        ("GET", base + "/new"),
        ("POST", base + "/new"),
        ("GET", f"{base}/{t.id}"),
        ("POST", f"{base}/{t.id}"),
        ("GET", f"{base}/{t.id}/preview"),
        ("POST", f"{base}/{t.id}/activate"),
        ("POST", f"{base}/{t.id}/deactivate"),
        ("POST", f"{base}/{t.id}/delete"),
    ]
    for email in ("app@x.test", "rev1@x.test", "advisor@x.test"):
        client = client_as(app, email)
        for method, url in urls:
            resp = client.open(url, method=method, data={**NEW, "version": "1", "confirm": "y"})
            assert resp.status_code == 403, (email, method, url)
            assert "Geheim" not in page(resp)
    anonymous = app.test_client().get(base)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    db.session.expire_all()
    assert (count(), t.version, t.active) == (1, 1, False)
    # a template of the call under another call's URL, and a call that does not exist: 404
    ka = client_as(app, "ka@x.test")
    assert ka.get(f"/calls/{world.call.id + 1}/mail-templates/{t.id}/preview").status_code == 404
    assert ka.get(f"/calls/{world.call.id + 1}/mail-templates").status_code == 404
    assert ka.get(f"{base}/{t.id + 1}/preview").status_code == 404


def test_every_kind_previews_with_its_placeholders_in_both_languages(app, world, clock):
    from foerdercall.mailtemplates.operations import KIND_PLACEHOLDERS

    ka = client_as(app, "ka@x.test")
    for kind, names in KIND_PLACEHOLDERS.items():
        body = "\n".join(f"{name}: {{{name}}}" for name in names)
        t = create_template(
            world.call, world.ka, kind=kind, lang="en", subject=f"{kind} {{Aktenzeichen}}", body=body
        )
        db.session.commit()
        resp = ka.get(f"/calls/{world.call.id}/mail-templates/{t.id}/preview")
        assert resp.status_code == 200, kind
        text = page(resp)
        assert f"{kind} KW26-0001" in text and "eingebauter Text" in text
        assert "{" not in text.split('<pre class="mail">')[1].split("</pre>")[0], kind  # every one filled in
    index = page(ka.get(f"/calls/{world.call.id}/mail-templates"))
    assert index.count("nicht aktiv") == len(KIND_PLACEHOLDERS)
