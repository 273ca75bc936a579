"""Every transition of the proposal and call machines: who may fire it, what it needs, what it writes.

The proposal is put into each state through the real operations (drafting, submission, the joint
opening, the formal check, reviews, sign-offs, award, implementation), never by setting ``state``.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from conftest import DEADLINE, PASSWORD, PDF, berlin, fill_draft, publish
from sqlalchemy import func, select

from foerdercall.accounts.operations import create_user, set_roles
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import Award, Milestone, SignOff
from foerdercall.awards.operations import (
    accept_milestone,
    record_payment,
    report_milestone,
    review_interim_report,
    sign_off,
    submit_interim_report,
)
from foerdercall.calls.models import Call, CallVersion
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Clarification, Proposal
from foerdercall.proposals.operations import add_attachment, save_draft, start_draft
from foerdercall.ranking.models import Standstill
from foerdercall.reminders.operations import REMINDERS
from foerdercall.reviews.models import Review
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.timeutil import minute_end
from foerdercall.workflow.engine import fire
from worker.sweep import sweep
from workflows import call as call_wf
from workflows import proposal as proposal_wf

AFTER_DEADLINE = berlin(2026, 11, 2, 9, 0)  # the call of the world closes 31.10.2026, 23:59

# --- driving a proposal through the real operations ------------------------------------------------------

MAIN_PATH = (
    "draft",
    "submitted",
    "eligible",
    "in_review",
    "reviewed",
    "approved",
    "awarded",
    "in_implementation",
    "final_report_submitted",
    "completed",
)
BRANCHES = {  # state: the main-path state it branches off
    "withdrawn": "draft",
    "clarification": "submitted",
    "ineligible": "submitted",
    "rejected": "reviewed",
    "standstill": "approved",
    "lapsed": "awarded",
    "declined": "awarded",
    "terminated": "in_implementation",
}


def route_to(target: str) -> list[str]:
    if target in MAIN_PATH:
        return list(MAIN_PATH[: MAIN_PATH.index(target) + 1])
    base = BRANCHES[target]
    return list(MAIN_PATH[: MAIN_PATH.index(base) + 1]) + [target]


def open_submissions(world, clock):
    """After the deadline: the call closes (worker) and two officials open the sealed submissions."""
    call = db.session.get(Call, world.call.id)
    if call.opening is not None and call.opening.confirmed_at is not None:
        return
    if clock.t < minute_end(call.submission_deadline):
        clock.set(AFTER_DEADLINE)
    if call.state == "published":
        fire(call, "close", None)
    request_opening(call, world.ka)
    confirm_opening(call, world.afw)


def _review_all(p, world):
    """Both reviewers score; the first differs per proposal on the tie-break criteria, so that no two proposals of
    a call tie (ties have tests of their own: tests/ranking/test_ties.py)."""
    for rev in (world.rev1, world.rev2):
        sign_neutrality(p.call, rev)
        declare_conflict(p, rev, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == rev.id)
        )
        distinct = (
            {"feasibility": 2 + p.id % 4, "economic_effect": p.id // 4 % 6} if rev == world.rev1 else {}
        )
        save_review(
            review,
            rev,
            {c.id: (distinct.get(c.key, 4), "nachvollziehbar") for c in p.call.criteria},
            submit=True,
        )


def complete_implementation(p, world):
    """Milestones reported and accepted, interim report accepted: the final report may come."""
    applicant = p.applicant
    for m in db.session.scalars(
        select(Milestone).where(Milestone.proposal_id == p.id).order_by(Milestone.position)
    ).all():
        report_milestone(m, applicant, f"{m.title}: erreicht")
        accept_milestone(m, world.ka)
    r = submit_interim_report(p, applicant, "Zwischenstand", "Honorare", 4_000_00)
    review_interim_report(r, world.ka, True)


def _step(world, clock, p, dest):
    applicant = p.applicant
    if dest == "submitted":
        fire(p, "submit", applicant)
    elif dest == "withdrawn":
        fire(p, "withdraw", applicant)
    elif dest == "eligible":
        open_submissions(world, clock)
        fire(p, "declare_eligible", world.ka)
    elif dest == "clarification":
        open_submissions(world, clock)
        fire(
            p, "request_documents", world.ka, reason="Bitte die Eigenerklärungen unterschrieben nachreichen."
        )
    elif dest == "ineligible":
        open_submissions(world, clock)
        fire(p, "declare_ineligible", world.afw, reason="Kein Bezug zu Leipzig.")
    elif dest == "in_review":
        assign_reviewer(p, world.rev1, world.ka)
        assign_reviewer(p, world.rev2, world.ka)
        fire(p, "start_review", world.ka)
    elif dest == "reviewed":
        _review_all(p, world)  # the last review fires finish_review by itself
    elif dest == "approved":
        sign_off(p, world.ka, "approve")
        sign_off(p, world.afw, "approve")
    elif dest == "rejected":
        sign_off(p, world.ka, "reject", reason="Umsetzbarkeit nicht belegt.")
    elif dest == "standstill":
        start_standstill(p, world.ka)
    elif dest == "awarded":
        fire(p, "award", world.ka)
    elif dest == "lapsed":
        award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
        clock.set(minute_end(award.accept_by))
        sweep()
    elif dest == "declined":
        fire(p, "decline_award", applicant)
    elif dest == "in_implementation":
        fire(p, "accept_award", applicant)
    elif dest == "terminated":
        fire(p, "terminate", world.ka, reason="Leistung wird nicht erbracht.")
    elif dest == "final_report_submitted":
        complete_implementation(p, world)
        fire(
            p,
            "submit_final_report",
            applicant,
            narrative="Sachbericht",
            use_of_funds="Honorare",
            spent_cents=9_000_00,
        )
    elif dest == "completed":
        fire(p, "accept_final_report", world.afw)
    else:  # pragma: no cover - a state the route does not know
        raise AssertionError(dest)


def start_standstill(p, actor):
    """The call's standstill threshold lowered to this offer's amount for the moment (the world's amounts are
    below €50,000): the standstill starts; the threshold is restored for the other proposals."""
    call = p.call
    threshold, call.standstill_threshold_cents = call.standstill_threshold_cents, p.requested_amount_cents
    try:
        return fire(p, "start_standstill", actor)
    finally:
        call.standstill_threshold_cents = threshold


def new_draft(world, applicant=None, amount=10_000_00, title="Netzwerk Plagwitz"):
    applicant = applicant or world.applicant
    p = start_draft(db.session.get(Call, world.call.id), applicant)
    fill_draft(p, applicant, amount=amount, title=title)
    return p


def advance(world, clock, p, target: str):
    """Move p along the route to `target` from wherever it is; commits each step like a request would."""
    route = route_to(target)
    assert p.state in route, (p.state, target)
    for dest in route[route.index(p.state) + 1 :]:
        _step(world, clock, p, dest)
        db.session.commit()
        p = db.session.get(Proposal, p.id)
        assert p.state == dest, f"expected {dest}, got {p.state}"
    return p


def drive(world, clock, target: str, applicant=None, **kw):
    """A fresh proposal in `target`; a proposal in `submitted` has been opened (the formal check can start)."""
    p = new_draft(world, applicant, **kw)
    db.session.commit()
    p = advance(world, clock, p, target)
    if target == "submitted":
        open_submissions(world, clock)
        db.session.commit()
    return p


def audit_count(p) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.proposal_id == p.id))


def reload_state(p) -> str:
    db.session.rollback()
    return db.session.scalar(select(Proposal.state).where(Proposal.id == p.id))


# --- the expected table -----------------------------------------------------------------------------------

OFFICIALS = ("ka", "afw")
ROLES = ("applicant", "applicant2", "ka", "afw", "rev1", "advisor", "admin", "system")
# Who may fire what, written down from DOMAIN.md (not read from workflows/): the table below checks the data.
EXPECTED_WHO = {
    "submit": {"applicant"},
    "withdraw": {"applicant"},
    "discard": {"system"},  # the applicant's account is deleted before a submission (foerdercall/privacy)
    "request_documents": set(OFFICIALS),
    "answer_request": {"applicant"},
    "lapse_request": {"system"},
    "declare_eligible": set(OFFICIALS),
    "declare_ineligible": set(OFFICIALS),
    "start_review": set(OFFICIALS),
    "finish_review": {"system"},
    "finish_review_short": set(OFFICIALS),  # fewer reviews than the call asks for: a recorded decision
    "approve": set(OFFICIALS),
    "reject": set(OFFICIALS),
    "start_standstill": set(OFFICIALS),
    "reopen_decision": set(OFFICIALS),  # an objection in the standstill is upheld
    "award": set(OFFICIALS),
    "accept_award": {"applicant"},
    "lapse_award": {"system"},
    "decline_award": {"applicant"},  # the applicant does not take the award: the money is free at once
    "submit_final_report": {"applicant"},
    "accept_final_report": set(OFFICIALS),
    "request_report_changes": set(OFFICIALS),
    "terminate": set(OFFICIALS),
}
EXPECTED_EDGES = {
    ("draft", "submit"): "submitted",
    **{
        (s, "withdraw"): "withdrawn"
        for s in ("draft", "submitted", "clarification", "eligible", "in_review", "reviewed")
    },
    ("draft", "discard"): "withdrawn",
    ("submitted", "request_documents"): "clarification",
    ("clarification", "answer_request"): "submitted",
    ("clarification", "lapse_request"): "ineligible",
    ("submitted", "declare_eligible"): "eligible",
    ("submitted", "declare_ineligible"): "ineligible",
    ("eligible", "start_review"): "in_review",
    ("in_review", "finish_review"): "reviewed",
    ("in_review", "finish_review_short"): "reviewed",
    ("reviewed", "approve"): "approved",
    ("reviewed", "reject"): "rejected",
    ("approved", "award"): "awarded",
    ("approved", "start_standstill"): "standstill",
    ("standstill", "award"): "awarded",
    ("standstill", "reopen_decision"): "reviewed",
    ("awarded", "accept_award"): "in_implementation",
    ("awarded", "lapse_award"): "lapsed",
    ("awarded", "decline_award"): "declined",
    ("in_implementation", "submit_final_report"): "final_report_submitted",
    ("final_report_submitted", "accept_final_report"): "completed",
    ("final_report_submitted", "request_report_changes"): "in_implementation",
    ("in_implementation", "terminate"): "terminated",
    ("final_report_submitted", "terminate"): "terminated",
}


def edges(module):
    return [(src, t["trigger"], t["dest"]) for t in module.TRANSITIONS for src in t["source"]]


PROPOSAL_EDGES = edges(proposal_wf)
# (state, trigger, role) -> "ok" | "refused": the whole table, from the workflow data
TABLE = [
    (src, trigger, role, "ok" if role in EXPECTED_WHO[trigger] else "refused")
    for src, trigger, _dest in PROPOSAL_EDGES
    for role in ROLES
]


def test_workflow_data_matches_the_domain():
    """The data the engine runs is the machine of DOMAIN.md: the same edges, the same actors."""
    assert {(s, t): d for s, t, d in PROPOSAL_EDGES} == EXPECTED_EDGES
    for t in proposal_wf.TRANSITIONS:
        who = set()
        for spec in t["who"]:
            who |= set(OFFICIALS) if spec.startswith("official") else {spec}
        assert who == EXPECTED_WHO[t["trigger"]], t["trigger"]
    # every state is reachable by the test's routes, and every non-terminal state has a way out
    assert set(MAIN_PATH) | set(BRANCHES) == set(proposal_wf.STATES)
    sources = {s for s, _t, _d in PROPOSAL_EDGES}
    assert sources | set(proposal_wf.TERMINAL) == set(proposal_wf.STATES)


REASON = "Begründung für die Akte"


def perform(world, clock, p, trigger, actor):
    """Fire `trigger` as `actor` the way the application does, after making its conditions hold."""
    if trigger == "start_review":
        assign_reviewer(p, world.rev1, world.ka)
        return fire(p, "start_review", actor)
    if trigger == "finish_review":
        # rev1 reviews; rev2 then declares a conflict, which removes the last open review: the review is
        # complete (the call asks for one) and finishes by itself; the worker's fire is then a no-op
        sign_neutrality(p.call, world.rev1)
        declare_conflict(p, world.rev1, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == world.rev1.id)
        )
        save_review(review, world.rev1, {c.id: (3, "tragfähig") for c in p.call.criteria}, submit=True)
        sign_neutrality(p.call, world.rev2)
        declare_conflict(p, world.rev2, True, "Ehemalige Kollegin")
        db.session.commit()
        assert p.state == "reviewed"
        return fire(p, "finish_review", actor)
    if trigger == "finish_review_short":  # the call asks for two; one is in and nobody else reviews
        p.call.reviewers_per_proposal = 2
        sign_neutrality(p.call, world.rev1)
        declare_conflict(p, world.rev1, False)
        review = db.session.scalar(
            select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == world.rev1.id)
        )
        save_review(review, world.rev1, {c.id: (3, "tragfähig") for c in p.call.criteria}, submit=True)
        sign_neutrality(p.call, world.rev2)
        declare_conflict(p, world.rev2, True, "Ehemalige Kollegin")
        assert p.state == "in_review"
        try:
            return fire(p, trigger, actor, reason=REASON)
        finally:
            p.call.reviewers_per_proposal = 1
    if trigger == "approve":  # the other office has signed; this official's sign-off completes the approval
        other = world.afw if actor.office == "KA" else world.ka
        sign_off(p, other, "approve")
        db.session.commit()
        return sign_off(p, actor, "approve")
    if trigger == "reject":
        return sign_off(p, actor, "reject", reason=REASON)
    if trigger == "lapse_request":
        c = db.session.scalar(select(Clarification).where(Clarification.proposal_id == p.id))
        return fire(p, trigger, actor, now=minute_end(c.due_at))
    if trigger == "start_standstill":
        return start_standstill(p, actor)
    if trigger == "reopen_decision":  # an objection received in the standstill, upheld
        from foerdercall.awards.operations import record_objection, resolve_objection

        record_objection(p, actor, "Rüge eines Bieters")
        return resolve_objection(p, actor, REASON, "upheld")
    if trigger == "award" and p.state == "standstill":  # after its 10 calendar days
        st = db.session.scalar(select(Standstill).where(Standstill.proposal_id == p.id))
        return fire(p, trigger, actor, now=minute_end(st.ends_at))
    if trigger == "lapse_award":
        award = db.session.scalar(select(Award).where(Award.proposal_id == p.id))
        return fire(p, trigger, actor, now=minute_end(award.accept_by))
    if trigger == "submit_final_report":
        complete_implementation(p, world)
        return fire(p, trigger, actor, narrative="Sachbericht", spent_cents=9_000_00)
    return fire(p, trigger, actor, reason=REASON)


def make_proposals(world, clock, states, amount: int = 5_000_00) -> list[Proposal]:
    """One proposal per entry of `states`, each by its own applicant (the first by world.applicant), all
    submitted before the deadline and opened together, then moved on through the real operations."""
    owners = [world.applicant] + [
        create_user(f"bewerber{i}@x.test", f"Bewerber {i}", PASSWORD, roles=("applicant",))
        for i in range(1, len(states))
    ]
    ps = []
    for owner, state in zip(owners, states, strict=True):
        p = new_draft(world, owner, amount=amount, title=f"Maßnahme von {owner.name}")
        db.session.commit()
        if state not in ("draft", "withdrawn"):
            p = advance(world, clock, p, "submitted")
        ps.append(p)
    if any(s not in ("draft", "withdrawn") for s in states):
        open_submissions(world, clock)
        db.session.commit()
    return [advance(world, clock, p, state) for p, state in zip(ps, states, strict=True)]


def actor_for(world, p, role):
    """ "applicant" is the proposal's own applicant; "applicant2" never is."""
    if role == "applicant":
        return p.applicant
    return None if role == "system" else getattr(world, role)


