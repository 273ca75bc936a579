"""Joint approval, the award, and the year of implementation (milestones, reports, payments)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from workflows import ProposalState

from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..locking import lock
from ..outcomes.effects import Values
from ..outcomes.values import of_the_call
from ..policy import check
from ..proposals.models import Proposal
from ..text import printable
from ..timeutil import now
from ..workflow.engine import fire
from .models import Claim, Drawdown, Milestone, Payment, Report, SignOff
from .queries import award_of, decision_round, interim_report_in, sign_offs, standstill_of  # noqa: F401


def sign_off(p: Proposal, actor, decision: str, reason: str = "") -> Proposal:
    """One office signs. When both offices approved, the proposal is approved; a rejection rejects.

    The proposal row is locked first, so two officials signing at the same moment are serialised:
    the second sees the first's sign-off and completes the decision.
    """
    p = lock(p)
    if decision not in ("approve", "reject"):
        raise ActionRefused(_("Unbekannte Entscheidung."))
    check(actor, "proposal.sign_off", p)
    if decision == "reject" and not (reason or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Ablehnung."))
    existing = sign_offs(p)
    round_ = decision_round(p)
    db.session.add(
        SignOff(
            proposal_id=p.id,
            office=actor.office,
            user_id=actor.id,
            decision=decision,
            reason=reason or "",
            signed_at=now(),
            decision_round=round_,
        )
    )
    db.session.flush()
    data = {"office": actor.office} if round_ == 1 else {"office": actor.office, "round": round_}
    record(actor, f"sign_off_{decision}", p, reason=reason, data=data)
    if decision == "reject":
        fire(p, "reject", actor, reason=reason)
    elif set(existing) | {actor.office} >= set(p.call.deciding_offices):
        fire(p, "approve", actor, reason=reason)
    return p


# The steps an official takes on several proposals at once, each exactly as its single form does it.
BULK_STEPS = ("sign_off", "declare_eligible", "award")


def take_step(p: Proposal, actor, step: str, decision: str = "", reason: str = "") -> None:
    """One proposal's part of a bulk step: a sign-off for the actor's office, the formal check passed, or the
    award at the offered price."""
    if step == "sign_off":
        sign_off(p, actor, decision, reason)
    elif step == "award":
        make_award(p, actor)
    elif step == "declare_eligible":
        fire(p, "declare_eligible", actor)
    else:
        raise ActionRefused(_("Diese Aktion gibt es nicht."))


def steps_many(
    proposals: Sequence[Proposal], actor, step: str, decision: str = "", reason: str = ""
) -> list[tuple[int, str | None]]:
    """A bulk step: each proposal exactly as :func:`take_step`, each in a savepoint of the one request
    transaction, so a refusal undoes only that proposal's step and is reported (proposal id, message); the
    others are still done. Returns (proposal id, None or the refusal).

    The row locks are held until the request commits, so the proposals are locked in one order (by id)
    whatever order they were chosen in: two bulk steps at the same moment wait, never deadlock."""
    results: list[tuple[int, str | None]] = []
    for p in sorted(proposals, key=lambda p: p.id):
        try:
            with db.session.begin_nested():
                take_step(p, actor, step, decision, reason)
        except ActionRefused as exc:
            results.append((p.id, exc.message))
        else:
            results.append((p.id, None))
    return results


def sign_off_many(
    proposals: Sequence[Proposal], actor, decision: str, reason: str = ""
) -> list[tuple[int, str | None]]:
    """Bulk sign-off for the actor's office (:func:`steps_many`)."""
    return steps_many(proposals, actor, "sign_off", decision, reason)


def _standstill_for(p: Proposal):
    p = lock(p)
    st = standstill_of(p)
    if p.state != ProposalState.STANDSTILL or st is None:
        raise ActionRefused(_("Das Angebot ist nicht in der Stillhaltefrist."))
    return p, st


