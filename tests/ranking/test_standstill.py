"""The standstill: from the call's threshold (€50,000 net by default) the unsuccessful applicants are told
first and the award can be made only 10 calendar days later; an objection recorded in that time holds it."""

from __future__ import annotations

import pytest
from conftest import berlin, login
from rank_helpers import opened, score, submitted
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import make_award, record_objection, resolve_objection, sign_off
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Proposal
from foerdercall.ranking.models import Standstill
from foerdercall.reviews.operations import assign_reviewer
from foerdercall.workflow.engine import fire


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


def setup(world, clock, amount=20_000_00):
    """A (amount) approved; B rejected; C excluded; the call's threshold lowered to 20.000 €."""
    world.call.standstill_threshold_cents = 20_000_00
    a, b, c = submitted(world, 3, amounts=[amount, 5_000_00, 5_000_00], titles=["Groß", "Klein", "Raus"])
    opened(world, clock, [a, b])
    fire(c, "declare_ineligible", world.ka, reason="Kein Bezug zu Leipzig")
    for p in (a, b):
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    score(a, world.rev1, [5] * 6)
    score(b, world.rev1, [2] * 6)
    sign_off(a, world.ka, "approve")
    sign_off(a, world.afw, "approve")
    sign_off(b, world.ka, "reject", "Zu wenig Wirkung")
    db.session.commit()
    return a, b, c


def test_large_award_waits_ten_calendar_days_and_an_objection_holds_it(app, world, clock):
    a, b, c = setup(world, clock)
    assert refused(make_award, a, world.ka) == (
        "Ab 20.000,00\xa0€ netto informiert die Stadt zuerst die nicht berücksichtigten Bieter und wartet "
        "10 Kalendertage (Stillhaltefrist): bitte starten Sie die Stillhaltefrist."
    )

    clock.set(berlin(2026, 11, 5, 10, 0))
    fire(a, "start_standstill", world.ka)
    db.session.commit()
    assert a.state == "standstill"
    st = db.session.scalar(select(Standstill).where(Standstill.proposal_id == a.id))
    assert st.ends_at == berlin(2026, 11, 15, 23, 59) and st.informed == 2 and st.amount_cents == 20_000_00
    mails = db.session.scalars(
        select(OutboxMail).where(OutboxMail.kind == "standstill_notice").order_by(OutboxMail.proposal_id)
    ).all()
    assert [m.proposal_id for m in mails] == [b.id, c.id]
    assert mails[0].subject == f"Information vor dem Zuschlag: Ihr Angebot {b.file_number}"
    assert "Der Zuschlag wird nicht vor dem 15.11.2026, 23:59 Uhr erteilt." in mails[0].body
    assert f"auf das Angebot {a.file_number} (20.000,00\xa0€ netto)" in mails[0].body
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "start_standstill")).one()
    assert ev.data["informed"] == 2 and ev.actor_id == world.ka.id

    clock.set(berlin(2026, 11, 10, 12, 0))
    assert refused(make_award, a, world.ka) == (
        "Die Stillhaltefrist läuft bis 15.11.2026, 23:59 Uhr; erst danach kann der Zuschlag erteilt werden."
    )
    assert refused(record_objection, a, world.ka, " ") == "Bitte geben Sie den Einwand wieder."
    record_objection(a, world.ka, "Bieter B rügt die Bewertung der Wirkung.")
    db.session.commit()

    clock.set(berlin(2026, 11, 16, 0, 0))  # the period is over, but the objection holds the award
    assert (
        refused(make_award, a, world.ka)
        == "Ein Einwand vom 10.11.2026, 12:00 Uhr hält den Zuschlag an, bis er erledigt ist."
    )
    resolve_objection(a, world.afw, "Geprüft: die Bewertung ist nachvollziehbar begründet.")
    db.session.commit()
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.proposal_id == a.id).order_by(AuditEvent.id)
    ).all()
    assert actions[-4:] == ["start_standstill", "record_objection", "resolve_objection", "award"]