def label_of(trigger: str) -> str:
    return next(t for t in proposal_wf.TRANSITIONS if t["trigger"] == trigger)["label"][0]


# The table runs in groups of states that can share one call (a draft needs the call still open; "lapsed"
# moves the clock on, so it comes last): fewer worlds to build, every row still checked on its own proposal.
STATE_GROUPS = [
    ("draft", "withdrawn"),
    ("submitted", "clarification", "eligible", "in_review"),
    ("reviewed", "approved", "standstill", "awarded"),
    ("in_implementation", "final_report_submitted"),
    ("ineligible", "rejected", "completed", "terminated", "declined", "lapsed"),
]


def test_state_groups_cover_every_state_once():
    flat = [s for g in STATE_GROUPS for s in g]
    assert sorted(flat) == sorted(proposal_wf.STATES)


def last_change(p) -> tuple | None:
    """(trigger, actor id, state reached) of the object's last audit event."""
    ev = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == p.__tablename__, AuditEvent.object_id == p.id)
        .order_by(AuditEvent.seq.desc())
    ).first()
    return (ev.action, ev.actor_id, ev.to_state) if ev else None


def check_state(world, clock, state, probe, ps):
    """Every row of TABLE for `state`: refusals on `probe`, each allowed row on its own proposal of `ps`."""
    rows = [r for r in TABLE if r[0] == state]
    allowed = [(trigger, role) for _s, trigger, role, outcome in rows if outcome == "ok"]
    assert len(ps) == len(allowed)
    before = audit_count(probe)

    # triggers that do not start from this state: refused with a message naming the state
    state_de = proposal_wf.STATE_LABELS[state][0]
    for t in proposal_wf.TRANSITIONS:
        if state in t["source"]:
            continue
        role = sorted(EXPECTED_WHO[t["trigger"]])[0]  # someone who could fire it in the right state
        actor = actor_for(world, probe, role)
        if last_change(probe) == (t["trigger"], actor.id if actor else None, state):
            # the very transition that led here, by the same person again (double click, retry): done once
            fire(probe, t["trigger"], actor, reason=REASON, narrative="x")
            assert reload_state(probe) == state and audit_count(probe) == before
            probe = db.session.get(Proposal, probe.id)
            continue
        with pytest.raises(ActionRefused) as exc:
            fire(probe, t["trigger"], actor, reason=REASON, narrative="x")
        assert exc.value.message == f"„{t['label'][0]}“ ist im Status „{state_de}“ nicht möglich.", (
            state,
            t["trigger"],
        )
        assert reload_state(probe) == state
        probe = db.session.get(Proposal, probe.id)

    # roles that may not fire an available trigger: refused, nothing changes
    for _s, trigger, role, outcome in rows:
        if outcome != "refused":
            continue
        with pytest.raises(ActionRefused) as exc:
            fire(probe, trigger, actor_for(world, probe, role), reason=REASON, narrative="x")
        assert exc.value.message == f"Sie dürfen „{label_of(trigger)}“ hier nicht ausführen.", (
            state,
            trigger,
            role,
        )
        assert reload_state(probe) == state, (state, trigger, role)
        probe = db.session.get(Proposal, probe.id)
    assert audit_count(probe) == before

    # allowed roles: the state becomes the destination, with an audit event naming actor and office
    for p, (trigger, role) in zip(ps, allowed, strict=True):
        row = (state, trigger, role)
        p = db.session.get(Proposal, p.id)
        actor = actor_for(world, p, role)
        perform(world, clock, p, trigger, actor)
        db.session.commit()
        dest = EXPECTED_EDGES[(state, trigger)]
        assert reload_state(p) == dest, row
        ev = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.proposal_id == p.id, AuditEvent.action == trigger)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert ev is not None, row
        assert (ev.from_state, ev.to_state) == (state, dest), row
        assert ev.actor_id == (actor.id if actor else None), row
        assert ev.actor_office == (actor.office if actor else None), row
        assert ev.actor_name == (actor.name if actor else "System"), row
        t = next(t for t in proposal_wf.TRANSITIONS if t["trigger"] == trigger)
        if t.get("reason_required"):
            assert ev.reason == REASON, row