def record_objection(p: Proposal, actor, text: str):
    """An objection (Rüge) received during the standstill: recorded by an official; it holds the award."""
    p, st = _standstill_for(p)
    text = printable(text or "")  # a NUL cannot be stored in PostgreSQL: control characters dropped
    if not text.strip():
        raise ActionRefused(_("Bitte geben Sie den Einwand wieder."))
    return fire(st, "record_objection", actor, reason=text)


def resolve_objection(p: Proposal, actor, resolution: str, outcome: str = "dismissed"):
    """The objection was examined, recorded with its result and outcome.

    Dismissed (zurückgewiesen): the award may go ahead once the period is over. Upheld (abgeholfen): the
    decision was wrong; it is reopened through the workflow (``reopen_decision``: both offices' sign-offs are
    voided and kept for the record, the standstill ends, the applicant is told), and the offices decide again.
    """
    p, st = _standstill_for(p)
    resolution = printable(resolution or "").strip()
    if not resolution:
        raise ActionRefused(_("Bitte geben Sie das Ergebnis der Prüfung an."))
    with db.session.begin_nested():  # upheld: the outcome and the reopened decision together, or neither
        fire(st, "resolve_objection", actor, reason=resolution, outcome=outcome)
        if outcome == "upheld":
            fire(p, "reopen_decision", actor, reason=resolution)
    return st


def make_award(p: Proposal, actor, amount_cents: int | None = None) -> Proposal:
    return fire(
        p, "award", actor, amount_cents=amount_cents if amount_cents is not None else p.requested_amount_cents
    )


def _measure_of(obj) -> Proposal:
    """The proposal a milestone or report belongs to, locked: its changes wait for each other."""
    return lock(db.session.get(Proposal, obj.proposal_id))


def report_milestone(m: Milestone, actor, text: str) -> Milestone:
    """The contractor reports what was reached (a report may be corrected until the milestone is accepted)."""
    _measure_of(m)
    if not (text or "").strip():
        raise ActionRefused(_("Bitte beschreiben Sie den erreichten Stand."))
    return fire(m, "report_milestone", actor, text=text.strip())


def accept_milestone(m: Milestone, actor) -> Milestone:
    _measure_of(m)
    return fire(m, "accept_milestone", actor)


def add_milestone(p: Proposal, actor, title: str, due_at) -> Milestone:
    """An official adds a milestone to a measure in implementation (planned; a new row, not a state change)."""
    p = lock(p)
    check(actor, "proposal.add_milestone", p)
    if not (title or "").strip():
        raise ActionRefused(_("Bitte geben Sie einen Titel an."))
    position = len(db.session.scalars(select(Milestone.id).where(Milestone.proposal_id == p.id)).all())
    m = Milestone(proposal_id=p.id, position=position, title=title.strip(), due_at=due_at)
    db.session.add(m)
    db.session.flush()
    record(actor, "add_milestone", p, data={"milestone": m.title, "due_at": due_at.isoformat()})
    return m


def submit_interim_report(
    p: Proposal,
    actor,
    narrative: str,
    use_of_funds: str,
    spent_cents: int,
    values: Values | None = None,
    evidence_id: int | None = None,
) -> Report:
    """The interim report, with the values achieved so far (``values``: {indicator key: (value, comment)}) and
    their evidence (an attachment of kind "evidence")."""
    p = lock(p)
    if not (narrative or "").strip():
        raise ActionRefused(_("Bitte schreiben Sie den Sachbericht."))
    values = of_the_call(p.call.form_definition, values)
    r = Report(
        proposal_id=p.id,
        kind="interim",
        narrative=narrative.strip(),
        use_of_funds=use_of_funds or "",
        spent_cents=spent_cents or 0,
    )
    return fire(r, "submit_interim_report", actor, values=values, evidence_id=evidence_id)


def submit_final_report(
    p: Proposal,
    actor,
    narrative: str,
    use_of_funds: str,
    spent_cents: int,
    values: Values | None = None,
    evidence_id: int | None = None,
    statement: list[dict] | None = None,
) -> Proposal:
    """The final report: the proposal's ``submit_final_report`` (its effect writes the report and the values
    achieved in the end). ``statement``: a grant's proof of use, the planned and actual cents of each line of the
    approved cost plan."""
    return fire(
        p,
        "submit_final_report",
        actor,
        narrative=narrative,
        use_of_funds=use_of_funds or "",
        spent_cents=spent_cents or 0,
        values=of_the_call(p.call.form_definition, values),
        evidence_id=evidence_id,
        statement=statement or [],
    )


