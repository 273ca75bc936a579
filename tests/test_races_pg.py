"""Races on PostgreSQL: two (or more) real connections acting on the same rows at the same moment.

Each thread pushes its own app context (Flask-SQLAlchemy scopes the session per app context, so each
thread has its own session and its own database connection), loads its objects, waits at a barrier with
the others and then acts and commits. The row locks (SELECT ... FOR NO KEY UPDATE) must serialise them so that
the outcome is one of the serial orders: never two approvals, never a lost sign-off, never more awarded
than the budget, never two file numbers for one submission.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from conftest import DEADLINE, PASSWORD, ROLES, berlin, fill_draft, publish
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from foerdercall.accounts import operations as account_ops
from foerdercall.accounts.models import User
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Payment, SignOff
from foerdercall.awards.operations import make_award, record_payment, sign_off
from foerdercall.calls.models import Call
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.i18n import format_money
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire

pytestmark = pytest.mark.postgres

AFTER_DEADLINE = (2026, 11, 2, 9, 0)


# --- a world on PostgreSQL, built through the service layer ---------------------------------------------


def make_users(extra_applicants: int = 0) -> SimpleNamespace:
    users = {}
    for key, (email, name, roles, office) in ROLES.items():
        users[key] = account_ops.create_user(email, name, PASSWORD, roles=roles, office=office)
    users["afw2"] = account_ops.create_user(
        "afw2@x.test", "Friederike AfWiFö", PASSWORD, roles=("official",), office="AfWiFoe"
    )
    users["applicants"] = [users["applicant"], users["applicant2"]] + [
        account_ops.create_user(f"app{i}@x.test", f"Applicant {i}", PASSWORD, roles=("applicant",))
        for i in range(3, 3 + extra_applicants)
    ]
    db.session.commit()
    return SimpleNamespace(**users)


def make_call(
    u, code: str = "KW26", budget_cents: int = 50_000_00, max_amount_cents: int = 25_000_00
) -> Call:
    call = create_call(
        u.ka,
        code=code,
        title=f"Kreativwirtschaft {code}",
        description="Testaufruf",
        fields_of_action=["networks", "marketing"],
        budget_cents=budget_cents,
        max_amount_cents=max_amount_cents,
        estimated_value_cents=budget_cents,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(*DEADLINE),
        reviewers_per_proposal=1,
    )
    publish(call, u.ka)
    db.session.commit()
    return call


def draft(call: Call, applicant: User, amount: int = 10_000_00, title: str = "Netzwerk Plagwitz") -> Proposal:
    p = start_draft(call, applicant)
    fill_draft(p, applicant, amount=amount, title=title)
    db.session.commit()
    return p


def submitted(
    call: Call, applicant: User, amount: int = 10_000_00, title: str = "Netzwerk Plagwitz"
) -> Proposal:
    p = submit(draft(call, applicant, amount, title), applicant)
    db.session.commit()
    return p


def open_call(call: Call, u, clock) -> None:
    """The deadline passes, the call closes and two officials open the sealed submissions."""
    clock.set(berlin(*AFTER_DEADLINE))
    fire(call, "close", None)
    request_opening(call, u.ka)
    confirm_opening(call, u.afw)
    db.session.commit()


def review(p: Proposal, u, score: int = 4) -> Proposal:
    """eligible -> in_review -> reviewed, with one reviewer scoring every criterion; the tie-break criteria
    differ per proposal, so that no two proposals of a call tie (ties: tests/ranking/test_ties.py)."""
    fire(p, "declare_eligible", u.ka)
    r = assign_reviewer(p, u.rev1, u.ka)
    fire(p, "start_review", u.ka)
    sign_neutrality(p.call, u.rev1)
    declare_conflict(p, u.rev1, False)
    distinct = {"feasibility": 2 + p.id % 4, "economic_effect": p.id // 4 % 6}
    save_review(
        r, u.rev1, {c.id: (distinct.get(c.key, score), "Begründung") for c in p.call.criteria}, submit=True
    )
    db.session.commit()
    assert p.state == "reviewed"
    return p


def approve(p: Proposal, u) -> Proposal:
    sign_off(p, u.ka, "approve")
    sign_off(p, u.afw, "approve")
    db.session.commit()
    assert p.state == "approved"
    return p


# --- running things at the same moment -------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "ok", "refused" or "error"
    message: str = ""
    value: object = None


def race(app, *jobs: Callable[[], Callable[[], object]]) -> list[Outcome]:
    """Run the jobs at once, each in its own thread, app context, session and connection.

    A job loads what it needs in its own session and returns the action; all actions start together
    (barrier), each is committed on success and rolled back on a refusal or error.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def run(i: int, job) -> None:
        with app.app_context():
            try:
                try:
                    action = job()
                    db.session.commit()  # end the loading transaction: the action starts afresh
                finally:
                    barrier.wait(timeout=30)
                value = action()
                db.session.commit()
                outcomes[i] = Outcome("ok", value=value)
            except ActionRefused as exc:
                db.session.rollback()
                outcomes[i] = Outcome("refused", exc.message)
            except Exception as exc:  # noqa: BLE001 -- reported by the test, never swallowed
                db.session.rollback()
                outcomes[i] = Outcome("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing transaction hung (lock never released?)"
    assert all(o is not None for o in outcomes)
    errors = [o.message for o in outcomes if o.kind == "error"]
    assert not errors, errors
    return outcomes  # type: ignore[return-value]


def job(fn: Callable[..., object], *loads: tuple[type, int], **kw) -> Callable[[], Callable[[], object]]:
    """A job calling fn(*objects, **kw), the objects loaded by (model, id) in the thread's own session."""

    def prepare():
        objs = [db.session.get(model, ident) for model, ident in loads]
        assert all(o is not None for o in objs)
        return lambda: fn(*objs, **kw)

    return prepare


def transition(trigger: str) -> Callable[..., object]:
    """fire(p, trigger, actor, **kw) with the trigger fixed: a job function taking (p, actor)."""

    def act(p, actor, **kw):
        return fire(p, trigger, actor, **kw)

    return act


def fresh() -> None:
    """Forget what the test's own session has cached; the next reads come from the database."""
    db.session.commit()
    db.session.expire_all()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- a. the two offices sign at the same moment ----------------------------------------------------------


def test_both_offices_sign_at_once_give_exactly_one_approval(pg_app, clock):
    u = make_users()
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(20)]
    open_call(call, u, clock)
    for p in ps:
        review(p, u)
    ids = [p.id for p in ps]

    for pid in ids:
        outcomes = race(
            pg_app,
            job(sign_off, (Proposal, pid), (User, u.ka.id), decision="approve"),
            job(sign_off, (Proposal, pid), (User, u.afw.id), decision="approve"),
        )
        # the second to get the lock sees the first's sign-off and completes the decision
        assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes

    fresh()
    for pid in ids:
        p = db.session.get(Proposal, pid)
        assert p.state == "approved"
        rows = db.session.scalars(select(SignOff).where(SignOff.proposal_id == pid)).all()
        assert sorted((s.office, s.user_id, s.decision) for s in rows) == [
            ("AfWiFoe", u.afw.id, "approve"),
            ("KA", u.ka.id, "approve"),
        ]
        approvals = db.session.scalars(
            select(AuditEvent).where(AuditEvent.proposal_id == pid, AuditEvent.action == "approve")
        ).all()
        assert len(approvals) == 1
        assert (approvals[0].from_state, approvals[0].to_state) == ("reviewed", "approved")
        signed = db.session.scalars(
            select(AuditEvent.actor_office).where(
                AuditEvent.proposal_id == pid, AuditEvent.action == "sign_off_approve"
            )
        ).all()
        assert sorted(signed) == ["AfWiFoe", "KA"]
    # the approval was fired by whichever official signed second: sometimes one, sometimes the other
    assert count(Award) == 0