@pytest.mark.parametrize("states", STATE_GROUPS, ids=["+".join(g) for g in STATE_GROUPS])
def test_transition_table(app, world, clock, states):
    """Every row (state, trigger, role) -> outcome of TABLE for these states, and every trigger that does not
    exist from them. Each allowed row fires on its own proposal; refusals leave no trace."""
    wanted = []  # (state, number of proposals): one per allowed row, at least one to probe
    for state in states:
        n = sum(1 for s, _t, _r, outcome in TABLE if s == state and outcome == "ok")
        wanted.append((state, n, max(1, n)))
    ps = make_proposals(world, clock, [s for s, _n, k in wanted for _ in range(k)], amount=4_000_00)
    i = 0
    for state, n, k in wanted:
        group = ps[i : i + k]
        i += k
        check_state(world, clock, state, group[0], group[:n])


# --- people: whose proposal, which conflict ---------------------------------------------------------------


def test_applicant_b_cannot_act_on_applicant_as_proposal(app, world, clock):
    p = drive(world, clock, "draft")
    b = world.applicant2
    with pytest.raises(ActionRefused, match="gibt es nicht"):
        fire(p, "approve_everything", world.ka)
    for trigger in ("submit", "withdraw"):
        with pytest.raises(ActionRefused, match="nicht ausführen"):
            fire(p, trigger, b)
    with pytest.raises(ActionRefused, match="Nur die antragstellende Person"):
        save_draft(p, b, {"title": "Übernommen"})
    with pytest.raises(ActionRefused, match="Nur die antragstellende Person"):
        add_attachment(p, b, "other", io.BytesIO(PDF), "x.pdf")
    db.session.rollback()
    p = db.session.get(Proposal, p.id)
    assert (p.state, p.title) == ("draft", "Netzwerk Plagwitz")

    # later, too (the table checks every applicant trigger): B cannot answer someone else's request
    clar = drive(
        world,
        clock,
        "clarification",
        applicant=create_user("c@x.test", "Carl", PASSWORD, roles=("applicant",)),
    )
    with pytest.raises(ActionRefused, match="nicht ausführen"):
        fire(clar, "answer_request", b, reason="Hier sind die Unterlagen")
    assert reload_state(clar) == "clarification"


