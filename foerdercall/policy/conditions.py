"""The conditions that workflows/ names: each returns None when it holds, else the message for the user."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from workflows import CallState, ProposalState
from workflows import objection as objection_wf
from workflows.proposal import MEASURE_BEGUN

from ..awards.models import Award, Milestone, Report
from ..awards.queries import (
    FINAL_TRANCHE,
    award_of,
    interim_report_in,
    open_claim_cents,
    payment_plan,
    pending_drawdown_cents,
    sign_offs,
    standstill_of,
)
from ..calls.models import Call
from ..extensions import db
from ..i18n import current_lang, format_dt, format_money
from ..locking import lock
from ..offices.queries import office_by_key, office_labels
from ..privacy.queries import active_hold
from ..proposals.models import Proposal
from ..proposals.queries import (
    open_clarification,
    reason_request_of,
    reasons_until,
    submission_deadline_for,
    submission_gaps,
)
from ..ranking.queries import live_tie_break, proposals_by_id
from ..ranking.service import compute_ranking
from ..reviews.models import Review
from ..reviews.queries import has_conflict
from ..timeutil import minute_end
from .actors import proposal_of, verification_missing
from .context import Context

CONDITIONS: dict[str, Callable[[Context], str | None]] = {}


def condition(fn):
    CONDITIONS[fn.__name__] = fn
    return fn


# --- proposal ------------------------------------------------------------------------------------------


@condition
def call_open_for_submission(ctx: Context):
    p = ctx.obj
    call = p.call
    if call.state not in (CallState.PUBLISHED, CallState.CLOSED) or (call.opening is not None):
        return _("Der Aufruf nimmt keine Einreichungen an.")
    if ctx.now < call.opens_at:
        return _("Die Einreichung ist ab %(when)s möglich.", when=format_dt(call.opens_at))
    deadline = submission_deadline_for(p)
    if ctx.now >= minute_end(deadline):
        return _(
            "Die Einreichungsfrist ist am %(deadline)s abgelaufen. Ihr Entwurf bleibt gespeichert.",
            deadline=format_dt(deadline),
        )
    return None


@condition
def answers_complete(ctx: Context):
    """Every gap of the draft at once (proposals.queries.submission_gaps): the questions still to answer, the
    attachments missing, what is wrong with an attachment question's files and with the milestone plan."""
    return gaps_message(ctx.obj)


def gaps_message(p: Proposal) -> str | None:
    """The gaps of a draft as one message (the condition's answer; the draft page marks each at its question)."""
    lang = current_lang()
    gaps = submission_gaps(p, lang)
    wrong = [q for q in p.call.form_definition.questions() if q.key in gaps.answers]
    has = {a.kind for a in p.attachments}
    answers = [q.label.get(lang) for q in wrong if q.type != "attachment"]
    missing = [q.label.get(lang) for q in wrong if q.type == "attachment" and q.key not in has]
    told = []
    if answers:
        told.append(_("Bitte füllen Sie noch aus: %(fields)s.", fields=", ".join(answers)))
    if missing:
        told.append(_("Es fehlen Anlagen: %(names)s.", names=", ".join(missing)))
    told += [
        f"{q.label.get(lang)}: {gaps.answers[q.key]}"
        for q in wrong
        if q.type == "attachment" and q.key in has
    ]
    plan = p.call.form_definition.question(gaps.plan_key) if gaps.plan_key else None
    told += [f"{plan.label.get(lang)}: {problem}" for problem in gaps.plan] if plan is not None else []
    return " ".join(told) or None


@condition
def amount_within_cap(ctx: Context):
    p = ctx.obj
    if p.requested_amount_cents <= 0:
        return _("Bitte geben Sie den Angebotspreis (netto) an.")
    if p.requested_amount_cents > p.call.max_amount_cents:
        return _(
            "Der Betrag übersteigt die Obergrenze je Maßnahme von %(cap)s.",
            cap=format_money(p.call.max_amount_cents),
        )
    return None


