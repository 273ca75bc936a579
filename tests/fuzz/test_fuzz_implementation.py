"""The implementation forms fuzzed (tests/test_fuzz_forms.py), beyond payments, milestones and the interim
report: accepting a milestone, reviewing the interim report, the final report and the official's answers to it, the
mails' release and retry buttons;
and parked posts (a long form sent after the session ended) taken over or discarded. Never a 500; a refused
form changes no row."""

from __future__ import annotations

from urllib.parse import quote

from conftest import award_after_deadline, fill_draft, login
from hypothesis import strategies as st
from sqlalchemy import select
from test_fuzz_forms import HOSTILE, fields, fuzz, post, show

from foerdercall.awards.models import Milestone, Report
from foerdercall.awards.operations import report_milestone, submit_interim_report
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.privacy.models import LegalHold
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

TRIGGERS = ("accept_final_report", "request_report_changes", "terminate", "submit_final_report")


def _in_implementation(world, clock):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    return p


def test_the_reports_and_their_review(app, world, clock, backend):
    """The milestone and report reviews, the final report, the proposal's buttons, the mails' buttons and a legal
    hold on the record."""
    p = _in_implementation(world, clock)
    ms = db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).first()
    report_milestone(ms, world.applicant, "Erreicht")
    report = submit_interim_report(p, world.applicant, "Halbzeit", "Honorare", 1_000_00)
    db.session.commit()
    ka, applicant = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(applicant, world.applicant.email)

    def body(example):
        trigger, data = example
        post(ka, f"/proposals/{p.id}/milestones/{ms.id}/accept", data)
        post(ka, f"/proposals/{p.id}/reports/{report.id}/review", data)
        post(applicant, f"/proposals/{p.id}/reports/final", data)
        reports = db.session.scalars(select(Report.id).where(Report.proposal_id == p.id)).all()
        for rid in reports:
            post(ka, f"/proposals/{p.id}/reports/{rid}/review", data)
        post(ka, f"/proposals/{p.id}/fire/{quote(trigger, safe='') or 'x'}", data)
        for mid in db.session.scalars(select(OutboxMail.id).order_by(OutboxMail.id.desc()).limit(2)):
            post(ka, f"/outbox/{mid}/release", data)  # the mails' buttons (release a held one, send again)
            post(ka, f"/worker/mails/{mid}/retry", data)
        post(ka, "/worker/mails/retry", data)  # the failed mails of a reason and a time
        post(ka, f"/proposals/{p.id}/hold", data)  # a legal hold on the record, and its lifting
        for hid in db.session.scalars(select(LegalHold.id)):
            post(ka, f"/holds/{hid}/lift", data)
        show(ka, f"/proposals/{p.id}", "/outbox", "/retention")
        show(applicant, f"/proposals/{p.id}")

    fuzz(
        backend,
        st.tuples(
            st.one_of(st.sampled_from(TRIGGERS), HOSTILE),
            fields(
                "decision",
                "reason",
                "narrative",
                "use_of_funds",
                "spent",
                "failed_from",
                "failed_until",
                decision=st.sampled_from(["approve", "reject"]),
            ),
        ),
        body,
        explicit=(
            (
                "request_report_changes",
                {
                    "decision": "approve",
                    "narrative": "Fertig",
                    "spent": "1.234,56",
                    "reason": "Bitte ergänzen",
                },
            ),
        ),
    )


def test_parked_posts_taken_over_and_discarded(app, world, clock, backend):
    """Posts without a session (it ended) to the long forms are parked; the person logs in and takes the text
    over or discards it."""
    from foerdercall.parking.models import ParkedPost

    p = _in_implementation(world, clock)
    ms = db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).first()
    db.session.commit()
    names = (
        "answer",
        "text",
        "narrative",
        "use_of_funds",
        "spent",
        "reason",
        "decision",
        "title",
        "summary",
        "score_1",
        "justification_1",
        "score_²",
        "score_١",
        "justification_999999999",
        "score_0",
    )

    def body(example):
        which, data = example
        browser = app.test_client()  # its session ended: no login cookie, the parking cookie stays
        before = set(db.session.scalars(select(ParkedPost.id)))
        for url in (
            f"/proposals/{p.id}/milestones/{ms.id}/report",
            f"/proposals/{p.id}/reports/final",
            f"/proposals/{p.id}/answer",
            f"/proposals/{p.id}/sign-off",
            "/reviews/1",
            f"/proposals/{p.id}/fire/terminate",
        ):
            post(browser, url, data, refused_changes_nothing=False)  # parking the text is the point
        login(browser, world.applicant.email)
        assert browser.get("/parked").status_code < 500
        for pid in sorted(set(db.session.scalars(select(ParkedPost.id))) - before) or [0]:
            post(browser, f"/parked/{pid}/{which}", {k: v for k, v in data.items() if k == "reason"})

    fuzz(backend, st.tuples(st.sampled_from(["apply", "discard"]), fields(*names)), body)


def test_reported_values_their_review_and_the_report_texts(app, world, clock, backend):
    """Achieved values in a report (values, comments, an indicator the call lacks), an official's confirmation and
    correction, and the office's texts of the implementation reports: never a 500, a refused form changes nothing."""
    from decimal import Decimal

    from foerdercall.outcomes.models import IndicatorValue

    p = _in_implementation(world, clock)
    submit_interim_report(p, world.applicant, "Halbzeit", "", 0, values={"participants": (Decimal(5), "")})
    db.session.commit()
    value = db.session.scalar(select(IndicatorValue.id))
    ka, applicant = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(applicant, world.applicant.email)

    def body(data):
        post(applicant, f"/proposals/{p.id}/reports/final", data)
        post(ka, f"/proposals/{p.id}/values/{value}/confirm", data)
        post(ka, f"/proposals/{p.id}/values/{value}/correct", data)
        post(ka, "/reports/implementation/2026/text", data)
        post(ka, f"/calls/{world.call.id}/implementation-report/text", data)
        show(ka, f"/proposals/{p.id}", "/reports/implementation/2026")  # where the values and texts show

    fuzz(
        backend,
        fields(
            "narrative",
            "value",
            "reason",
            "text",
            "value-participants",
            "comment-participants",
            "value-jobs",
            "value-visitors",
            "value-follow_up_funding",
        ),
        body,
        explicit=(
            {
                "narrative": "Fertig",
                "value-participants": "1.234",
                "value-jobs": "0,75",
                "comment-participants": "Liste",
            },
            {"value": "12", "reason": "Doppelt gezählt", "text": "Der Bericht des Amtes."},
        ),
    )