def test_official_with_declared_conflict_cannot_decide(app, world, clock):
    submitted, reviewed = make_proposals(world, clock, ["submitted", "reviewed"])
    for p in (submitted, reviewed):
        sign_neutrality(p.call, world.ka)
        declare_conflict(p, world.ka, True, "Mein Bruder ist im Team")
    db.session.commit()

    # the formal check
    for trigger in ("declare_eligible", "declare_ineligible", "request_documents"):
        with pytest.raises(ActionRefused, match="nicht ausführen"):
            fire(submitted, trigger, world.ka, reason=REASON)
        assert reload_state(submitted) == "submitted"
        submitted = db.session.get(Proposal, submitted.id)
    # the decision: neither a sign-off nor the transitions themselves
    with pytest.raises(ActionRefused, match="Interessenkonflikt"):
        sign_off(reviewed, world.ka, "approve")
    db.session.rollback()
    for trigger in ("approve", "reject"):
        with pytest.raises(ActionRefused, match="nicht ausführen"):
            fire(reviewed, trigger, world.ka, reason=REASON)
        assert reload_state(reviewed) == "reviewed"
        reviewed = db.session.get(Proposal, reviewed.id)
    assert db.session.scalar(select(func.count(SignOff.id)).where(SignOff.proposal_id == reviewed.id)) == 0
    # a colleague of the same office without a conflict can
    fire(submitted, "declare_eligible", world.ka2)
    db.session.commit()
    with pytest.raises(ActionRefused, match="Interessenkonflikt"):
        assign_reviewer(submitted, world.rev1, world.ka)
    db.session.rollback()
    sign_off(reviewed, world.ka2, "approve")
    sign_off(reviewed, world.afw, "approve")
    db.session.commit()
    assert reload_state(submitted) == "eligible"
    assert reload_state(reviewed) == "approved"


def test_applicant_who_is_an_official_cannot_decide_on_own_proposal(app, world, clock):
    olga = create_user(
        "olga@x.test", "Olga Doppelrolle", PASSWORD, roles=("applicant", "official"), office="KA"
    )
    db.session.commit()
    own = new_draft(world, olga, title="Olgas Maßnahme")
    db.session.commit()
    own = advance(world, clock, own, "submitted")
    other = new_draft(world, world.applicant)
    db.session.commit()
    other = advance(world, clock, other, "submitted")
    open_submissions(world, clock)
    db.session.commit()

    for trigger in ("declare_eligible", "declare_ineligible", "request_documents"):
        with pytest.raises(ActionRefused, match="nicht ausführen"):
            fire(own, trigger, olga, reason=REASON)
        assert reload_state(own) == "submitted"
        own = db.session.get(Proposal, own.id)
    # she decides on other people's proposals
    fire(other, "declare_eligible", olga)
    db.session.commit()
    assert reload_state(other) == "eligible"

    own = db.session.get(Proposal, own.id)
    fire(own, "declare_eligible", world.ka)
    db.session.commit()
    with pytest.raises(ActionRefused, match="Interessenkonflikt"):
        assign_reviewer(own, world.rev1, olga)
    db.session.rollback()
    own = advance(world, clock, db.session.get(Proposal, own.id), "reviewed")
    with pytest.raises(ActionRefused, match="Interessenkonflikt"):
        sign_off(own, olga, "approve")
    db.session.rollback()
    own = db.session.get(Proposal, own.id)
    with pytest.raises(ActionRefused, match="nicht ausführen"):
        fire(own, "approve", olga)
    assert reload_state(own) == "reviewed"
    # as the applicant she can still withdraw her own proposal
    own = db.session.get(Proposal, own.id)
    fire(own, "withdraw", olga)
    db.session.commit()
    assert reload_state(own) == "withdrawn"