@condition
def submissions_opened(ctx: Context):
    call = ctx.obj.call
    if call.mode == "procurement" and call.is_sealed:
        return _("Die Angebote sind bis zur gemeinsamen Öffnung nach Fristablauf verschlossen.")
    return None


@condition
def clarification_not_due(ctx: Context):
    c = open_clarification(ctx.obj)
    if c is None:
        return _("Es gibt keine offene Nachforderung.")
    if ctx.now >= minute_end(c.due_at):
        return _("Die Frist der Nachforderung ist am %(due)s abgelaufen.", due=format_dt(c.due_at))
    return None


@condition
def clarification_due_passed(ctx: Context):
    c = open_clarification(ctx.obj)
    if c is None or ctx.now < minute_end(c.due_at):
        return _("Die Frist der Nachforderung läuft noch.")
    return None


@condition
def reviewers_assigned(ctx: Context):
    n = db.session.scalar(select(func.count(Review.id)).where(Review.proposal_id == ctx.obj.id))
    if not n:
        return _("Bitte weisen Sie zuerst mindestens eine Gutachterin oder einen Gutachter zu.")
    return None


def _reviews_in(p) -> tuple[int, int]:
    """(submitted, still open) reviews of the proposal (given-back and conflicted ones are no longer there)."""
    rows = db.session.scalars(select(Review.submitted_at).where(Review.proposal_id == p.id)).all()
    done = sum(at is not None for at in rows)
    return done, len(rows) - done


@condition
def all_reviews_in(ctx: Context):
    """Every assigned review is in, and as many as the call asks for (``reviewers_per_proposal``)."""
    done, open_ = _reviews_in(ctx.obj)
    if open_ or not done:
        return _("Es stehen noch Gutachten aus.")
    wanted = ctx.obj.call.reviewers_per_proposal
    if done < wanted:
        return _(
            "Der Aufruf verlangt %(wanted)s Gutachten, abgegeben sind %(done)s: bitte weisen Sie eine weitere "
            "Gutachterin oder einen weiteren Gutachter zu.",
            wanted=wanted,
            done=done,
        )
    return None


@condition
def reviews_short(ctx: Context):
    """Every assigned review is in, at least one, but fewer than the call asks for: the officials may close the
    review with a recorded reason (or assign another reviewer)."""
    done, open_ = _reviews_in(ctx.obj)
    if open_ or not done:
        return _("Es stehen noch Gutachten aus.")
    if done >= ctx.obj.call.reviewers_per_proposal:
        return _("Die verlangten Gutachten sind vollständig.")
    return None


@condition
def every_office_approved(ctx: Context):
    """One approving sign-off from each of the call's deciding offices, each by another person."""
    s = sign_offs(ctx.obj)
    offices = ctx.obj.call.deciding_offices
    missing = [o for o in offices if o not in s or s[o].decision != "approve"]
    if missing:
        return _(
            "Für die Genehmigung fehlt noch die Zeichnung von: %(offices)s.", offices=office_labels(missing)
        )
    if len({s[o].user_id for o in offices}) < len(offices):
        return _("Jedes Amt muss durch eine andere Person zeichnen.")
    return None


@condition
def an_office_rejected(ctx: Context):
    if not any(s.decision == "reject" for s in sign_offs(ctx.obj).values()):
        return _("Kein Amt hat abgelehnt.")
    return None


def award_amount(ctx: Context) -> int:
    """The amount an official awards: the one given (0 included: refused below), else the offered price."""
    amount = ctx.params.get("amount_cents")
    return int(amount if amount is not None else ctx.obj.requested_amount_cents)


@condition
def award_within_offer(ctx: Context):
    """A contract is awarded for what was offered: never more than the offered price (less is a negotiated
    price). Checked for the award and for the amount the standstill notice tells the other bidders."""
    price = ctx.obj.requested_amount_cents
    if award_amount(ctx) > price:
        return _(
            "Der Zuschlag darf den Angebotspreis von %(price)s nicht übersteigen.", price=format_money(price)
        )
    return None