def review_interim_report(r: Report, actor, accept: bool, note: str = "") -> Report:
    _measure_of(r)
    if not accept and not (note or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Nachbesserung."))
    return fire(r, "accept_interim_report" if accept else "return_interim_report", actor, reason=note)


def record_payment(
    p: Proposal,
    actor,
    amount_cents: int,
    note: str = "",
    reference: str | None = None,
    tranche: str = "",
    invoice: str = "",
) -> Payment:
    """An official books a payment on the award: entered and paid in one (workflows/payment.py). ``reference``:
    the finance system's booking number; the same booking sent again is the payment already recorded.
    ``tranche``: the tranche of the payment plan it pays (a contract's invoice: ``invoice``, its number)."""
    p = lock(p)  # serialises the payments of this award
    award = award_of(p)
    if award is None:
        raise ActionRefused(_("Zahlungen sind nur für beauftragte Maßnahmen möglich."))
    if reference is not None:
        check(actor, "proposal.record_payment", p)  # who may see that it was recorded
        reference = printable(reference).strip()[:100] or None
        done = db.session.scalar(
            select(Payment).where(Payment.award_id == award.id, Payment.reference == reference)
        )
        if done is not None:
            if done.amount_cents != amount_cents:
                raise ActionRefused(_("Diese Buchungsnummer ist schon mit einem anderen Betrag erfasst."))
            return done
    pay = Payment(
        award_id=award.id,
        amount_cents=amount_cents,
        note=note or "",
        reference=reference,
        tranche=tranche or "",
        invoice=printable(invoice or "").strip()[:100],
    )
    return fire(pay, "record_payment", actor, reason=note)


# --- the money of a grant: drawdowns and claims back -----------------------------------------------------------


def request_drawdown(
    p: Proposal, actor, amount_cents: int, purpose: str = "", cost_item: str = ""
) -> Drawdown:
    """The grant's recipient asks for money (Mittelabruf), optionally naming a line of the approved cost plan."""
    p = lock(p)
    award = award_of(p)
    if award is None:
        raise ActionRefused(_("Mittel werden nur bei einer Zuwendung abgerufen."))
    d = Drawdown(
        proposal_id=p.id,
        award_id=award.id,
        amount_cents=amount_cents,
        purpose=(purpose or "").strip(),
        cost_item=(cost_item or "").strip()[:300],
        requested_at=now(),
        requested_by_id=actor.id,
    )
    return fire(d, "request_drawdown", actor, reason=d.purpose, amount_cents=amount_cents)


def pay_drawdown(d: Drawdown, actor) -> Drawdown:
    """An official pays the drawdown: its payment is booked with it (within the award)."""
    _measure_of(d)
    return fire(d, "pay_drawdown", actor)


def refuse_drawdown(d: Drawdown, actor, reason: str) -> Drawdown:
    _measure_of(d)
    return fire(d, "refuse_drawdown", actor, reason=reason)


def claim_back(p: Proposal, actor, amount_cents: int, reason: str) -> Claim:
    """An official claims money back from the award, with the reason; the recipient is told."""
    p = lock(p)
    award = award_of(p)
    if award is None:
        raise ActionRefused(_("Zurückgefordert wird nur bei einer begonnenen Maßnahme."))
    c = Claim(
        proposal_id=p.id,
        award_id=award.id,
        amount_cents=amount_cents,
        reason=(reason or "").strip(),
        claimed_at=now(),
        claimed_by_id=actor.id,
    )
    return fire(c, "claim_back", actor, reason=reason, amount_cents=amount_cents)


def record_repayment(c: Claim, actor) -> Claim:
    """The claimed money came back: it returns to the call's budget."""
    _measure_of(c)
    return fire(c, "record_repayment", actor)
