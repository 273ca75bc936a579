"""A call's own mail texts (issue 4): the most specific active template is sent, in the recipient's language,
by field of action and state; without one the built-in text; a text nobody previewed and activated never."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, approve_after_deadline, fill_draft
from sqlalchemy import select

from foerdercall.accounts.operations import create_user
from foerdercall.audit.models import AuditEvent
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.message import to_message
from foerdercall.mail.models import OutboxMail
from foerdercall.mailtemplates.operations import (
    activate_template,
    create_template,
    deactivate_template,
    delete_template,
    update_template,
)
from foerdercall.proposals.operations import save_draft, start_draft
from foerdercall.workflow.engine import fire


def template(world, kind="receipt", lang="de", subject="Betreff", body="Text", activate=True, **rule):
    t = create_template(world.call, world.ka, kind=kind, lang=lang, subject=subject, body=body, **rule)
    if activate:
        activate_template(t, world.ka, t.version)
    db.session.commit()
    return t


def submit(world, user, field="networks", title="Netzwerk Plagwitz"):
    p = fill_draft(start_draft(world.call, user), user, title=title)
    if field != "networks":
        save_draft(p, user, {"field_of_action": field})
    fire(p, "submit", user)
    db.session.commit()
    return p


def mail(kind, p) -> OutboxMail:
    return db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.kind == kind, OutboxMail.proposal_id == p.id)
        .order_by(OutboxMail.id.desc())
    ).first()


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


def test_most_specific_active_template_per_language_and_field_else_the_built_in_text(app, world, clock):
    general = template(world, subject="Eingang {Aktenzeichen}", body="Guten Tag {Name},\n\n„{Titel}“ ist da.")
    networks = template(
        world,
        field_of_action="networks",
        subject="Netzwerke: Eingang {Aktenzeichen}",
        body="Liebe Netzwerkerin {Name},\n\nwir haben „{Titel}“ zum Aufruf {Aufruf} erhalten.\n"
        "Eingang: {Eingang}\n{Dateien}",
    )
    english = template(
        world, lang="en", subject="We got {Aktenzeichen}", body="Dear {Name}, thanks for {Titel}."
    )
    # more specific than the general one, but never activated: not used
    template(world, state="submitted", subject="ENTWURF {Titel}", body="ENTWURF", activate=False)
    carla = create_user("carla@x.test", "Carla Englisch", PASSWORD, locale="en")
    dora = create_user("dora@x.test", "Dora Deutsch", PASSWORD)
    db.session.commit()

    p = submit(world, world.applicant)  # German, networks
    q = submit(world, dora, field="marketing")  # German, another field
    r = submit(world, carla, field="marketing")  # English

    m = mail("receipt", p)
    assert (m.template_id, m.template_version) == (networks.id, 1)
    assert m.subject == f"Netzwerke: Eingang {p.file_number}"
    text = to_message(m).get_body(("plain",)).get_content()
    assert "Liebe Netzwerkerin Ada Applicant," in text
    assert "wir haben „Netzwerk Plagwitz“ zum Aufruf Kreativwirtschaft 2026 erhalten." in text
    assert "Eingang: 01.10.2026, 09:00:00 Uhr" in text and f"SHA-256 {p.attachments[0].sha256}" in text

    m = mail("receipt", q)
    assert (m.template_id, m.subject) == (general.id, f"Eingang {q.file_number}")
    assert m.body == "Guten Tag Dora Deutsch,\n\n„Netzwerk Plagwitz“ ist da.\n"
    assert "ENTWURF" not in m.subject + m.body

    m = mail("receipt", r)
    assert (m.template_id, m.locale) == (english.id, "en")
    assert (
        m.subject == f"We got {r.file_number}"
        and m.body == "Dear Carla Englisch, thanks for Netzwerk Plagwitz.\n"
    )

    # no template of the call for withdrawals: the built-in text
    fire(q, "withdraw", dora)
    db.session.commit()
    m = mail("withdrawn", q)
    assert m.template_id is None and m.subject == f"Angebot zurückgezogen {q.file_number}"

    # another call's templates do not count
    other = mail("receipt", p)
    assert other.call_id == world.call.id


def test_an_edited_active_template_sends_the_activated_text_until_the_new_one_is_activated(app, world, clock):
    t = template(world, subject="Fassung eins", body="Text eins")
    update_template(t, world.afw, subject="Fassung zwei {Titel}", body="Text zwei")
    db.session.commit()
    assert (t.version, t.active_version, t.has_draft) == (2, 1, True)

    p = submit(world, world.applicant)
    m = mail("receipt", p)
    assert (m.subject, m.body, m.template_version) == ("Fassung eins", "Text eins\n", 1)

    # only the version the preview showed can be activated
    assert refused(activate_template, t, world.afw, 1) == (
        "Der Text wurde seit dieser Vorschau geändert. Bitte sehen Sie sich die Vorschau erneut an, "
        "bevor Sie die Vorlage aktivieren."
    )
    assert refused(activate_template, t, world.afw, None).startswith("Der Text wurde")
    activate_template(t, world.afw, 2)
    db.session.commit()
    q = submit(world, world.applicant2)
    m = mail("receipt", q)
    assert (m.subject, m.template_version) == ("Fassung zwei Netzwerk Plagwitz", 2)
    assert to_message(m)["Subject"] == "Fassung zwei Netzwerk Plagwitz"

    # deactivated: the built-in text again; the audit names each version's text
    deactivate_template(t, world.ka)
    db.session.commit()
    fire(q, "withdraw", world.applicant2)
    fire(p, "withdraw", world.applicant)
    db.session.commit()
    actions = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "mail_templates").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.data["version"]) for e in actions] == [
        ("create_mail_template", world.ka.id, 1),
        ("activate_mail_template", world.ka.id, 1),
        ("edit_mail_template", world.afw.id, 2),
        ("activate_mail_template", world.afw.id, 2),
        ("deactivate_mail_template", world.ka.id, 2),
    ]
    assert actions[3].data["subject"] == "Fassung zwei {Titel}" and actions[3].call_id == world.call.id
    delete_template(t, world.ka)
    db.session.commit()
    assert (
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "mail_templates")
            .order_by(AuditEvent.id.desc())
        ).first()
        == "delete_mail_template"
    )
    assert mail("receipt", q).template_id == t.id  # the mail still names the text it was written from


def test_a_template_that_was_never_activated_is_never_sent(app, world, clock):
    t = template(world, subject="Nie gesehen", body="Nie gesehen", activate=False)
    p = submit(world, world.applicant)
    m = mail("receipt", p)
    assert m.template_id is None and m.subject == f"Eingangsbestätigung {p.file_number}"
    assert "Nie gesehen" not in to_message(m).as_string()
    assert not t.active and t.active_version == 0


def test_unknown_placeholders_are_refused_with_their_names(app, world, clock):
    message = refused(
        create_template,
        world.call,
        world.ka,
        kind="receipt",
        lang="de",
        subject="Eingang {Aktenzeichen} {Vorname}",
        body="{Name}: {Betrag} {Vorname} {{Titel}}",
    )
    assert message == (
        "Unbekannte Platzhalter: {Vorname}, {Betrag}. Erlaubt sind: {Anrede}, {Name}, {Aktenzeichen}, "
        "{Titel}, {Aufruf}, {Eingang}, {Dateien}."
    )
    t = template(world, kind="award", subject="Zuschlag {Aktenzeichen}", body="{Betrag} bis {Frist}")
    assert refused(update_template, t, world.ka, subject="x", body="{{7*7}} {Name").startswith(
        "Unbekannte Platzhalter: {7*7}."
    )
    assert (
        refused(
            create_template,
            world.call,
            world.ka,
            kind="rejection",
            lang="de",
            subject="x",
            body="y",
            field_of_action="financing",
        )
        == "Dieses Handlungsfeld gehört nicht zum Aufruf."
    )
    assert (
        refused(
            create_template,
            world.call,
            world.ka,
            kind="rejection",
            lang="de",
            subject="x",
            body="y",
            state="awarded",
        )
        == "Diese Nachricht wird in diesem Status nie geschrieben."
    )
    assert refused(create_template, world.call, world.ka, kind="award", lang="de", subject="x", body="y") == (
        "Für diese Nachricht, Sprache und Regel gibt es schon eine Vorlage. Bitte bearbeiten Sie diese."
    )
    assert (
        refused(
            create_template, world.call, world.ka, kind="password_reset", lang="de", subject="x", body="y"
        )
        == "Diese Art von Nachricht oder Sprache gibt es nicht."
    )


def test_user_text_stays_escaped_in_the_html_part_and_is_not_substituted_again(app, world, clock):
    template(world, subject="Eingang {Titel}", body="<i>Hallo</i> {Name}\n\nTitel: {Titel}\nAufruf: {Aufruf}")
    evil = "<script>alert(1)</script> {Name}"
    p = submit(world, world.applicant, title=evil)
    m = mail("receipt", p)
    msg = to_message(m)
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"Titel: {evil}" in plain  # {Name} inside the user's title is the title, not a placeholder
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; {Name}" in html
    assert "<i>" not in html and "&lt;i&gt;Hallo&lt;/i&gt; Ada Applicant" in html
    assert msg["Subject"] == f"Eingang {evil}"


def test_the_state_rule_tells_excluded_from_rejected_bidders_in_the_standstill_notice(app, world, clock):
    call = world.call
    call.standstill_threshold_cents = 5_000_00
    general = template(
        world,
        kind="standstill_notice",
        subject="Vorabinformation {Aktenzeichen}",
        body="Zuschlag an {Zuschlagsangebot} ({Betrag}) nicht vor {Frist}.",
    )
    excluded = template(
        world,
        kind="standstill_notice",
        state="ineligible",
        subject="Vorabinformation (ausgeschlossen) {Aktenzeichen}",
        body="Ihr Angebot ist ausgeschlossen. Zuschlag an {Zuschlagsangebot} nicht vor {Frist}.",
    )
    p = submit(world, world.applicant)
    q = submit(world, world.applicant2, field="marketing")
    approve_after_deadline(world, clock, call, p, q)
    fire(p, "start_standstill", world.ka)
    db.session.commit()
    m = mail("standstill_notice", q)
    assert (m.template_id, m.subject) == (excluded.id, f"Vorabinformation (ausgeschlossen) {q.file_number}")
    assert m.body == (
        f"Ihr Angebot ist ausgeschlossen. Zuschlag an {p.file_number} nicht vor 12.11.2026, 23:59 Uhr.\n"
    )
    assert general.id != excluded.id