@condition
def budget_left(ctx: Context):
    call = lock(ctx.obj.call) if ctx.firing else ctx.obj.call  # serialises every award of this call
    amount = award_amount(ctx)
    if amount <= 0 or amount > call.max_amount_cents:
        return _(
            "Der Betrag muss zwischen 0 und der Obergrenze von %(cap)s liegen.",
            cap=format_money(call.max_amount_cents),
        )
    if amount > call.remaining_cents:
        return _(
            "Das verbleibende Budget des Aufrufs (%(left)s) reicht für %(amount)s nicht aus.",
            left=format_money(call.remaining_cents),
            amount=format_money(amount),
        )
    return None


STANDSTILL_DAYS = 10  # calendar days between informing the unsuccessful applicants and the award


@condition
def standstill_required(ctx: Context):
    """A procurement award of the call's threshold or more waits; a grant never does (no Vergaberecht)."""
    if ctx.obj.call.mode != "procurement":
        return _("Eine Zuwendung kennt keine Stillhaltefrist: sie kann direkt bewilligt werden.")
    threshold = ctx.obj.call.standstill_threshold_cents
    if award_amount(ctx) < threshold:
        return _(
            "Unter %(t)s netto ist keine Stillhaltefrist nötig: der Zuschlag kann direkt erteilt werden.",
            t=format_money(threshold),
        )
    return None


@condition
def standstill_passed(ctx: Context):
    """Below the call's threshold: nothing to wait for. From it on: the standstill has run its 10 calendar
    days, no objection is open, and the award is not larger than the amount the applicants were told."""
    p = ctx.obj
    threshold = p.call.standstill_threshold_cents
    st = standstill_of(p)
    if st is None:
        if p.call.mode == "procurement" and award_amount(ctx) >= threshold:
            return _(
                "Ab %(t)s netto informiert die Stadt zuerst die nicht berücksichtigten Bieter und wartet "
                "%(d)s Kalendertage (Stillhaltefrist): bitte starten Sie die Stillhaltefrist.",
                t=format_money(threshold),
                d=STANDSTILL_DAYS,
            )
        return None
    if ctx.now < minute_end(st.ends_at):
        return _(
            "Die Stillhaltefrist läuft bis %(when)s; erst danach kann der Zuschlag erteilt werden.",
            when=format_dt(st.ends_at),
        )
    if st.objection_open:
        return _(
            "Ein Einwand vom %(when)s hält den Zuschlag an, bis er erledigt ist.",
            when=format_dt(st.objection_at),
        )
    if award_amount(ctx) > st.amount_cents:
        return _(
            "Der Zuschlag darf den mitgeteilten Betrag von %(amount)s nicht übersteigen.",
            amount=format_money(st.amount_cents),
        )
    return None


@condition
def objection_upheld(ctx: Context):
    """The decision is reopened only when an objection received in the standstill was upheld (abgeholfen)."""
    st = standstill_of(ctx.obj)
    if st is None or st.objection_outcome != "upheld":
        return _(
            "Die Entscheidung wird wieder geöffnet, wenn einem Einwand in der Stillhaltefrist abgeholfen "
            "wird: bitte vermerken Sie das Ergebnis der Prüfung beim Einwand."
        )
    return None


@condition
def acceptance_not_due(ctx: Context):
    a = award_of(ctx.obj)
    if a is None or ctx.now >= minute_end(a.accept_by):
        return _("Die Annahmefrist ist abgelaufen.")
    return None


@condition
def acceptance_due_passed(ctx: Context):
    a = award_of(ctx.obj)
    if a is None or ctx.now < minute_end(a.accept_by):
        return _("Die Annahmefrist läuft noch.")
    return None


@condition
def milestones_reported(ctx: Context):
    open_ms = db.session.scalar(
        select(func.count(Milestone.id)).where(
            Milestone.proposal_id == ctx.obj.id, Milestone.accepted_at.is_(None)
        )
    )
    if open_ms:
        return _("Es sind noch %(n)s Meilensteine nicht berichtet und abgenommen.", n=open_ms)
    return None


@condition
def interim_report_accepted(ctx: Context):
    ok = db.session.scalar(
        select(Report.id).where(
            Report.proposal_id == ctx.obj.id, Report.kind == "interim", Report.state == "accepted"
        )
    )
    if not ok:
        return _("Der Zwischenbericht ist noch nicht abgenommen.")
    return None