def test_approval_and_rejection_at_once_decide_exactly_once(pg_app, clock):
    u = make_users()
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(6)]
    open_call(call, u, clock)
    for p in ps:
        review(p, u)

    for p in ps:
        approval, rejection = race(
            pg_app,
            job(sign_off, (Proposal, p.id), (User, u.ka.id), decision="approve"),
            job(sign_off, (Proposal, p.id), (User, u.afw.id), decision="reject", reason="Kosten zu hoch"),
        )
        # the rejection always goes through; an approval signed after it is refused, not recorded
        assert rejection.kind == "ok"
        fresh()
        offices = sorted(db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == p.id)))
        if approval.kind == "ok":
            assert offices == ["AfWiFoe", "KA"]
        else:
            assert approval.message == "Nur begutachtete Angebote können gezeichnet werden."
            assert offices == ["AfWiFoe"]

    fresh()
    for p in ps:
        p = db.session.get(Proposal, p.id)
        # a rejection by either office rejects, whatever the order
        assert p.state == "rejected"
        decisions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.proposal_id == p.id, AuditEvent.action.in_(("approve", "reject"))
            )
        ).all()
        assert decisions == ["reject"]
        assert count(OutboxMail, OutboxMail.proposal_id == p.id, OutboxMail.kind == "rejection") == 1


