"""Reminders the sweep sends by itself: each once, at its moment (not a minute early), German or English by
the recipient's choice; a second sweep, or a later one, sends nothing again.

The world's call closes 31.10.2026, 23:59 Leipzig time (CET, after the clock change of 25.10.); its drafts
are reminded 7 days (24.10., 23:59 CEST = 21:59 UTC) and 1 day (30.10., 23:59 CET = 22:59 UTC) before.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, berlin, fill_draft, publish
from sqlalchemy import func, select

from foerdercall.accounts.operations import create_user
from foerdercall.awards.models import Award, Milestone
from foerdercall.awards.operations import make_award, report_milestone, sign_off
from foerdercall.calls.models import Call
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.operations import extend_deadline, start_draft, submit
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.timeutil import days_before
from foerdercall.workflow.engine import fire
from worker.sweep import sweep

UTC = dt.UTC
MINUTE = dt.timedelta(minutes=1)
R7 = berlin(2026, 10, 24, 23, 59)
R1 = berlin(2026, 10, 30, 23, 59)


def run(clock, at) -> dict[str, int]:
    """The sweep at `at` (the clock stands there too, as it would for the scheduler)."""
    clock.set(at)
    report = sweep()
    db.session.expire_all()
    return report


def mails(kind: str) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)))


def sent(kind: str) -> list[tuple[str, int | None]]:
    """(recipient e-mail, proposal) of every mail of this kind, in order of queueing."""
    return [(m.to_address, m.proposal_id) for m in mails(kind)]


def key(kind: str, obj: str, due: dt.datetime, user) -> str:
    return f"{kind}:{obj}:{due.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}:{user.id}"


def draft(call, user, title="Netzwerk Plagwitz", complete=True):
    p = start_draft(call, user)
    if complete:
        fill_draft(p, user, title=title)
    db.session.commit()
    return p


def english_applicant(email="ann@x.test"):
    return create_user(email, "Ann English", PASSWORD, roles=("applicant",), locale="en")


# --- applicants with a draft ----------------------------------------------------------------------------------


def test_draft_reminders_7_and_1_day_before_the_deadline(app, world, clock):
    ann = english_applicant()
    de = draft(world.call, world.applicant, "Netzwerk Plagwitz")
    en = draft(world.call, ann, "Creative Lindenau")
    done = draft(world.call, world.applicant2, "Schon fertig")
    gone = draft(world.call, create_user("c@x.test", "Cleo", PASSWORD), complete=False)
    fire(gone, "withdraw", gone.applicant)
    db.session.commit()

    assert run(clock, R7 - MINUTE)["drafts_reminded"] == 0
    assert run(clock, R7)["drafts_reminded"] == 3
    assert sent("draft_reminder") == [("app@x.test", de.id), ("ann@x.test", en.id), ("app2@x.test", done.id)]
    for again in (R7, R7 + dt.timedelta(seconds=30), R7 + dt.timedelta(days=2)):
        assert run(clock, again)["drafts_reminded"] == 0

    clock.set(berlin(2026, 10, 28, 12, 0))  # submitted in between: no 1-day reminder
    submit(done, world.applicant2)
    db.session.commit()

    assert run(clock, R1 - MINUTE)["drafts_reminded"] == 0
    assert run(clock, R1)["drafts_reminded"] == 2
    assert run(clock, R1)["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 1, 0, 0))["drafts_reminded"] == 0  # the call is closed
    assert sent("draft_reminder") == [
        ("app@x.test", de.id),
        ("ann@x.test", en.id),
        ("app2@x.test", done.id),
        ("app@x.test", de.id),
        ("ann@x.test", en.id),
    ]

    # the key: kind, object, due moment (UTC), recipient
    assert [m.dedup_key for m in mails("draft_reminder") if m.proposal_id == de.id] == [
        key("draft_reminder", f"proposal:{de.id}", R7, world.applicant),
        key("draft_reminder", f"proposal:{de.id}", R1, world.applicant),
    ]
    assert R7 == dt.datetime(2026, 10, 24, 21, 59, tzinfo=UTC)  # CEST
    assert R1 == dt.datetime(2026, 10, 30, 22, 59, tzinfo=UTC)  # CET
    german, english = [m for m in mails("draft_reminder") if m.proposal_id in (de.id, en.id)][:2]
    assert (german.locale, english.locale) == ("de", "en")
    assert (
        german.subject
        == "Erinnerung: Ihr Angebot zum Aufruf „Kreativwirtschaft 2026“ ist noch nicht eingereicht"
    )
    assert "Guten Tag Ada Applicant," in german.body
    assert "Die Einreichungsfrist endet am 31.10.2026, 23:59 Uhr." in german.body
    assert english.subject == 'Reminder: your offer for "Kreativwirtschaft 2026" has not been submitted yet'
    assert "The submission deadline ends on 31 Oct 2026, 23:59." in english.body
    assert all(m.status == "sent" for m in mails("draft_reminder"))


def test_a_personal_extension_shifts_the_draft_reminders(app, world, clock):
    ext = draft(world.call, world.applicant, "Verlängert")
    other = draft(world.call, world.applicant2, "Regulär")
    extended = berlin(2026, 11, 10, 23, 59)
    extend_deadline(ext, world.ka, extended, "Krankheit der Projektleitung (Attest liegt vor)")
    db.session.commit()

    assert run(clock, R7)["drafts_reminded"] == 1
    assert run(clock, R1)["drafts_reminded"] == 1
    assert sent("draft_reminder") == [("app2@x.test", other.id), ("app2@x.test", other.id)]

    assert run(clock, berlin(2026, 11, 1, 0, 0))["calls_closed"] == 1  # the call closes; the extension holds
    assert run(clock, berlin(2026, 11, 3, 23, 58))["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 3, 23, 59))["drafts_reminded"] == 1
    assert run(clock, berlin(2026, 11, 9, 23, 58))["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 9, 23, 59))["drafts_reminded"] == 1
    assert run(clock, berlin(2026, 11, 9, 23, 59))["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 11, 0, 0))["drafts_reminded"] == 0
    assert [m.dedup_key for m in mails("draft_reminder") if m.proposal_id == ext.id] == [
        key("draft_reminder", f"proposal:{ext.id}", berlin(2026, 11, 3, 23, 59), world.applicant),
        key("draft_reminder", f"proposal:{ext.id}", berlin(2026, 11, 9, 23, 59), world.applicant),
    ]
    assert "10.11.2026, 23:59 Uhr" in mails("draft_reminder")[-1].body


def test_offsets_are_set_per_call_and_a_late_draft_gets_no_stale_reminder(app, world, clock):
    call = create_call(
        world.ka,
        code="KW27",
        title="Aufruf mit eigenen Erinnerungen",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 11, 20, 12, 0),
        reminder_days=[10, 2],
    )
    publish(call, world.ka)
    db.session.commit()
    early = draft(call, world.applicant, "Früh")
    clock.set(berlin(2026, 11, 14, 9, 0))  # after the 10-day moment: nothing stale for this one
    late = draft(call, world.applicant2, "Spät")

    assert run(clock, berlin(2026, 11, 10, 11, 59))["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 10, 12, 0))["drafts_reminded"] == 1
    assert run(clock, berlin(2026, 11, 14, 9, 0))["drafts_reminded"] == 0
    assert run(clock, berlin(2026, 11, 18, 12, 0))["drafts_reminded"] == 2
    assert sent("draft_reminder") == [
        ("app@x.test", early.id),
        ("app@x.test", early.id),
        ("app2@x.test", late.id),
    ]


def test_a_sweep_that_missed_several_moments_sends_one_reminder(app, world, clock):
    p = draft(world.call, world.applicant)
    assert run(clock, berlin(2026, 10, 31, 8, 0))["drafts_reminded"] == 1  # the worker was down for a week
    assert [m.dedup_key for m in mails("draft_reminder")] == [
        key("draft_reminder", f"proposal:{p.id}", R1, world.applicant)
    ]


def test_a_reminded_draft_is_not_read_again_by_the_next_sweeps(app, world, clock):
    """The sweep runs every minute until the deadline: the query itself leaves out drafts already reminded
    of the current moment (the key is matched in SQL), so thousands of drafts are not loaded again."""
    from foerdercall.proposals.models import Proposal
    from foerdercall.reminders.operations import _reminded

    de = draft(world.call, world.applicant)
    other = draft(world.call, world.applicant2)

    def reminded(due):
        return set(
            db.session.scalars(
                select(Proposal.id).where(
                    _reminded("draft_reminder", "proposal", Proposal.id, due, Proposal.applicant_id)
                )
            )
        )

    assert reminded(R7) == set()
    run(clock, R7)
    assert reminded(R7) == {de.id, other.id}
    assert reminded(R1) == set()  # the next moment is a new reminder


# --- reviewers, sign-offs ---------------------------------------------------------------------------------------


def _review_call(world, clock):
    call = create_call(
        world.ka,
        code="KW28",
        title="Aufruf mit Begutachtung",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 15, 23, 59),
        review_deadline=berlin(2026, 11, 20, 12, 0),
    )
    publish(call, world.ka)
    db.session.commit()
    return call


def _in_review(world, clock, call, applicants):
    ps = [draft(call, a, f"Maßnahme von {a.name}") for a in applicants]
    for p in ps:
        submit(p, p.applicant)
    db.session.commit()
    run(clock, berlin(2026, 10, 16, 9, 0))  # the call closes
    clock.set(berlin(2026, 11, 2, 9, 0))
    request_opening(call, world.ka)
    confirm_opening(call, world.afw)
    for p in ps:
        fire(p, "declare_eligible", world.ka)
        for rev in (world.rev1, world.rev2):
            assign_reviewer(p, rev, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    return ps


def _review(p, rev):
    sign_neutrality(p.call, rev)
    declare_conflict(p, rev, False)
    review = db.session.scalar(select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == rev.id))
    save_review(review, rev, {c.id: (4, "nachvollziehbar") for c in p.call.criteria}, submit=True)
    db.session.commit()
    return review


def test_reviewers_are_reminded_before_the_review_deadline(app, world, clock):
    rev1 = world.rev1
    rev1.locale = "en"  # Rita reads English
    db.session.commit()
    call = _review_call(world, clock)
    kept, withdrawn = _in_review(world, clock, call, [world.applicant, world.applicant2])
    fire(withdrawn, "withdraw", withdrawn.applicant)
    db.session.commit()
    r3, r1 = berlin(2026, 11, 17, 12, 0), berlin(2026, 11, 19, 12, 0)

    assert run(clock, r3 - MINUTE)["reviewers_reminded"] == 0
    assert run(clock, r3)["reviewers_reminded"] == 2
    assert run(clock, r3 + dt.timedelta(hours=1))["reviewers_reminded"] == 0
    clock.set(berlin(2026, 11, 18, 10, 0))
    _review(kept, rev1)  # Rita is done: no 1-day reminder for her
    assert run(clock, r1 - MINUTE)["reviewers_reminded"] == 0
    assert run(clock, r1)["reviewers_reminded"] == 1
    assert run(clock, r1)["reviewers_reminded"] == 0
    assert run(clock, berlin(2026, 11, 21, 9, 0))["reviewers_reminded"] == 0
    assert sent("review_reminder") == [
        ("rev1@x.test", kept.id),
        ("rev2@x.test", kept.id),
        ("rev2@x.test", kept.id),
    ]
    en, de = mails("review_reminder")[:2]
    assert en.subject == f"Reminder: review of {kept.file_number} due 20 Nov 2026, 12:00"
    assert de.subject == f"Erinnerung: Gutachten zu {kept.file_number} bis 20.11.2026, 12:00 Uhr"
    review = db.session.scalar(
        select(Review).where(Review.proposal_id == kept.id, Review.reviewer_id == world.rev2.id)
    )
    assert de.dedup_key == key("review_reminder", f"review:{review.id}", r3, world.rev2)


def test_pending_sign_off_reminded_then_escalated_to_the_head_of_office(app, world, clock):
    head = create_user(
        "leitung@x.test",
        "Lena Leitung",
        PASSWORD,
        roles=("official",),
        office="AfWiFoe",
        head_of_office=True,
        locale="en",
    )
    create_user(
        "ka-leitung@x.test", "Kurt Leitung", PASSWORD, roles=("official",), office="KA", head_of_office=True
    )
    call = _review_call(world, clock)
    (p,) = _in_review(world, clock, call, [world.applicant])
    clock.set(berlin(2026, 11, 10, 14, 30))
    _review(p, world.rev1)
    _review(p, world.rev2)  # reviewed now: the sign-offs are waiting
    assert db.session.get(type(p), p.id).state == "reviewed"
    clock.set(berlin(2026, 11, 11, 9, 0))
    sign_off(p, world.ka, "approve")  # KA signs; AfWiFö does not
    db.session.commit()

    remind_at, escalate_at = berlin(2026, 11, 13, 14, 30), berlin(2026, 11, 15, 14, 30)  # 3 and 5 days
    assert run(clock, remind_at - MINUTE)["sign_offs_reminded"] == 0
    assert run(clock, remind_at)["sign_offs_reminded"] == 2  # AfWiFö's officials (the head is one of them)
    assert sent("signoff_reminder") == [("afw@x.test", p.id), ("leitung@x.test", p.id)]
    assert run(clock, remind_at + dt.timedelta(days=1))["sign_offs_reminded"] == 0
    assert run(clock, escalate_at - MINUTE)["sign_offs_reminded"] == 0
    assert run(clock, escalate_at)["sign_offs_reminded"] == 1
    assert run(clock, escalate_at)["sign_offs_reminded"] == 0
    assert sent("signoff_escalation") == [("leitung@x.test", p.id)]
    (esc,) = mails("signoff_escalation")
    assert esc.dedup_key == key("signoff_escalation", f"proposal:{p.id}", escalate_at, head)
    assert esc.subject == f"Sign-off for {p.file_number} overdue (AfWiFö)"
    assert "(5 days)" in esc.body
    german = mails("signoff_reminder")[0]
    assert german.subject == f"Erinnerung: Zeichnung zu {p.file_number} ausstehend"
    assert "seit dem 10.11.2026, 14:30 Uhr vor. Die Zeichnung Ihres Amtes (AfWiFö) fehlt noch." in german.body

    clock.set(berlin(2026, 11, 16, 9, 0))
    sign_off(p, world.afw, "approve")
    db.session.commit()
    assert run(clock, berlin(2026, 11, 20, 9, 0))["sign_offs_reminded"] == 0


# --- implementation: milestones, the final report, the end of the year --------------------------------------


def _in_implementation(world, clock, applicant):
    call = _review_call(world, clock)
    (p,) = _in_review(world, clock, call, [applicant])
    _review(p, world.rev1)
    _review(p, world.rev2)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    db.session.commit()
    clock.set(berlin(2026, 11, 12, 10, 0))
    fire(p, "accept_award", applicant)
    db.session.commit()
    return p


def test_milestones_reminded_before_and_marked_overdue_after_their_date(app, world, clock):
    ann = english_applicant()
    p = _in_implementation(world, clock, ann)
    kickoff, midterm = db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all()
    assert (kickoff.due_at, midterm.due_at) == (berlin(2026, 12, 12, 10, 0), berlin(2027, 5, 12, 10, 0))
    before = berlin(2026, 12, 5, 10, 0)

    assert run(clock, before - MINUTE)["milestones_reminded"] == 0
    assert run(clock, before)["milestones_reminded"] == 1
    assert run(clock, before + dt.timedelta(days=1))["milestones_reminded"] == 0
    (reminder,) = mails("milestone_reminder")
    assert (reminder.to_address, reminder.locale) == ("ann@x.test", "en")
    assert reminder.subject == 'Reminder: milestone "Projektstart / Kick-off" due 12 Dec 2026, 10:00'
    assert reminder.dedup_key == key("milestone_reminder", f"milestone:{kickoff.id}", before, ann)

    # the due minute still belongs to the applicant; then the milestone is overdue, once
    assert run(clock, berlin(2026, 12, 12, 10, 0, 59))["milestones_overdue"] == 0
    report = run(clock, berlin(2026, 12, 12, 10, 1))
    assert report["milestones_overdue"] == 4  # the applicant and the officials of both offices
    assert db.session.get(Milestone, kickoff.id).overdue_at == berlin(2026, 12, 12, 10, 1)
    assert sorted(a for a, _ in sent("milestone_overdue")) == [
        "afw@x.test",
        "ann@x.test",
        "ka2@x.test",
        "ka@x.test",
    ]
    assert run(clock, berlin(2026, 12, 12, 10, 1))["milestones_overdue"] == 0
    assert run(clock, berlin(2027, 1, 20, 9, 0))["milestones_overdue"] == 0
    german = next(m for m in mails("milestone_overdue") if m.to_address == "ka@x.test")
    assert german.subject == f"Meilenstein überfällig: {p.file_number}, „Projektstart / Kick-off“"

    # a milestone reported before its date is neither reminded nor overdue
    clock.set(berlin(2027, 2, 1, 9, 0))
    report_milestone(db.session.get(Milestone, midterm.id), ann, "Halbzeit erreicht")
    db.session.commit()
    for at in (berlin(2027, 5, 5, 10, 0), berlin(2027, 5, 13, 10, 0)):
        report = run(clock, at)
        assert (report["milestones_reminded"], report["milestones_overdue"]) == (0, 0)
    assert len(mails("milestone_reminder")) == 1


def test_implementation_end_reminded_then_final_report_overdue(app, world, clock):
    p = _in_implementation(world, clock, world.applicant)
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    ends = award.implementation_ends_at
    assert ends == berlin(2027, 11, 12, 10, 0)
    remind_at = days_before(ends, 30)
    assert remind_at == berlin(2027, 10, 13, 10, 0)  # in CEST; the period ends in CET

    assert run(clock, remind_at - MINUTE)["implementation_end_reminded"] == 0
    assert run(clock, remind_at)["implementation_end_reminded"] == 4
    assert run(clock, remind_at + dt.timedelta(days=3))["implementation_end_reminded"] == 0
    assert sorted(a for a, _ in sent("implementation_ending")) == [
        "afw@x.test",
        "app@x.test",
        "ka2@x.test",
        "ka@x.test",
    ]
    mail = next(m for m in mails("implementation_ending") if m.to_address == "app@x.test")
    assert mail.subject == f"Umsetzungszeitraum von {p.file_number} endet am 12.11.2027, 10:00 Uhr"

    assert run(clock, ends)["reports_overdue"] == 0
    assert run(clock, ends + MINUTE)["reports_overdue"] == 4
    assert run(clock, ends + dt.timedelta(days=2))["reports_overdue"] == 0
    assert db.session.get(Award, award.id).report_overdue_at == ends + MINUTE
    assert sorted(a for a, _ in sent("report_overdue")) == [
        "afw@x.test",
        "app@x.test",
        "ka2@x.test",
        "ka@x.test",
    ]


def test_nothing_for_proposals_that_left_the_process(app, world, clock):
    p = _in_implementation(world, clock, world.applicant)
    fire(p, "terminate", world.ka, reason="Leistung wird nicht erbracht.")
    db.session.commit()
    for at in (
        berlin(2026, 12, 5, 10, 0),
        berlin(2026, 12, 13, 10, 0),
        berlin(2027, 10, 13, 10, 0),
        berlin(2027, 11, 13, 10, 0),
    ):
        report = run(clock, at)
        assert {k: v for k, v in report.items() if k.endswith(("_reminded", "_overdue"))} == dict.fromkeys(
            (
                "drafts_reminded",
                "reviewers_reminded",
                "sign_offs_reminded",
                "milestones_reminded",
                "milestones_overdue",
                "reports_overdue",
                "implementation_end_reminded",
            ),
            0,
        )


@pytest.mark.parametrize("runs", [2, 3])
def test_sweeps_run_again_and_again_send_each_reminder_once(app, world, clock, runs):
    drafts = [draft(world.call, world.applicant, "A"), draft(world.call, world.applicant2, "B")]
    moments = [R7 + dt.timedelta(minutes=m) for m in range(0, 120, 30)] + [R1, R1 + MINUTE]
    for at in moments:
        for _ in range(runs):
            run(clock, at)
    keys = [m.dedup_key for m in mails("draft_reminder")]
    assert len(keys) == len(set(keys)) == 2 * len(drafts)
    assert db.session.scalar(select(Call.state).where(Call.id == world.call.id)) == "published"


# --- several sweeps at the same moment (PostgreSQL: real connections) ----------------------------------------


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_sweeps_send_each_reminder_once(app, world, clock):
    import threading

    from foerdercall.audit.models import AuditEvent

    ann = english_applicant()
    p = _in_implementation(world, clock, ann)
    call = create_call(
        world.ka,
        code="KW29",
        title="Winteraufruf",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 11, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 15, 23, 59),
    )
    publish(call, world.ka)
    db.session.commit()
    applicants = [create_user(f"w{i}@x.test", f"Winter {i}", PASSWORD) for i in range(3)]
    for a in applicants:
        draft(call, a, f"Entwurf {a.name}")
    at = berlin(2026, 12, 12, 10, 1)  # drafts: 7 days before their deadline; the kick-off milestone: overdue
    clock.set(at)
    p_id = p.id
    db.session.remove()

    barrier, errors = threading.Barrier(4), []

    def one_sweep():
        with app.app_context():
            try:
                barrier.wait()
                sweep(at)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one_sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = [
        m.dedup_key
        for m in db.session.scalars(
            select(OutboxMail).where(OutboxMail.kind.in_(("draft_reminder", "milestone_overdue")))
        )
    ]
    assert len(keys) == len(set(keys)) == 3 + 4
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.proposal_id == p_id, AuditEvent.action == "milestone_overdue"
            )
        )
        == 1
    )