# --- call ----------------------------------------------------------------------------------------------


@condition
def catalogue_complete(ctx: Context):
    call = ctx.obj
    if not call.criteria:
        return _("Der Aufruf braucht einen Kriterienkatalog.")
    total = sum(c.weight for c in call.criteria)
    if total != 100:
        return _("Die Gewichte der Kriterien ergeben %(total)s %% statt 100 %%.", total=total)
    if not call.fields_of_action:
        return _("Bitte wählen Sie mindestens ein Handlungsfeld.")
    return None


@condition
def offices_named(ctx: Context):
    """A call names one or more deciding offices, each one the admins keep."""
    offices = ctx.obj.deciding_offices or []
    if not offices:
        return _("Bitte wählen Sie mindestens ein entscheidendes Amt.")
    unknown = [o for o in offices if office_by_key(o) is None]
    if unknown:
        return _("Unbekanntes Amt: %(offices)s.", offices=", ".join(unknown))
    return None


@condition
def below_eu_threshold(ctx: Context):
    call = ctx.obj
    threshold = current_app.config["EU_THRESHOLD_CENTS"]
    if call.mode == "procurement" and call.estimated_value_cents >= threshold:
        return _(
            "Der geschätzte Auftragswert erreicht den EU-Schwellenwert (%(t)s): "
            "ein nationales Verfahren ist nicht zulässig.",
            t=format_money(threshold),
        )
    return None


@condition
def deadline_passed(ctx: Context):
    if ctx.now < ctx.obj.submissions_close_at:
        return _("Die Einreichungsfrist läuft noch bis %(d)s.", d=format_dt(ctx.obj.submission_deadline))
    return None


OPEN_STATES = (
    ProposalState.SUBMITTED,
    ProposalState.CLARIFICATION,
    ProposalState.ELIGIBLE,
    ProposalState.IN_REVIEW,
    ProposalState.REVIEWED,
    ProposalState.APPROVED,
    ProposalState.STANDSTILL,
)


@condition
def all_proposals_decided(ctx: Context):
    n = db.session.scalar(
        select(func.count(Proposal.id)).where(Proposal.call_id == ctx.obj.id, Proposal.state.in_(OPEN_STATES))
    )
    if n:
        return _("%(n)s Angebote sind noch nicht entschieden.", n=n)
    return None


@condition
def all_measures_finished(ctx: Context):
    n = db.session.scalar(
        select(func.count(Proposal.id)).where(
            Proposal.call_id == ctx.obj.id,
            Proposal.state.in_(
                (ProposalState.AWARDED, ProposalState.IN_IMPLEMENTATION, ProposalState.FINAL_REPORT_SUBMITTED)
            ),
        )
    )
    if n:
        return _("%(n)s Maßnahmen laufen noch.", n=n)
    return None


@condition
def applicant_email_verified(ctx):
    """A proposal is submitted only by an applicant whose e-mail address is verified."""
    return verification_missing(ctx.obj.applicant)


# --- lifecycles of their own: the opening, the objection, milestones, reports, payments --------------------
# (workflows/opening.py, objection.py, milestone.py, report.py, payment.py). A new row (an opening, a report,
# a payment made by its first transition) has no relationships loaded yet: its parents are read by their ids.


@condition
def call_closed_for_opening(ctx: Context):
    if db.session.get_one(Call, ctx.obj.call_id).state != CallState.CLOSED:
        return _("Die Angebote können erst nach Ablauf der Einreichungsfrist geöffnet werden.")
    return None


@condition
def extended_deadlines_passed(ctx: Context):
    """Sealed until every deadline has passed: a draft's extended deadline too."""
    extended = db.session.scalar(
        select(func.max(Proposal.personal_deadline)).where(
            Proposal.call_id == ctx.obj.call_id, Proposal.state == ProposalState.DRAFT
        )
    )
    if extended is not None and ctx.now < minute_end(extended):
        return _(
            "Eine verlängerte Einreichungsfrist läuft noch bis %(d)s; erst danach können "
            "die Angebote geöffnet werden.",
            d=format_dt(extended),
        )
    return None


