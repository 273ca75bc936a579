"""Joint approval, the award, and the year of implementation (milestones, reports, payments)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import format_dt
from ..locking import lock
from ..policy.actors import sign_off_refusal
from ..proposals.models import Proposal
from ..reviews.queries import has_conflict
from ..text import printable
from ..timeutil import minute_end, now
from ..workflow.engine import fire
from .models import Milestone, Payment, Report, SignOff
from .queries import award_of, decision_round, sign_offs, standstill_of


def sign_off(p: Proposal, actor, decision: str, reason: str = "") -> Proposal:
    """One office signs. When both offices approved, the proposal is approved; a rejection rejects.

    The proposal row is locked first, so two officials signing at the same moment are serialised:
    the second sees the first's sign-off and completes the decision.
    """
    p = lock(p)
    if decision not in ("approve", "reject"):
        raise ActionRefused(_("Unbekannte Entscheidung."))
    if (refusal := sign_off_refusal(p, actor)) is not None:
        raise ActionRefused(refusal)
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
    elif len(existing) + 1 == len(current_app.config["DECIDING_OFFICES"]):
        fire(p, "approve", actor, reason=reason)
    return p


def sign_off_many(
    proposals: Sequence[Proposal], actor, decision: str, reason: str = ""
) -> list[tuple[int, str | None]]:
    """Bulk sign-off for the actor's office: each proposal exactly as :func:`sign_off`, each in a savepoint
    of the one request transaction, so a refusal undoes only that proposal's sign-off and is reported
    (proposal id, message); the others are still signed. Returns (proposal id, None or the refusal).

    The row locks are held until the request commits, so the proposals are locked in one order (by id)
    whatever order they were chosen in: two bulk sign-offs at the same moment wait, never deadlock."""
    results: list[tuple[int, str | None]] = []
    for p in sorted(proposals, key=lambda p: p.id):
        try:
            with db.session.begin_nested():
                sign_off(p, actor, decision, reason)
        except ActionRefused as exc:
            results.append((p.id, exc.message))
        else:
            results.append((p.id, None))
    return results


def _standstill_for(p: Proposal, actor):
    p = lock(p)
    if not actor.has_role("official") or has_conflict(actor, p) or p.applicant_id == actor.id:
        raise ActionRefused(_("Nur Mitarbeitende der Ämter ohne Interessenkonflikt können dies tun."))
    st = standstill_of(p)
    if p.state != "standstill" or st is None:
        raise ActionRefused(_("Das Angebot ist nicht in der Stillhaltefrist."))
    return p, st


def record_objection(p: Proposal, actor, text: str):
    """An objection (Rüge) received during the standstill: recorded by an official; it holds the award."""
    p, st = _standstill_for(p, actor)
    text = printable(text or "")  # a NUL cannot be stored in PostgreSQL: control characters dropped
    if now() >= minute_end(st.ends_at):
        raise ActionRefused(_("Die Stillhaltefrist ist am %(when)s abgelaufen.", when=format_dt(st.ends_at)))
    if not (text or "").strip():
        raise ActionRefused(_("Bitte geben Sie den Einwand wieder."))
    if st.objection_open:
        raise ActionRefused(_("Es ist bereits ein Einwand offen."))
    st.objection_at, st.objection, st.objection_recorded_by_id = now(), text.strip(), actor.id
    st.resolved_at, st.resolution, st.resolved_by_id, st.objection_outcome = None, "", None, ""
    db.session.flush()
    record(actor, "record_objection", p, reason=text.strip())
    return st


OBJECTION_OUTCOMES = ("dismissed", "upheld")


def resolve_objection(p: Proposal, actor, resolution: str, outcome: str = "dismissed"):
    """The objection was examined, recorded with its result and outcome.

    Dismissed (zurückgewiesen): the award may go ahead once the period is over. Upheld (abgeholfen): the
    decision was wrong; it is reopened through the workflow (``reopen_decision``: both offices' sign-offs are
    voided and kept for the record, the standstill ends, the applicant is told), and the offices decide again.
    """
    p, st = _standstill_for(p, actor)
    resolution = printable(resolution or "")
    if outcome not in OBJECTION_OUTCOMES:
        raise ActionRefused(_("Bitte wählen Sie, ob der Einwand zurückgewiesen oder ihm abgeholfen wird."))
    if not st.objection_open:
        raise ActionRefused(_("Es ist kein Einwand offen."))
    if not (resolution or "").strip():
        raise ActionRefused(_("Bitte geben Sie das Ergebnis der Prüfung an."))
    with db.session.begin_nested():  # upheld: the outcome and the reopened decision together, or neither
        st.resolved_at, st.resolution, st.resolved_by_id = now(), resolution.strip(), actor.id
        st.objection_outcome = outcome
        db.session.flush()
        record(actor, "resolve_objection", p, reason=resolution.strip(), data={"outcome": outcome})
        if outcome == "upheld":
            fire(p, "reopen_decision", actor, reason=resolution.strip())
    return st


def make_award(p: Proposal, actor, amount_cents: int | None = None) -> Proposal:
    return fire(
        p, "award", actor, amount_cents=amount_cents if amount_cents is not None else p.requested_amount_cents
    )


def _implementation(p: Proposal, actor, *, applicant: bool):
    p = lock(p)
    if p.state != "in_implementation":
        raise ActionRefused(_("Die Maßnahme ist nicht in der Umsetzung."))
    if applicant and p.applicant_id != actor.id:
        raise ActionRefused(_("Nur die beauftragte Person kann berichten."))
    if not applicant and (
        not actor.has_role("official") or has_conflict(actor, p) or p.applicant_id == actor.id
    ):
        raise ActionRefused(_("Nur Mitarbeitende der Ämter ohne Interessenkonflikt können dies tun."))
    return p


def report_milestone(m: Milestone, actor, text: str) -> Milestone:
    p = _implementation(db.session.get_one(Proposal, m.proposal_id), actor, applicant=True)
    if not (text or "").strip():
        raise ActionRefused(_("Bitte beschreiben Sie den erreichten Stand."))
    if m.accepted_at is not None:
        raise ActionRefused(_("Dieser Meilenstein ist bereits abgenommen."))
    m.report, m.reported_at = text.strip(), now()
    db.session.flush()
    record(actor, "report_milestone", p, data={"milestone": m.title})
    return m


def accept_milestone(m: Milestone, actor) -> Milestone:
    p = _implementation(db.session.get_one(Proposal, m.proposal_id), actor, applicant=False)
    if m.reported_at is None:
        raise ActionRefused(_("Zu diesem Meilenstein liegt noch kein Bericht vor."))
    if m.accepted_at is None:
        m.accepted_at, m.accepted_by_id = now(), actor.id
        db.session.flush()
        record(actor, "accept_milestone", p, data={"milestone": m.title})
    return m


def add_milestone(p: Proposal, actor, title: str, due_at) -> Milestone:
    p = _implementation(p, actor, applicant=False)
    if not (title or "").strip():
        raise ActionRefused(_("Bitte geben Sie einen Titel an."))
    position = len(db.session.scalars(select(Milestone.id).where(Milestone.proposal_id == p.id)).all())
    m = Milestone(proposal_id=p.id, position=position, title=title.strip(), due_at=due_at)
    db.session.add(m)
    db.session.flush()
    record(actor, "add_milestone", p, data={"milestone": m.title, "due_at": due_at.isoformat()})
    return m


def submit_interim_report(p: Proposal, actor, narrative: str, use_of_funds: str, spent_cents: int) -> Report:
    p = _implementation(p, actor, applicant=True)
    if not (narrative or "").strip():
        raise ActionRefused(_("Bitte schreiben Sie den Sachbericht."))
    if interim_report_in(p) is not None:
        raise ActionRefused(_("Ein Zwischenbericht liegt bereits vor."))
    r = Report(
        proposal_id=p.id,
        kind="interim",
        narrative=narrative.strip(),
        use_of_funds=use_of_funds or "",
        spent_cents=spent_cents or 0,
        submitted_by_id=actor.id,
        submitted_at=now(),
    )
    db.session.add(r)
    db.session.flush()
    record(actor, "submit_interim_report", p)
    return r


def interim_report_in(p: Proposal) -> Report | None:
    """The interim report waiting for acceptance or accepted (there is one at a time; a returned one is not)."""
    return db.session.scalar(
        select(Report)
        .where(
            Report.proposal_id == p.id, Report.kind == "interim", Report.status.in_(("submitted", "accepted"))
        )
        .limit(1)
    )


def review_interim_report(r: Report, actor, accept: bool, note: str = "") -> Report:
    p = _implementation(db.session.get_one(Proposal, r.proposal_id), actor, applicant=False)
    if r.kind != "interim" or r.status != "submitted":
        raise ActionRefused(_("Dieser Bericht wartet nicht auf eine Abnahme."))
    if not accept and not (note or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Nachbesserung."))
    r.status = "accepted" if accept else "changes_requested"
    r.reviewed_by_id, r.reviewed_at, r.review_note = actor.id, now(), note or ""
    db.session.flush()
    record(actor, "accept_interim_report" if accept else "return_interim_report", p, reason=note)
    return r


def record_payment(p: Proposal, actor, amount_cents: int, note: str = "") -> Payment:
    p = lock(p)
    if p.state not in ("in_implementation", "final_report_submitted", "completed"):
        raise ActionRefused(_("Zahlungen sind nur für beauftragte Maßnahmen möglich."))
    if not actor.has_role("official") or has_conflict(actor, p) or p.applicant_id == actor.id:
        raise ActionRefused(
            _("Nur Mitarbeitende der Ämter ohne Interessenkonflikt können Zahlungen erfassen.")
        )
    award = award_of(p)
    assert award is not None  # the states above come after the award
    if amount_cents <= 0:
        raise ActionRefused(_("Der Betrag muss größer als 0 sein."))
    if award.paid_cents + amount_cents > award.amount_cents - award.released_cents:
        raise ActionRefused(_("Die Zahlung überschreitet die Auftragssumme."))
    pay = Payment(
        award_id=award.id, amount_cents=amount_cents, note=note or "", recorded_by_id=actor.id, paid_at=now()
    )
    db.session.add(pay)
    db.session.flush()
    record(actor, "record_payment", p, reason=note, data={"amount_cents": amount_cents})
    return pay