def test_system_transitions_cannot_be_fired_by_users_even_when_due(app, world, clock):
    clar, awarded, in_review = make_proposals(world, clock, ["clarification", "awarded", "in_review"])
    # make every condition hold: both due dates passed, all reviews in (rev1 reviewed, rev2 withdrew)
    sign_neutrality(world.call, world.rev1)
    declare_conflict(in_review, world.rev1, False)
    review = db.session.scalar(
        select(Review).where(Review.proposal_id == in_review.id, Review.reviewer_id == world.rev1.id)
    )
    save_review(review, world.rev1, {c.id: (3, "solide") for c in world.call.criteria}, submit=True)
    sign_neutrality(world.call, world.rev2)
    world.call.reviewers_per_proposal = 2  # (a conflict that completes the review would finish it at once)
    declare_conflict(in_review, world.rev2, True, "Befangen")
    world.call.reviewers_per_proposal = 1  # now it is due, and only the worker may finish it
    db.session.commit()
    reviews = db.session.scalars(select(Review).where(Review.proposal_id == in_review.id)).all()
    assert [(r.reviewer_id, r.submitted_at is not None) for r in reviews] == [(world.rev1.id, True)]
    assert reload_state(in_review) == "in_review"
    clock.set(berlin(2027, 1, 15, 12, 0))  # long after the request's and the award's due dates
    users = [
        world.applicant,
        world.applicant2,
        world.ka,
        world.ka2,
        world.afw,
        world.rev1,
        world.advisor,
        world.admin,
    ]
    for p, trigger in ((clar, "lapse_request"), (awarded, "lapse_award")):
        for user in users:
            with pytest.raises(ActionRefused, match="nicht ausführen"):
                fire(p, trigger, user)
        assert reload_state(p) in ("clarification", "awarded")
    for user in users:
        with pytest.raises(ActionRefused, match="nicht ausführen"):
            fire(in_review, "finish_review", user)
    assert reload_state(in_review) == "in_review"
    # the worker (no user) can
    fire(db.session.get(Proposal, clar.id), "lapse_request", None)
    fire(db.session.get(Proposal, awarded.id), "lapse_award", None)
    fire(db.session.get(Proposal, in_review.id), "finish_review", None)
    db.session.commit()
    assert reload_state(clar) == "ineligible"
    assert reload_state(awarded) == "lapsed"
    assert reload_state(in_review) == "reviewed"


# --- joint approval: one sign-off from each office, by two different people --------------------------------


def sign_offs_of(p) -> list[tuple[str, int, str]]:
    return sorted(
        (s.office, s.user_id, s.decision)
        for s in db.session.scalars(select(SignOff).where(SignOff.proposal_id == p.id))
    )


@pytest.mark.parametrize("first", ["ka", "afw"])
def test_approval_needs_both_offices_in_either_order(app, world, clock, first):
    (p,) = make_proposals(world, clock, ["reviewed"])
    second = "afw" if first == "ka" else "ka"
    sign_off(p, getattr(world, first), "approve")
    db.session.commit()
    assert reload_state(p) == "reviewed"  # one office is not enough
    p = db.session.get(Proposal, p.id)
    with pytest.raises(ActionRefused, match="fehlt noch die Zeichnung"):
        fire(p, "approve", getattr(world, first))
    assert reload_state(p) == "reviewed"
    sign_off(db.session.get(Proposal, p.id), getattr(world, second), "approve")
    db.session.commit()
    assert reload_state(p) == "approved"
    assert sign_offs_of(p) == sorted([("KA", world.ka.id, "approve"), ("AfWiFoe", world.afw.id, "approve")])
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.id)
    ).all()
    assert actions[-3:] == ["sign_off_approve", "sign_off_approve", "approve"]


REJECTIONS = [("ka",), ("afw",), ("ka", "afw"), ("afw", "ka")]  # (approving office..., rejecting office)


def test_either_office_rejection_rejects(app, world, clock):
    ps = make_proposals(world, clock, ["reviewed"] * len(REJECTIONS))
    for p, (*approvers, rejecter) in zip(ps, REJECTIONS, strict=True):
        case = (approvers, rejecter)
        for who in approvers:
            sign_off(p, getattr(world, who), "approve")
        db.session.commit()
        with pytest.raises(ActionRefused, match="begründen"):
            sign_off(db.session.get(Proposal, p.id), getattr(world, rejecter), "reject", reason="  ")
        db.session.rollback()
        sign_off(
            db.session.get(Proposal, p.id),
            getattr(world, rejecter),
            "reject",
            reason="Kostenplan nicht plausibel",
        )
        db.session.commit()
        assert reload_state(p) == "rejected", case
        ev = db.session.scalars(
            select(AuditEvent).where(AuditEvent.proposal_id == p.id, AuditEvent.action == "reject")
        ).one()
        assert (ev.reason, ev.actor_office) == ("Kostenplan nicht plausibel", getattr(world, rejecter).office)
        mails = db.session.scalars(
            select(OutboxMail).where(OutboxMail.proposal_id == p.id, OutboxMail.kind == "rejection")
        ).all()
        assert [m.to_address for m in mails] == [p.applicant.email], case
        if not approvers:  # the other office cannot sign any more
            other = "afw" if rejecter == "ka" else "ka"
            with pytest.raises(ActionRefused, match="Nur begutachtete"):
                sign_off(db.session.get(Proposal, p.id), getattr(world, other), "approve")
            db.session.rollback()


def test_each_office_signs_once_and_only_officials_sign(app, world, clock):
    (p,) = make_proposals(world, clock, ["reviewed"])
    for who in ("applicant", "applicant2", "rev1", "advisor", "admin"):
        with pytest.raises(
            ActionRefused, match=r"Nur Mitarbeitende der entscheidenden Ämter dieses Aufrufs \(KA, AfWiFö\)"
        ):
            sign_off(db.session.get(Proposal, p.id), getattr(world, who), "approve")
        db.session.rollback()
    assert sign_offs_of(p) == []
    sign_off(db.session.get(Proposal, p.id), world.ka, "approve")
    db.session.commit()
    for actor, decision in ((world.ka2, "approve"), (world.ka2, "reject"), (world.ka, "approve")):
        with pytest.raises(ActionRefused) as exc:
            sign_off(db.session.get(Proposal, p.id), actor, decision, reason="anders entschieden")
        assert exc.value.message == "Ihr Amt hat bereits gezeichnet (Karla KA)."
        db.session.rollback()
    assert reload_state(p) == "reviewed"
    assert sign_offs_of(p) == [("KA", world.ka.id, "approve")]