def test_no_objection_after_the_period_and_the_award_on_the_eleventh_day(app, world, clock):
    a, _b, _c = setup(world, clock)
    clock.set(berlin(2026, 11, 5, 10, 0))
    fire(a, "start_standstill", world.ka)
    db.session.commit()
    clock.set(berlin(2026, 11, 15, 23, 59, 30))  # the last minute still belongs to the period
    assert refused(make_award, a, world.ka).startswith("Die Stillhaltefrist läuft bis")
    clock.set(berlin(2026, 11, 16, 0, 0))
    assert (
        refused(record_objection, a, world.ka, "zu spät")
        == "Die Stillhaltefrist ist am 15.11.2026, 23:59 Uhr abgelaufen."
    )
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"


def test_below_the_threshold_no_standstill(app, world, clock):
    a, _b, _c = setup(world, clock, amount=19_999_99)
    assert (
        refused(fire, a, "start_standstill", world.ka)
        == "Unter 20.000,00\xa0€ netto ist keine Stillhaltefrist nötig: der Zuschlag kann direkt erteilt werden."
    )
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"


def test_standstill_over_http(app, world, clock):
    a, _b, _c = setup(world, clock)
    client = app.test_client()
    login(client, "ka@x.test")
    url = f"/calls/{world.call.id}/decision"
    assert "Stillhaltefrist starten und nicht berücksichtigte Bieter informieren" in client.get(url).get_data(
        as_text=True
    )
    assert client.post(f"/proposals/{a.id}/fire/start_standstill", data={}).status_code == 302
    resp = client.post(f"/proposals/{a.id}/objection", data={"reason": "Rüge von B"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Der Einwand ist erfasst; er hält den Zuschlag an." in page and "Rüge von B" in page
    resp = client.post(
        f"/proposals/{a.id}/objection",
        data={"reason": "unbegründet", "resolve": "1", "outcome": "dismissed"},
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert "Der Einwand ist zurückgewiesen; der Zuschlag ist nach Ablauf der Frist möglich." in page
    assert "zurückgewiesen am" in page


def test_objection_text_with_control_characters_over_http(app, world, clock):
    """A NUL in the objection or its result (PostgreSQL cannot store one) is dropped, never a 500."""
    a, _b, _c = setup(world, clock)
    client = app.test_client()
    login(client, "ka@x.test")
    assert client.post(f"/proposals/{a.id}/fire/start_standstill", data={}).status_code == 302
    page = client.post(
        f"/proposals/{a.id}/objection", data={"reason": "Rüge\x00 von B\x07"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Der Einwand ist erfasst; er hält den Zuschlag an." in page and "Rüge von B" in page
    page = client.post(
        f"/proposals/{a.id}/objection",
        data={"reason": "\x00\x00", "resolve": "1", "outcome": "dismissed"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Bitte geben Sie das Ergebnis der Prüfung an." in page
    st = db.session.scalar(select(Standstill).where(Standstill.proposal_id == a.id))
    assert (st.objection, st.resolved_at, st.objection_open) == ("Rüge von B", None, True)


def test_a_grant_has_no_standstill_whatever_its_amount(app, world, clock):
    """The standstill is a procurement rule: a grant of €50,000 or more is awarded directly, with no
    notice to the others and no step offered for it."""
    world.call.mode = "grant"
    world.call.budget_cents = world.call.max_amount_cents = 100_000_00
    a, _b, _c = setup(world, clock, amount=60_000_00)
    assert refused(fire, a, "start_standstill", world.ka) == (
        "Eine Zuwendung kennt keine Stillhaltefrist: sie kann direkt bewilligt werden."
    )
    client = app.test_client()
    login(client, "ka@x.test")
    page = client.get(f"/calls/{world.call.id}/decision").get_data(as_text=True)
    assert "Stillhaltefrist" not in page
    page = client.get(f"/proposals/{a.id}").get_data(as_text=True)
    assert "Stillhaltefrist" not in page and "Zuwendung bewilligen" in page
    make_award(a, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, a.id).state == "awarded"
    assert not db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "standstill_notice")).all()