# --- b. two officials of the same office sign at once ----------------------------------------------------


def test_two_officials_of_one_office_sign_once(pg_app, clock):
    u = make_users()
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(8)]
    open_call(call, u, clock)
    for p in ps:
        review(p, u)

    for p in ps:
        outcomes = race(
            pg_app,
            job(sign_off, (Proposal, p.id), (User, u.ka.id), decision="approve"),
            job(sign_off, (Proposal, p.id), (User, u.ka2.id), decision="approve"),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        winner = u.ka if outcomes[0].kind == "ok" else u.ka2
        refused = next(o for o in outcomes if o.kind == "refused")
        assert refused.message == f"Ihr Amt hat bereits gezeichnet ({winner.name})."

        fresh()
        rows = db.session.scalars(select(SignOff).where(SignOff.proposal_id == p.id)).all()
        assert [(s.office, s.user_id) for s in rows] == [("KA", winner.id)]
        assert db.session.get(Proposal, p.id).state == "reviewed"  # AfWiFö has not signed yet
        assert count(AuditEvent, AuditEvent.proposal_id == p.id, AuditEvent.action == "sign_off_approve") == 1

    # the other office can still complete every decision
    for p in ps:
        sign_off(db.session.get(Proposal, p.id), u.afw, "approve")
        db.session.commit()
        assert db.session.get(Proposal, p.id).state == "approved"


def test_two_officials_of_each_office_sign_at_once(pg_app, clock):
    """Four officials, two per office, all at the same moment: one sign-off per office, one approval."""
    u = make_users()
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(6)]
    open_call(call, u, clock)
    for p in ps:
        review(p, u)

    for p in ps:
        outcomes = race(
            pg_app,
            *(
                job(sign_off, (Proposal, p.id), (User, official.id), decision="approve")
                for official in (u.ka, u.ka2, u.afw, u.afw2)
            ),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "ok", "refused", "refused"], outcomes
        for o in outcomes:  # refused because the office has signed, or because the decision is made
            if o.kind == "refused":
                assert (
                    o.message.startswith("Ihr Amt hat bereits gezeichnet (")
                    or o.message == "Nur begutachtete Angebote können gezeichnet werden."
                ), o.message

    fresh()
    for p in ps:
        assert db.session.get(Proposal, p.id).state == "approved"
        offices = db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == p.id)).all()
        assert sorted(offices) == ["AfWiFoe", "KA"]
        assert count(AuditEvent, AuditEvent.proposal_id == p.id, AuditEvent.action == "approve") == 1


# --- c. awards against the budget -----------------------------------------------------------------------