def test_one_person_cannot_sign_for_both_offices(app, world, clock):
    (p,) = make_proposals(world, clock, ["reviewed"])
    sign_off(p, world.ka, "approve")
    set_roles(world.ka, world.admin, ["official"], "AfWiFoe")  # Karla moves to the other office
    db.session.commit()
    with pytest.raises(ActionRefused) as exc:
        sign_off(db.session.get(Proposal, p.id), world.ka, "approve")
    assert exc.value.message == "Eine Person kann nicht für zwei Ämter zeichnen."
    db.session.rollback()
    assert reload_state(p) == "reviewed"
    assert sign_offs_of(p) == [("KA", world.ka.id, "approve")]
    sign_off(db.session.get(Proposal, p.id), world.afw, "approve")
    db.session.commit()
    assert reload_state(p) == "approved"


# --- budget: never over, and returned when an award ends ----------------------------------------------------


def committed(world) -> int:
    db.session.rollback()
    return db.session.scalar(select(Call.committed_cents).where(Call.id == world.call.id))


def test_awards_never_take_the_call_over_budget(app, world, clock):
    # budget 50.000 €, cap 25.000 € per measure: three approved offers of 20.000 € each
    p1, p2, p3 = make_proposals(world, clock, ["approved"] * 3, amount=20_000_00)
    fire(p1, "award", world.ka)
    fire(p2, "award", world.afw)
    db.session.commit()
    assert committed(world) == 40_000_00
    with pytest.raises(ActionRefused) as exc:
        fire(db.session.get(Proposal, p3.id), "award", world.ka)
    assert exc.value.message == (
        "Das verbleibende Budget des Aufrufs (10.000,00\xa0€) reicht für 20.000,00\xa0€ nicht aus."
    )
    assert reload_state(p3) == "approved"
    assert committed(world) == 40_000_00
    assert db.session.scalar(select(Award.id).where(Award.proposal_id == p3.id)) is None
    with pytest.raises(ActionRefused, match="Obergrenze"):
        fire(db.session.get(Proposal, p3.id), "award", world.ka, amount_cents=25_000_01)
    assert committed(world) == 40_000_00
    # what is left can still be awarded, exactly to the last cent
    fire(db.session.get(Proposal, p3.id), "award", world.ka, amount_cents=10_000_00)
    db.session.commit()
    assert reload_state(p3) == "awarded"
    assert committed(world) == 50_000_00
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.proposal_id == p3.id, AuditEvent.action == "award")
    ).one()
    assert ev.data == {"amount_cents": 10_000_00, "remaining_cents": 0}


def test_lapse_and_termination_return_the_money(app, world, clock):
    lapsing, terminated, waiting = make_proposals(
        world, clock, ["awarded", "in_implementation", "approved"], amount=20_000_00
    )
    assert committed(world) == 40_000_00
    with pytest.raises(ActionRefused, match="reicht für"):
        fire(db.session.get(Proposal, waiting.id), "award", world.ka, amount_cents=20_000_00)
    assert reload_state(waiting) == "approved"

    # 5.000 € were paid before the contract ends early: only the rest comes back
    record_payment(db.session.get(Proposal, terminated.id), world.ka, 5_000_00, "1. Abschlag")
    fire(db.session.get(Proposal, terminated.id), "terminate", world.afw, reason="Auftragnehmer insolvent")
    db.session.commit()
    assert reload_state(terminated) == "terminated"
    assert committed(world) == 25_000_00
    award = db.session.scalar(select(Award).where(Award.proposal_id == terminated.id))
    assert (award.paid_cents, award.released_cents) == (5_000_00, 15_000_00)

    # the worker lapses the award nobody accepted
    award = db.session.scalar(select(Award).where(Award.proposal_id == lapsing.id))
    clock.set(minute_end(award.accept_by))
    sweep()
    assert reload_state(lapsing) == "lapsed"
    assert committed(world) == 5_000_00
    # the next proposal moves up
    fire(db.session.get(Proposal, waiting.id), "award", world.ka)
    db.session.commit()
    assert reload_state(waiting) == "awarded"
    assert committed(world) == 25_000_00


# --- the worker's sweep -------------------------------------------------------------------------------------


def outbox() -> list[tuple[str, int | None, int | None]]:
    db.session.rollback()
    return sorted((m.kind, m.recipient_id, m.proposal_id) for m in db.session.scalars(select(OutboxMail)))


def test_sweep_closes_the_call_after_its_deadline_minute(app, world, clock):
    deadline = berlin(*DEADLINE)
    assert sweep(deadline + dt.timedelta(seconds=59))["calls_closed"] == 0
    assert db.session.get(Call, world.call.id).state == "published"
    report = sweep(deadline + dt.timedelta(minutes=1))
    assert report["calls_closed"] == 1
    call = db.session.get(Call, world.call.id)
    assert (call.state, call.closed_at) == ("closed", berlin(2026, 11, 1, 0, 0))
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.call_id == call.id, AuditEvent.action == "close")
    ).one()
    assert (ev.actor_id, ev.actor_name, ev.from_state, ev.to_state) == (None, "System", "published", "closed")
    assert sweep(deadline + dt.timedelta(minutes=5))["calls_closed"] == 0