@condition
def confirmed_by_another_official(ctx: Context):
    """The two-person rule of the opening: the official who requested it cannot confirm it."""
    if ctx.actor is not None and ctx.obj.requested_by_id == ctx.actor.id:
        return _("Die Öffnung muss eine zweite Person bestätigen.")
    return None


@condition
def standstill_running(ctx: Context):
    """An objection is recorded only while the standstill period runs."""
    if ctx.now >= minute_end(ctx.obj.ends_at):
        return _("Die Stillhaltefrist ist am %(when)s abgelaufen.", when=format_dt(ctx.obj.ends_at))
    return None


@condition
def objection_outcome_chosen(ctx: Context):
    if ctx.params.get("outcome") not in objection_wf.OUTCOMES:
        return _("Bitte wählen Sie, ob der Einwand zurückgewiesen oder ihm abgeholfen wird.")
    return None


@condition
def measure_in_implementation(ctx: Context):
    """Milestones and the interim report belong to the year of implementation."""
    p = proposal_of(ctx.obj)
    if p is None or p.state != ProposalState.IN_IMPLEMENTATION:
        return _("Die Maßnahme ist nicht in der Umsetzung.")
    return None


@condition
def milestone_due_passed(ctx: Context):
    if ctx.now < minute_end(ctx.obj.due_at):
        return _("Der Meilenstein ist am %(due)s fällig.", due=format_dt(ctx.obj.due_at))
    return None


@condition
def no_interim_report_in(ctx: Context):
    if interim_report_in(proposal_of(ctx.obj)) is not None:
        return _("Ein Zwischenbericht liegt bereits vor.")
    return None


@condition
def is_interim_report(ctx: Context):
    if ctx.obj.kind != "interim":
        return _("Dieser Bericht wartet nicht auf eine Abnahme.")
    return None


@condition
def measure_payable(ctx: Context):
    p = proposal_of(ctx.obj)
    if p is None or p.state not in (
        ProposalState.IN_IMPLEMENTATION,
        ProposalState.FINAL_REPORT_SUBMITTED,
        ProposalState.COMPLETED,
    ):
        return _("Zahlungen sind nur für beauftragte Maßnahmen möglich.")
    return None


@condition
def measure_awarded(ctx: Context):
    """What a measure achieved is reported and checked from the acceptance of its award on, also once it is
    completed (the values count in the implementation report)."""
    p = proposal_of(ctx.obj)
    if p is None or p.state not in (
        ProposalState.IN_IMPLEMENTATION,
        ProposalState.FINAL_REPORT_SUBMITTED,
        ProposalState.COMPLETED,
    ):
        return _("Angaben zur Wirkung gibt es nur für beauftragte Maßnahmen.")
    return None


@condition
def payment_amount_positive(ctx: Context):
    if ctx.obj.amount_cents is None and not ctx.firing:  # a page asks before an amount is typed
        return None
    if ctx.obj.amount_cents <= 0:
        return _("Der Betrag muss größer als 0 sein.")
    return None


@condition
def payment_within_award(ctx: Context):
    """Paid payments never exceed the award less what was returned to the budget."""
    if ctx.obj.amount_cents is None and not ctx.firing:  # a page asks before an amount is typed
        return None
    award = db.session.get_one(Award, ctx.obj.award_id)
    if ctx.obj.amount_cents > award.open_cents:
        return _(
            "Die Zahlung überschreitet die Auftragssumme (noch offen: %(left)s).",
            left=format_money(award.open_cents),
        )
    return None


# --- ties in the ranking (workflows/tie.py) -------------------------------------------------------------------