def test_two_awards_at_once_never_exceed_the_budget(pg_app, clock):
    u = make_users()
    calls = [make_call(u, code=f"B{i}", budget_cents=30_000_00, max_amount_cents=25_000_00) for i in range(5)]
    pairs = [
        [submitted(call, applicant, amount=20_000_00) for applicant in (u.applicant, u.applicant2)]
        for call in calls
    ]
    clock.set(berlin(*AFTER_DEADLINE))
    for call, pair in zip(calls, pairs, strict=True):
        open_call(call, u, clock)
        for p in pair:
            approve(review(p, u), u)

    for pair in pairs:
        outcomes = race(
            pg_app,
            job(make_award, (Proposal, pair[0].id), (User, u.ka.id)),
            job(make_award, (Proposal, pair[1].id), (User, u.afw.id)),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        refused = next(o for o in outcomes if o.kind == "refused")
        assert refused.message == (
            f"Das verbleibende Budget des Aufrufs ({format_money(10_000_00)}) "
            f"reicht für {format_money(20_000_00)} nicht aus."
        )

    fresh()
    for call, pair in zip(calls, pairs, strict=True):
        call = db.session.get(Call, call.id)
        awards = db.session.scalars(select(Award).where(Award.call_id == call.id)).all()
        assert len(awards) == 1
        assert call.committed_cents == 2_000_000 == awards[0].amount_cents
        states = sorted(db.session.get(Proposal, p.id).state for p in pair)
        assert states == ["approved", "awarded"]
        assert count(OutboxMail, OutboxMail.call_id == call.id, OutboxMail.kind == "award") == 1
        assert count(AuditEvent, AuditEvent.call_id == call.id, AuditEvent.action == "award") == 1


def test_many_awards_at_once_take_only_what_the_budget_holds(pg_app, clock):
    u = make_users(extra_applicants=6)
    call = make_call(u, budget_cents=50_000_00, max_amount_cents=25_000_00)
    amounts = [12_000_00, 9_000_00, 14_000_00, 12_000_00, 7_500_00, 11_000_00, 13_000_00, 8_000_00]
    ps = [
        submitted(call, applicant, amount=amount)
        for applicant, amount in zip(u.applicants, amounts, strict=True)
    ]
    open_call(call, u, clock)
    for p in ps:
        approve(review(p, u), u)
    officials = (u.ka, u.ka2, u.afw, u.afw2)

    outcomes = race(
        pg_app, *(job(make_award, (Proposal, p.id), (User, officials[i % 4].id)) for i, p in enumerate(ps))
    )

    fresh()
    call = db.session.get(Call, call.id)
    awards = db.session.scalars(select(Award).where(Award.call_id == call.id)).all()
    total = sum(a.amount_cents for a in awards)
    assert total <= call.budget_cents
    assert total == call.committed_cents
    assert len(awards) == sum(o.kind == "ok" for o in outcomes) >= 3  # any three of these amounts fit
    # every refusal is about the remaining budget, and was right when it was given
    for p, o in zip(ps, outcomes, strict=True):
        state = db.session.get(Proposal, p.id).state
        if o.kind == "ok":
            assert state == "awarded"
        else:
            assert state == "approved"
            assert o.message.startswith("Das verbleibende Budget des Aufrufs")
            assert p.requested_amount_cents > call.remaining_cents  # it would not fit even now
    assert count(AuditEvent, AuditEvent.call_id == call.id, AuditEvent.action == "award") == len(awards)


# --- d. submissions at the same moment ------------------------------------------------------------------


def test_one_draft_submitted_twice_at_once_is_submitted_once(pg_app, clock):
    u = make_users()
    call = make_call(u)
    pids = []
    for i in range(10):
        p = draft(call, u.applicant, title=f"Maßnahme {i}")
        outcomes = race(
            pg_app,
            job(submit, (Proposal, p.id), (User, u.applicant.id)),
            job(submit, (Proposal, p.id), (User, u.applicant.id)),
        )
        # the second waits for the first's row lock, then finds the same submission done: no error for the
        # person who clicked twice, and one submission (one event, one file number, one receipt)
        assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes
        assert count(AuditEvent, AuditEvent.proposal_id == p.id, AuditEvent.action == "submit") == 1
        assert count(OutboxMail, OutboxMail.proposal_id == p.id, OutboxMail.kind == "receipt") == 1
        pids.append(p.id)

    fresh()
    rows = [db.session.get(Proposal, pid) for pid in pids]
    assert [p.state for p in rows] == ["submitted"] * 10
    assert [p.file_number for p in rows] == [f"KW26-{i:04d}" for i in range(1, 11)]
    assert db.session.get(Call, call.id).next_file_seq == 11
    for pid in pids:
        assert count(OutboxMail, OutboxMail.proposal_id == pid, OutboxMail.kind == "receipt") == 1
        assert count(AuditEvent, AuditEvent.proposal_id == pid, AuditEvent.action == "submit") == 1


def test_applicants_submitting_at_once_get_distinct_sequential_file_numbers(pg_app, clock):
    u = make_users(extra_applicants=6)
    call = make_call(u)
    ps = [draft(call, applicant, title=f"Maßnahme {i}") for i, applicant in enumerate(u.applicants)]

    outcomes = race(pg_app, *(job(submit, (Proposal, p.id), (User, p.applicant_id)) for p in ps))
    assert [o.kind for o in outcomes] == ["ok"] * len(ps), outcomes

    fresh()
    rows = [db.session.get(Proposal, p.id) for p in ps]
    assert sorted(p.file_seq for p in rows) == list(range(1, len(ps) + 1))  # distinct, no gaps
    assert sorted(p.file_number for p in rows) == [f"KW26-{i:04d}" for i in range(1, len(ps) + 1)]
    assert db.session.get(Call, call.id).next_file_seq == len(ps) + 1
    assert count(OutboxMail, OutboxMail.call_id == call.id, OutboxMail.kind == "receipt") == len(ps)
    # each receipt names its own file number
    for p in rows:
        body = db.session.scalar(
            select(OutboxMail.body).where(OutboxMail.proposal_id == p.id, OutboxMail.kind == "receipt")
        )
        assert p.file_number in body

    # and a second wave continues the sequence
    more = [draft(call, applicant, title=f"Zweite {i}") for i, applicant in enumerate(u.applicants[:4])]
    outcomes = race(pg_app, *(job(submit, (Proposal, p.id), (User, p.applicant_id)) for p in more))
    assert [o.kind for o in outcomes] == ["ok"] * 4, outcomes
    fresh()
    seqs = db.session.scalars(
        select(Proposal.file_seq).where(Proposal.call_id == call.id).order_by(Proposal.file_seq)
    ).all()
    assert seqs == list(range(1, len(ps) + 5))


def test_applicants_saving_and_submitting_in_one_request_at_once_do_not_wait_for_each_other(pg_app, clock):
    """The proposal form saves the draft with a new attachment (an audit event referring to the call) and
    submits it (which locks the call for the file number) in one transaction. Several applicants doing so at once must not deadlock: the
    call's lock must not wait for the references the others' audit events hold on it."""
    import io

    from conftest import PDF

    from foerdercall.proposals.operations import add_attachment, save_draft

    u = make_users(extra_applicants=4)
    call = make_call(u)
    ps = [draft(call, applicant, title=f"Maßnahme {i}") for i, applicant in enumerate(u.applicants)]

    def save_and_submit(p, applicant):
        save_draft(p, applicant, {"summary": f"Zuletzt geändert von {applicant.name}"})
        add_attachment(p, applicant, "other", io.BytesIO(PDF), "nachtrag.pdf")  # audited: refers to the call
        return submit(p, applicant)

    outcomes = race(pg_app, *(job(save_and_submit, (Proposal, p.id), (User, p.applicant_id)) for p in ps))
    assert [o.kind for o in outcomes] == ["ok"] * len(ps), outcomes
    fresh()
    assert sorted(db.session.get(Proposal, p.id).file_seq for p in ps) == list(range(1, len(ps) + 1))


# --- e. two transitions on one proposal ------------------------------------------------------------------


def _opened(u, clock, n: int) -> list[Proposal]:
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(n)]
    open_call(call, u, clock)
    return ps