def test_sweep_lapses_requests_and_awards_once(app, world, clock):
    answered, unanswered, awarded, accepted = make_proposals(
        world, clock, ["clarification", "clarification", "awarded", "in_implementation"]
    )
    fire(answered, "answer_request", answered.applicant, reason="Erklärung liegt jetzt bei")
    db.session.commit()
    due = db.session.scalar(select(Clarification.due_at).where(Clarification.proposal_id == unanswered.id))
    accept_by = db.session.scalar(select(Award.accept_by).where(Award.proposal_id == awarded.id))
    assert due < accept_by
    assert committed(world) == 10_000_00

    # the due minute itself still belongs to the applicant
    report = sweep(due + dt.timedelta(seconds=59))
    assert (report["requests_lapsed"], report["awards_lapsed"]) == (0, 0)
    assert reload_state(unanswered) == "clarification"

    report = sweep(minute_end(due))
    assert report["requests_lapsed"] == 1
    assert reload_state(unanswered) == "ineligible"
    assert reload_state(answered) == "submitted"
    mail = db.session.scalars(
        select(OutboxMail).where(OutboxMail.proposal_id == unanswered.id, OutboxMail.kind == "ineligible")
    ).one()
    assert mail.to_address == unanswered.applicant.email and mail.status == "sent"

    assert sweep(accept_by + dt.timedelta(seconds=59))["awards_lapsed"] == 0
    assert reload_state(awarded) == "awarded"
    report = sweep(minute_end(accept_by))
    assert report["awards_lapsed"] == 1
    assert reload_state(awarded) == "lapsed"
    assert reload_state(accepted) == "in_implementation"
    assert committed(world) == 5_000_00  # the lapsed award's money is back
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.proposal_id == awarded.id, AuditEvent.action == "lapse_award")
    ).one()
    assert (ev.actor_name, ev.data["returned_cents"]) == ("System", 5_000_00)
    lapsed_mails = db.session.scalars(
        select(OutboxMail).where(OutboxMail.proposal_id == awarded.id, OutboxMail.kind == "award_lapsed")
    ).all()
    assert len(lapsed_mails) == 1

    # a second run changes nothing and queues nothing
    before = outbox()
    audit_before = db.session.scalar(select(func.count(AuditEvent.id)))
    report = sweep(minute_end(accept_by))
    assert report == {
        "calls_closed": 0,
        "requests_lapsed": 0,
        "awards_lapsed": 0,
        "mails_sent": 0,
        "proposals_anonymised": 0,
        "parked_posts_deleted": 0,
        "audit_checkpoints": 0,
        "login_sessions_deleted": 0,
        **dict.fromkeys(REMINDERS, 0),
    }
    assert outbox() == before
    assert db.session.scalar(select(func.count(AuditEvent.id))) == audit_before
    # three days later nothing lapses again; what is new is only the kick-off milestone of the accepted
    # award, due meanwhile and not reported: marked overdue, the applicant and the officials told
    report = sweep(minute_end(accept_by) + dt.timedelta(days=3))
    assert (report["calls_closed"], report["requests_lapsed"], report["awards_lapsed"]) == (0, 0, 0)
    new = [m for m in outbox() if m not in before]
    assert {(kind, proposal_id) for kind, _, proposal_id in new} == {("milestone_overdue", accepted.id)}
    assert report["milestones_overdue"] == len(new)
    assert db.session.scalars(
        select(AuditEvent.action).order_by(AuditEvent.id).offset(audit_before)
    ).all() == ["milestone_overdue"]
    assert committed(world) == 5_000_00
    assert [reload_state(p) for p in (answered, unanswered, awarded, accepted)] == [
        "submitted",
        "ineligible",
        "lapsed",
        "in_implementation",
    ]


# --- the call machine ---------------------------------------------------------------------------------------

CALL_EXPECTED = {
    ("draft", "publish"): ("published", {"ka", "afw"}),
    ("published", "close"): ("closed", {"ka", "afw", "system"}),
    ("closed", "decide"): ("decided", {"ka", "afw"}),
    ("decided", "start_implementation"): ("in_implementation", {"ka", "afw"}),
    ("decided", "archive"): ("archived", {"ka", "afw"}),
    ("in_implementation", "archive"): ("archived", {"ka", "afw"}),
}
CALL_ROLES = ("applicant", "ka", "afw", "rev1", "advisor", "admin", "system")


def new_call(actor, code, **kw):
    fields = dict(
        title=f"Aufruf {code}",
        description="",
        fields_of_action=["networks"],
        budget_cents=80_000_00,
        max_amount_cents=20_000_00,
        estimated_value_cents=80_000_00,
        opens_at=berlin(2026, 10, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 15, 12, 0),
        privacy_checked_at=berlin(2026, 9, 1, 9, 0),  # the officer checked the notice
    )
    fields.update(kw)
    return create_call(actor, code=code, **fields)


CALL_RANK = {"draft": 0, "published": 1, "closed": 2, "decided": 3, "in_implementation": 4, "archived": 4}
LATE_DEADLINE = berlin(2027, 1, 15, 12, 0)  # calls that stay open while the others are closed


def calls_in(world, clock, states):
    """One call without proposals per entry of `states`, moved there by officials. Calls that must still be
    draft or published get a later deadline, so the others can be closed (the clock passes their deadline)."""
    calls = [
        new_call(
            world.ka,
            f"T{i}",
            submission_deadline=LATE_DEADLINE if CALL_RANK[s] < 2 else berlin(2026, 12, 15, 12, 0),
        )
        for i, s in enumerate(states)
    ]
    db.session.commit()
    for rank, trigger in ((1, "publish"), (2, "close"), (3, "decide")):
        if rank == 2:
            clock.set(berlin(2026, 12, 15, 12, 1))
        for call, state in zip(calls, states, strict=True):
            if CALL_RANK[state] >= rank:
                fire(call, trigger, world.ka)
    for call, state in zip(calls, states, strict=True):
        if state in ("in_implementation", "archived"):
            fire(call, {"in_implementation": "start_implementation", "archived": "archive"}[state], world.ka)
    db.session.commit()
    assert [c.state for c in calls] == list(states)
    return calls


def test_call_workflow_data_matches_the_domain():
    got = {}
    for src, trigger, dest in edges(call_wf):
        t = next(t for t in call_wf.TRANSITIONS if t["trigger"] == trigger)
        who = set()
        for spec in t["who"]:
            who |= set(OFFICIALS) if spec.startswith("official") else {spec}
        got[(src, trigger)] = (dest, who)
    assert got == CALL_EXPECTED