@condition
def tie_decided(ctx: Context):
    """No award within a tie that the published tie-break criteria left open while the money left cannot fund
    all of it: the deciding offices record their decision first (or the lots, when the call announced them)."""
    p = ctx.obj
    row = compute_ranking(p.call).row(p.id)
    if row is None or not row.tie_waits:
        return None
    others = [q.file_number or "" for q in proposals_by_id(row.tie_members).values() if q.id != p.id]
    how = (
        _("das Los, das der Aufruf angekündigt hat")
        if p.call.lots_announced
        else _("eine begründete Entscheidung der Ämter")
    )
    return _(
        "Gleichstand mit %(others)s auch nach den veröffentlichten Kriterien, und das Budget reicht nicht für "
        "alle: zuerst entscheidet %(how)s (Seite „Entscheidung“).",
        others=", ".join(sorted(others)),
        how=how,
    )


@condition
def tie_still_open(ctx: Context):
    """The proposals are tied in the ranking as it stands, nothing is decided on them yet."""
    tb = ctx.obj
    call = db.session.get_one(Call, tb.call_id)
    members = tuple(sorted(tb.members))
    rows = [r for r in compute_ranking(call).rows if r.proposal_id in members]
    if len(members) < 2 or len(rows) != len(members) or any(r.tie_members != members for r in rows):
        return _("Diese Angebote stehen nicht (mehr) gleich.")
    if not rows[0].tie_open or live_tie_break(call.id, list(members), but=tb.id) is not None:
        return _(
            "Über diesen Gleichstand ist bereits entschieden oder eine Entscheidung wartet auf Zustimmung."
        )
    return None


@condition
def tie_decider(ctx: Context):
    """An official of a deciding office of the call, with no conflict with any of the tied proposals."""
    tb, actor = ctx.obj, ctx.actor
    call = db.session.get_one(Call, tb.call_id)
    if actor is None or actor.office not in call.deciding_offices:
        return _(
            "Über einen Gleichstand entscheiden die Ämter dieses Aufrufs (%(offices)s).",
            offices=office_labels(call.deciding_offices),
        )
    for q in proposals_by_id(tb.members).values():
        if q.applicant_id == actor.id or has_conflict(actor, q):
            return _("Sie haben einen Interessenkonflikt mit %(number)s.", number=q.file_number)
    return None


@condition
def lots_announced(ctx: Context):
    if not db.session.get_one(Call, ctx.obj.call_id).lots_announced:
        return _("Der Aufruf hat keinen Losentscheid angekündigt: es entscheiden die Ämter mit Begründung.")
    return None


def _signers(tb) -> set[int]:
    return {s["user_id"] for s in tb.signatures or []}


@condition
def tie_agreed(ctx: Context):
    """A proposed order: with this agreement each deciding office has signed, by two people at least. A draw:
    witnessed by a second person."""
    tb, actor = ctx.obj, ctx.actor
    if actor is None or actor.id in _signers(tb):
        return _("Eine zweite Person muss zustimmen bzw. die Ziehung bezeugen.")
    if tb.method == "lot":
        return None
    call = db.session.get_one(Call, tb.call_id)
    signed = {s["office"] for s in tb.signatures or []} | {actor.office}
    if missing := [o for o in call.deciding_offices if o not in signed]:
        return _("Es fehlt noch die Zustimmung von: %(offices)s.", offices=office_labels(missing))
    return None


@condition
def tie_order_refusable(ctx: Context):
    """An office that has not agreed yet may refuse a proposed order; a draw stands."""
    tb, actor = ctx.obj, ctx.actor
    if tb.method == "lot":
        return _("Ein gezogenes Los gilt; es wird nicht wiederholt.")
    if actor is None or actor.office in {s["office"] for s in tb.signatures or []}:
        return _("Ihr Amt hat dieser Reihenfolge bereits zugestimmt.")
    return None


# --- reasons on request (workflows/reasons.py) ------------------------------------------------------------------


@condition
def reasons_period_open(ctx: Context):
    """An unsuccessful applicant asks once, until the end of the period the notice named."""
    p = proposal_of(ctx.obj)
    until = reasons_until(p) if p is not None else None
    if p is None or until is None:
        return _("Die Gründe können Sie erfragen, wenn Ihr Angebot abgelehnt oder ausgeschlossen wurde.")
    if reason_request_of(p) is not None:
        return _("Sie haben die Gründe bereits erfragt.")
    if ctx.now >= minute_end(until):
        return _("Die Frist, die Gründe zu erfragen, ist am %(when)s abgelaufen.", when=format_dt(until))
    return None


