"""A self-registered applicant proves the address by a signed link before submitting; drafting works before."""

from __future__ import annotations

import pytest
from account_helpers import audit_actions, link_in, mails, register
from conftest import PASSWORD, fill_draft

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db

VERIFY = "verify_email"


def _user(email):
    from foerdercall.accounts.operations import find_user

    db.session.expire_all()
    return find_user(email)


def test_registration_mails_a_link_that_verifies_the_address(app, world):
    client = register(app)
    ada = _user("ada@example.org")
    assert not ada.email_verified
    page = client.get("/account").get_data(as_text=True)
    assert "noch nicht bestätigt" in page and "Bestätigungslink erneut senden" in page
    [mail] = mails(VERIFY, "ada@example.org")
    assert mail.subject == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert "Ada Antragstellerin" in mail.body

    r = client.get(link_in(mail))
    # on to the open calls, an offer one click away
    assert r.status_code == 302 and r.headers["Location"].endswith("/calls")
    page = client.get("/calls").get_data(as_text=True)
    assert "ist bestätigt" in page and "Angebot beginnen" in page
    assert f'action="/calls/{world.call.id}/apply"' in page
    page = client.get("/account").get_data(as_text=True)
    assert "noch nicht bestätigt" not in page
    assert _user("ada@example.org").email_verified
    [event] = audit_actions("verify_email")
    assert event.object_id == ada.id
    # the link works without a session, too (opened on another device), and verifies nothing twice
    elsewhere = app.test_client().get(link_in(mail))
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"].endswith("/login?next=/calls")
    assert len(audit_actions("verify_email")) == 1


def test_accounts_made_by_the_admin_or_the_demo_count_as_verified(app, world):
    assert world.applicant.email_verified and world.ka.email_verified
    assert mails(VERIFY, world.applicant.email) == []


def test_an_unverified_applicant_drafts_but_cannot_submit(app, world):
    from foerdercall.accounts.operations import require_verified
    from foerdercall.proposals.models import Proposal

    client = register(app)
    ada = _user("ada@example.org")
    with pytest.raises(ActionRefused, match="bestätigen Sie zuerst Ihre E-Mail-Adresse"):
        require_verified(ada)
    require_verified(world.applicant)  # a verified account passes

    r = client.post(f"/calls/{world.call.id}/apply")
    assert r.status_code == 302 and "/edit" in r.headers["Location"]
    p = db.session.scalar(db.select(Proposal).where(Proposal.applicant_id == ada.id))
    with pytest.raises(ActionRefused, match="bestätigen Sie zuerst Ihre E-Mail-Adresse"):
        fill_draft(p, ada)  # the text is kept, the first upload waits for the verified address
    db.session.commit()
    assert db.session.get(Proposal, p.id).title and not db.session.get(Proposal, p.id).attachments
    r = client.post(
        f"/proposals/{p.id}/fire/submit",
        data={},
        headers={"Referer": f"http://foerdercall.test/proposals/{p.id}"},
    )
    assert r.status_code == 422  # refused: the page again, with the reason
    assert "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "draft" and db.session.get(Proposal, p.id).title

    client.get(link_in(mails(VERIFY, "ada@example.org")[0]))
    db.session.expire_all()
    fill_draft(db.session.get(Proposal, p.id), _user("ada@example.org"))
    db.session.commit()
    r = client.post(f"/proposals/{p.id}/fire/submit", data={})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).state == "submitted"


def test_send_the_link_again_and_an_expired_link(app, world, clock):
    client = register(app)
    # a second click within the same minute sends nothing more
    assert client.post("/account/verify").status_code == 302
    assert len(mails(VERIFY, "ada@example.org")) == 1
    clock.advance(minutes=1)
    r = client.post("/account/verify", follow_redirects=True)
    assert "neuen Bestätigungslink an ada@example.org geschickt" in r.get_data(as_text=True)
    first, second = mails(VERIFY, "ada@example.org")
    assert link_in(first) != link_in(second)

    clock.advance(days=7, minutes=1)  # the first links have expired (7 days)
    r = client.get(link_in(second))
    assert r.status_code == 400 and "ungültig, abgelaufen" in r.get_data(as_text=True)
    assert not _user("ada@example.org").email_verified
    client.post("/account/verify")
    r = client.get(link_in(mails(VERIFY, "ada@example.org")[-1]))
    assert r.status_code == 302 and _user("ada@example.org").email_verified
    # verified: asking again sends nothing
    r = client.post("/account/verify", follow_redirects=True)
    assert "bereits bestätigt" in r.get_data(as_text=True)
    assert len(mails(VERIFY, "ada@example.org")) == 3


def test_a_forged_or_foreign_link_verifies_nothing(app, world):
    register(app)
    mail = mails(VERIFY, "ada@example.org")[0]
    path = link_in(mail)
    client = app.test_client()
    assert client.get(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")).status_code == 400
    # a token signed with another key (another installation) is refused
    app.config["SECRET_KEY"] = "another-key"
    assert client.get(path).status_code == 400
    assert not _user("ada@example.org").email_verified


def test_the_mail_speaks_the_applicants_language(app, world):
    client = register(app, email="ann@example.org", name="Ann English", locale="en")
    [mail] = mails(VERIFY, "ann@example.org")
    assert mail.subject == "Please confirm your e-mail address" and "valid for 7 days" in mail.body
    client.post("/language", data={"lang": "en"})
    page = client.get("/account").get_data(as_text=True)
    assert "not confirmed yet" in page and "Send the confirmation link again" in page


def test_registering_a_known_address_looks_the_same_and_tells_only_its_owner(app, world):
    """No account enumeration: the page answers a known address exactly like a new one; the owner gets a mail
    with the ways to log in, and nothing of the existing account changes."""
    from foerdercall.accounts.operations import authenticate

    def attempt(email):
        client = app.test_client()
        r = client.post(
            "/register",
            data={
                "name": "Mallory",
                "organisation": "",
                "email": email,
                "password": "ein-anderes-Passwort",
                "password2": "ein-anderes-Passwort",
                "locale": "de",
                "privacy": "y",
            },
            follow_redirects=True,
        )
        return r.status_code, r.get_data(as_text=True).replace(email, "<address>")

    from foerdercall.accounts.operations import create_user

    known = create_user("lena@example.org", "Lena Bekannt", PASSWORD)
    db.session.commit()
    hash_before, name_before = known.password_hash, known.name
    assert attempt(known.email) == attempt("neu@example.org")
    db.session.expire_all()
    assert (known.password_hash, known.name) == (hash_before, name_before)
    [mail] = mails("account_exists", known.email)
    assert mail.subject == "Sie haben bereits ein Konto bei foerdercall"
    assert "kein neues angelegt" in mail.body and "/password/forgot" in mail.body and "/login" in mail.body
    assert mails(VERIFY, known.email) == []
    # the new address got its account and its link; a second try within the minute sends nothing twice
    assert _user("neu@example.org") is not None and len(mails(VERIFY, "neu@example.org")) == 1
    attempt(known.email)
    assert len(mails("account_exists", known.email)) == 1
    # the mail is no secret link; the known account still logs in with its own password only
    assert authenticate(known.email, "ein-anderes-Passwort") is None
    assert authenticate(known.email, PASSWORD) is not None