def _transitions(pid: int) -> list[tuple[str, str, str]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state)
            .where(
                AuditEvent.proposal_id == pid,
                AuditEvent.from_state.is_not(None),
                AuditEvent.from_state != AuditEvent.to_state,
            )
            .order_by(AuditEvent.id)
        )
    ]


def test_withdraw_and_exclusion_at_once_exactly_one_wins(pg_app, clock):
    u = make_users()
    ps = _opened(u, clock, 8)
    wins = set()
    for p in ps:
        outcomes = race(
            pg_app,
            job(transition("withdraw"), (Proposal, p.id), (User, u.applicant.id)),
            job(
                transition("declare_ineligible"),
                (Proposal, p.id),
                (User, u.ka.id),
                reason="Kein Leipzig-Bezug",
            ),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        fresh()
        state = db.session.get(Proposal, p.id).state
        if outcomes[0].kind == "ok":
            assert state == "withdrawn"
            assert outcomes[1].message == "„Formal ausschließen“ ist im Status „Zurückgezogen“ nicht möglich."
            assert _transitions(p.id) == [
                ("submit", "draft", "submitted"),
                ("withdraw", "submitted", "withdrawn"),
            ]
        else:
            assert state == "ineligible"
            assert (
                outcomes[0].message == "„Zurückziehen“ ist im Status „Formal ausgeschlossen“ nicht möglich."
            )
            assert _transitions(p.id) == [
                ("submit", "draft", "submitted"),
                ("declare_ineligible", "submitted", "ineligible"),
            ]
        wins.add(state)
    assert wins <= {"withdrawn", "ineligible"}


def test_two_officials_deciding_eligibility_at_once_exactly_one_wins(pg_app, clock):
    u = make_users()
    ps = _opened(u, clock, 8)
    for p in ps:
        outcomes = race(
            pg_app,
            job(transition("declare_eligible"), (Proposal, p.id), (User, u.ka.id)),
            job(
                transition("declare_ineligible"),
                (Proposal, p.id),
                (User, u.afw.id),
                reason="Über der Obergrenze",
            ),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        fresh()
        state = db.session.get(Proposal, p.id).state
        if outcomes[0].kind == "ok":
            assert state == "eligible"
            assert (
                outcomes[1].message == "„Formal ausschließen“ ist im Status „Formal geprüft“ nicht möglich."
            )
            assert count(OutboxMail, OutboxMail.proposal_id == p.id, OutboxMail.kind == "ineligible") == 0
        else:
            assert state == "ineligible"
            assert (
                outcomes[0].message
                == "„Formal zulässig“ ist im Status „Formal ausgeschlossen“ nicht möglich."
            )
            assert count(OutboxMail, OutboxMail.proposal_id == p.id, OutboxMail.kind == "ineligible") == 1
        assert len(_transitions(p.id)) == 2


def test_withdraw_while_declared_eligible_is_never_lost(pg_app, clock):
    """Withdrawal is allowed before and after the eligibility check: in either order the applicant's
    withdrawal stands; declaring eligible after it is refused, never overwrites it."""
    u = make_users()
    ps = _opened(u, clock, 8)
    for p in ps:
        outcomes = race(
            pg_app,
            job(transition("withdraw"), (Proposal, p.id), (User, u.applicant.id)),
            job(transition("declare_eligible"), (Proposal, p.id), (User, u.ka.id)),
        )
        assert outcomes[0].kind == "ok", outcomes
        fresh()
        assert db.session.get(Proposal, p.id).state == "withdrawn"
        if outcomes[1].kind == "ok":  # eligible first, then withdrawn from there
            assert _transitions(p.id) == [
                ("submit", "draft", "submitted"),
                ("declare_eligible", "submitted", "eligible"),
                ("withdraw", "eligible", "withdrawn"),
            ]
        else:
            assert outcomes[1].message == "„Formal zulässig“ ist im Status „Zurückgezogen“ nicht möglich."
            assert _transitions(p.id) == [
                ("submit", "draft", "submitted"),
                ("withdraw", "submitted", "withdrawn"),
            ]
        assert count(OutboxMail, OutboxMail.proposal_id == p.id, OutboxMail.kind == "withdrawn") == 1


def test_withdraw_and_the_last_sign_off_at_once_exactly_one_wins(pg_app, clock):
    u = make_users()
    ps = _opened(u, clock, 8)
    for p in ps:
        review(p, u)
        sign_off(p, u.ka, "approve")
        db.session.commit()

    for p in ps:
        outcomes = race(
            pg_app,
            job(transition("withdraw"), (Proposal, p.id), (User, u.applicant.id)),
            job(sign_off, (Proposal, p.id), (User, u.afw.id), decision="approve"),
        )
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        fresh()
        state = db.session.get(Proposal, p.id).state
        if outcomes[0].kind == "ok":
            assert state == "withdrawn"
            assert outcomes[1].message == "Nur begutachtete Angebote können gezeichnet werden."
            assert count(SignOff, SignOff.proposal_id == p.id) == 1
        else:
            assert state == "approved"
            assert outcomes[0].message == "„Zurückziehen“ ist im Status „Genehmigt“ nicht möglich."
            assert count(SignOff, SignOff.proposal_id == p.id) == 2
        assert (
            count(AuditEvent, AuditEvent.proposal_id == p.id, AuditEvent.action.in_(("approve", "withdraw")))
            == 1
        )


# --- f. the last two reviews come in at the same moment ------------------------------------------------


def test_last_reviews_submitted_at_once_finish_the_review(pg_app, clock):
    """Each reviewer's transaction must see the other's review as in, or the proposal stays in review
    although every review is in (neither finishing reviewer moves it on)."""
    u = make_users()
    ps = _opened(u, clock, 8)
    reviews = []
    for p in ps:
        fire(p, "declare_eligible", u.ka)
        pair = [assign_reviewer(p, reviewer, u.ka) for reviewer in (u.rev1, u.rev2)]
        fire(p, "start_review", u.ka)
        for reviewer in (u.rev1, u.rev2):
            sign_neutrality(p.call, reviewer)
            declare_conflict(p, reviewer, False)
        reviews.append([r.id for r in pair])
    db.session.commit()
    scores = {c.id: (3, "Begründung") for c in ps[0].call.criteria}

    for r1, r2 in reviews:
        outcomes = race(
            pg_app,
            job(save_review, (Review, r1), (User, u.rev1.id), scores=scores, submit=True),
            job(save_review, (Review, r2), (User, u.rev2.id), scores=scores, submit=True),
        )
        assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes

    fresh()
    for p in ps:
        assert db.session.get(Proposal, p.id).state == "reviewed"
        finished = db.session.scalars(
            select(AuditEvent).where(AuditEvent.proposal_id == p.id, AuditEvent.action == "finish_review")
        ).all()
        assert [(e.actor_name, e.from_state, e.to_state) for e in finished] == [
            ("System", "in_review", "reviewed")
        ]


# --- payments: their sum never exceeds the award, whoever books at the same moment (issue 19) ----------------


def test_payments_at_once_never_exceed_the_award(pg_app, clock):
    """Four officials book 6.000 € each at the same moment on an award of 20.000 €: three go through, the fourth
    is refused; the database holds the sum below the award (CHECK on the award's paid amount) whatever the
    application does."""
    u = make_users()
    call = make_call(u, code="PAY", budget_cents=50_000_00, max_amount_cents=25_000_00)
    p = submitted(call, u.applicant, amount=20_000_00)
    clock.set(berlin(*AFTER_DEADLINE))
    open_call(call, u, clock)
    approve(review(p, u), u)
    make_award(p, u.ka)
    fire(p, "accept_award", u.applicant)
    db.session.commit()

    outcomes = race(
        pg_app,
        *(
            job(
                record_payment, (Proposal, p.id), (User, official.id), amount_cents=6_000_00, note=f"Rate {i}"
            )
            for i, official in enumerate((u.ka, u.ka2, u.afw, u.afw2))
        ),
    )
    fresh()
    award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
    paid = db.session.scalar(
        select(func.sum(Payment.amount_cents)).where(Payment.award_id == award.id, Payment.state == "paid")
    )
    assert sorted(o.kind for o in outcomes) == ["ok", "ok", "ok", "refused"]
    assert paid == award.paid_cents == 18_000_00
    refusal = next(o for o in outcomes if o.kind == "refused")
    assert refusal.message == "Die Zahlung überschreitet die Auftragssumme (noch offen: 2.000,00\xa0€)."

    # and the database refuses on its own what the application would not check
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Award).where(Award.id == award.id).values(paid_cents=award.amount_cents + 1)
        )
        db.session.flush()
    db.session.rollback()