def test_call_transition_table(app, world, clock):
    """Every (state, trigger, role) of the call machine; each allowed row on its own call."""
    plan = []
    for state in call_wf.STATES:
        rows = [(trigger, dest, who) for (src, trigger), (dest, who) in CALL_EXPECTED.items() if src == state]
        allowed = [(trigger, dest, role) for trigger, dest, who in rows for role in sorted(who)]
        plan.append((state, rows, allowed, max(1, len(allowed))))
    calls = calls_in(world, clock, [state for state, _r, _a, k in plan for _ in range(k)])
    i = 0
    for state, rows, allowed, k in plan:
        group, i = calls[i : i + k], i + k
        probe = group[0]
        state_de = call_wf.STATE_LABELS[state][0]
        for t in call_wf.TRANSITIONS:
            if state not in t["source"]:
                if last_change(probe) == (t["trigger"], world.ka.id, state):  # the same again: done once
                    fire(probe, t["trigger"], world.ka)
                    assert probe.state == state
                    continue
                with pytest.raises(ActionRefused) as exc:
                    fire(probe, t["trigger"], world.ka)
                assert exc.value.message == f"„{t['label'][0]}“ ist im Status „{state_de}“ nicht möglich."
        for trigger, _dest, who in rows:
            label = next(t for t in call_wf.TRANSITIONS if t["trigger"] == trigger)["label"][0]
            for role in CALL_ROLES:
                if role not in who:
                    with pytest.raises(ActionRefused) as exc:
                        fire(probe, trigger, None if role == "system" else getattr(world, role))
                    assert exc.value.message == f"Sie dürfen „{label}“ hier nicht ausführen.", (
                        state,
                        trigger,
                        role,
                    )
        db.session.rollback()
        assert db.session.get(Call, probe.id).state == state
        for call, (trigger, dest, role) in zip(group, allowed, strict=False):
            actor = None if role == "system" else getattr(world, role)
            if trigger == "close":
                clock.set(minute_end(LATE_DEADLINE))
            fire(call, trigger, actor)
            db.session.commit()
            assert db.session.get(Call, call.id).state == dest, (state, trigger, role)
            ev = db.session.scalars(
                select(AuditEvent).where(AuditEvent.call_id == call.id, AuditEvent.action == trigger)
            ).one()
            assert (ev.from_state, ev.to_state, ev.actor_office) == (
                state,
                dest,
                actor.office if actor else None,
            ), (state, trigger, role)


def test_publish_needs_weights_summing_to_100_and_a_future_deadline(app, world, clock):
    call = new_call(world.ka, "W90", criteria=[("a", "Innovation", 50, None), ("b", "Kosten", 40, None)])
    db.session.commit()
    with pytest.raises(ActionRefused) as exc:
        publish(call, world.ka)
    assert exc.value.message == (
        "Vor der Veröffentlichung ist noch zu erledigen: "
        "(1) Die Gewichte der Kriterien ergeben 90 % statt 100 %: bitte gleichen Sie sie an."
    )  # the only point that fails
    db.session.rollback()
    assert db.session.get(Call, call.id).state == "draft"
    assert db.session.scalar(select(CallVersion.id).where(CallVersion.call_id == call.id)) is None

    empty = new_call(world.ka, "W0", criteria=[])
    with pytest.raises(ActionRefused, match="Kriterienkatalog"):
        publish(empty, world.ka)
    db.session.rollback()

    from foerdercall.calls.operations import update_call

    call = db.session.get(Call, call.id)
    update_call(call, world.ka, criteria=[("a", "Innovation", 60, None), ("b", "Kosten", 40, None)])
    publish(call, world.ka)
    db.session.commit()
    call = db.session.get(Call, call.id)
    assert (call.state, call.published_at) == ("published", clock.t)
    version = db.session.scalars(select(CallVersion).where(CallVersion.call_id == call.id)).one()
    assert version.version == 1
    assert [(c["key"], c["weight"]) for c in version.snapshot["criteria"]] == [("a", 60), ("b", 40)]

    # the deadline lies in the future, after the opening of submissions
    past = new_call(
        world.ka, "PAST", opens_at=berlin(2026, 9, 1, 0, 0), submission_deadline=berlin(2026, 10, 1, 8, 59)
    )  # one minute before the clock
    backwards = new_call(world.ka, "BACK", opens_at=berlin(2026, 12, 20, 0, 0))
    db.session.commit()
    for c, message in (
        (past, "Einreichungsfrist muss in der Zukunft"),
        (backwards, "Beginn der Einreichung muss vor der Frist"),
    ):
        with pytest.raises(ActionRefused, match=message):
            publish(db.session.get(Call, c.id), world.ka)
        db.session.rollback()
    assert (
        db.session.scalars(select(Call.state).where(Call.code.in_(("PAST", "BACK")))).all() == ["draft"] * 2
    )


def test_publish_refuses_an_estimate_at_the_eu_threshold(app, world, clock):
    threshold = app.config["EU_THRESHOLD_CENTS"]
    at = new_call(
        world.ka, "EU1", estimated_value_cents=threshold, budget_cents=threshold, max_amount_cents=20_000_00
    )
    with pytest.raises(ActionRefused) as exc:
        publish(at, world.ka)
    assert "EU-Schwellenwert" in exc.value.message and "216.000,00" in exc.value.message
    db.session.rollback()
    below = new_call(world.ka, "EU2", estimated_value_cents=threshold - 1)
    publish(below, world.ka)
    grant = new_call(world.ka, "EU3", mode="grant", estimated_value_cents=threshold + 1)
    publish(grant, world.ka)  # a grant is not a procurement
    db.session.commit()
    assert db.session.get(Call, below.id).state == "published"
    assert db.session.get(Call, grant.id).state == "published"
    # the threshold is configuration (it changes every two years)
    app.config["EU_THRESHOLD_CENTS"] = 100_000_00
    lower = new_call(world.ka, "EU4", estimated_value_cents=100_000_00)
    with pytest.raises(ActionRefused, match="EU-Schwellenwert \\(100.000,00"):
        publish(lower, world.ka)


def test_call_closes_only_after_its_deadline(app, world, clock):
    call = world.call
    for moment in (berlin(2026, 10, 31, 12, 0), berlin(2026, 10, 31, 23, 59, 59)):
        clock.set(moment)
        with pytest.raises(ActionRefused) as exc:
            fire(call, "close", world.ka)
        assert exc.value.message == "Die Einreichungsfrist läuft noch bis 31.10.2026, 23:59 Uhr."
        with pytest.raises(ActionRefused):
            fire(call, "close", None)
        db.session.rollback()
        assert db.session.get(Call, call.id).state == "published"
    clock.set(berlin(2026, 11, 1, 0, 0))
    fire(db.session.get(Call, call.id), "close", world.afw)
    db.session.commit()
    assert db.session.get(Call, call.id).state == "closed"


def test_call_is_decided_only_when_every_proposal_is(app, world, clock):
    p, done = make_proposals(world, clock, ["eligible", "rejected"])
    call = db.session.get(Call, world.call.id)
    with pytest.raises(ActionRefused) as exc:
        fire(call, "decide", world.ka)
    assert exc.value.message == "1 Angebote sind noch nicht entschieden."
    db.session.rollback()
    fire(db.session.get(Proposal, p.id), "withdraw", p.applicant)
    fire(db.session.get(Call, world.call.id), "decide", world.ka)
    db.session.commit()
    assert db.session.get(Call, world.call.id).state == "decided"
    assert reload_state(done) == "rejected"