# --- legal holds (workflows/hold.py) ----------------------------------------------------------------------------


@condition
def not_on_hold(ctx: Context):
    """One hold at a time on a record."""
    if active_hold(ctx.obj.proposal_id) is not None:
        return _("Für diese Akte ist die Aufbewahrung bereits angeordnet.")
    return None


# --- the money of a grant: drawdowns and claims back (workflows/drawdown.py, workflows/claim.py) -----------------


def _beyond(amount: int, left: int, message: str) -> str | None:
    """An amount of money above 0 and no more than what is left, else the message naming what is left."""
    if amount <= 0 or amount > left:
        return message.replace("%(left)s", format_money(max(left, 0)))
    return None


@condition
def grant_measure_running(ctx: Context):
    """A grant's recipient draws money while the measure runs (until the proof of use is accepted)."""
    p = proposal_of(ctx.obj)
    if p is None or p.call.mode != "grant":
        return _("Mittel werden nur bei einer Zuwendung abgerufen.")
    if p.state not in (ProposalState.IN_IMPLEMENTATION, ProposalState.FINAL_REPORT_SUBMITTED):
        return _("Mittel können nur abgerufen werden, solange die Maßnahme läuft.")
    return None


@condition
def drawdown_within_award(ctx: Context):
    """A drawdown asks for no more than is open of the grant, less what other drawdowns still ask for."""
    d = ctx.obj
    if d.amount_cents is None and not ctx.firing:  # a page asks before an amount is typed
        return None
    award = db.session.get_one(Award, d.award_id)
    left = award.open_cents - pending_drawdown_cents(award.id, but=d.id)
    return _beyond(
        d.amount_cents,
        left,
        _("Der Abruf muss größer als 0 sein und darf das noch Abrufbare nicht übersteigen (%(left)s)."),
    )


@condition
def measure_reported_or_over(ctx: Context):
    """Money is claimed back from a measure that began: while it runs (a breach), on its proof of use, after."""
    p = proposal_of(ctx.obj)
    if p is None or p.state not in MEASURE_BEGUN:
        return _("Zurückgefordert wird nur bei einer begonnenen Maßnahme.")
    return None


@condition
def claim_within_paid(ctx: Context):
    """A claim back asks for no more than was paid, less what other claims still ask for."""
    c = ctx.obj
    if c.amount_cents is None and not ctx.firing:
        return None
    award = db.session.get_one(Award, c.award_id)
    left = award.paid_cents - open_claim_cents(award.id, but=c.id)
    return _beyond(
        c.amount_cents,
        left,
        _("Die Rückforderung muss größer als 0 sein und darf das Ausgezahlte nicht übersteigen (%(left)s)."),
    )


@condition
def tranche_due(ctx: Context):
    """A payment against a tranche of the payment plan: its milestone accepted, or (the final payment) the final
    report accepted; and no more than the tranche leaves."""
    pay = ctx.obj
    if not pay.tranche:
        return None
    award = db.session.get_one(Award, pay.award_id)
    p = db.session.get_one(Proposal, award.proposal_id)
    tranche = next((t for t in payment_plan(p, award) if t.key == pay.tranche), None)
    if tranche is None:
        return _("Diese Rate gibt es im Zahlungsplan nicht.")
    if not tranche.due:
        if tranche.key == FINAL_TRANCHE:
            return _("Die Schlusszahlung ist erst nach der Abnahme des Abschlussberichts fällig.")
        return _(
            "Diese Rate ist erst fällig, wenn der Meilenstein „%(title)s“ abgenommen ist.",
            title=tranche.title,
        )
    if pay.amount_cents is not None and pay.amount_cents > tranche.amount_cents - tranche.paid_cents:
        return _(
            "Die Zahlung übersteigt, was von dieser Rate offen ist (%(left)s).",
            left=format_money(max(tranche.amount_cents - tranche.paid_cents, 0)),
        )
    return None
