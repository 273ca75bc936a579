"""Everyone's start page: what the signed-in person has to do now, counted and ordered by urgency.

Each kind of task is a narrow query (by state, over the calls a person works on) whose rows the rulebook then
filters: a row is a task only when ``policy.may`` lets this person take its step (or, for the applicant, when
the proposal's next step is theirs). So the list never offers what the proposal page would refuse, and a rule
changes in one place. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from workflows import CallState, DrawdownState, MilestoneState, ProposalState, ReasonsState, ReportState

from ..awards.models import Award, Drawdown, Milestone, Report
from ..calls.models import Call
from ..extensions import db
from ..i18n import format_dt as _dt
from ..i18n import format_money as _money
from ..policy import may
from ..policy.actors import is_official
from ..proposals.models import Clarification, Proposal, ReasonRequest
from ..proposals.progress import next_step
from ..proposals.queries import proposals_of
from ..ranking.models import Standstill
from ..reviews.models import Review
from ..reviews.queries import conflicted_proposals
from ..timeutil import now as clock_now

# calls whose work is over: nothing on them is a task any more
_QUIET = (CallState.DRAFT, CallState.ARCHIVED)


@dataclass
class Item:
    endpoint: str  # the page of the step, for url_for (a page) or external_url (a mail)
    args: dict
    title: str  # what it is about: "KW2011-0003 · Designmarkt"
    call: str  # the call's title
    due_at: dt.datetime | None = None  # the deadline of the step, if it has one
    note: str = ""  # since when it waits, or what exactly is asked
    since: dt.datetime | None = None  # when it arrived (the order when there is no deadline)

    def overdue(self, at: dt.datetime) -> bool:
        return self.due_at is not None and self.due_at < at


@dataclass
class Task:
    key: str  # the kind of task: a CSS hook and the anchor of its list
    label: str
    hint: str = ""
    items: list[Item] = field(default_factory=list)
    info: bool = False  # for information (the offices' next steps on one's proposals): listed last

    @property
    def due_at(self) -> dt.datetime | None:
        return min((i.due_at for i in self.items if i.due_at), default=None)


def _order(tasks: list[Task]) -> list[Task]:
    """Each task's items: the soonest deadline first, then the longest waiting; the tasks by their most urgent
    item (a task without any deadline after those with one, the oldest arrival first)."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for t in tasks:
        t.items.sort(key=lambda i: (i.due_at or far, i.since or far))
    kept = [t for t in tasks if t.items]
    return sorted(kept, key=lambda t: (t.info, t.due_at or far, min(i.since or far for i in t.items)))


def _label(p: Proposal) -> str:
    return (
        f"{p.file_number} · {p.title or _('(ohne Titel)')}" if p.file_number else p.title or _("(ohne Titel)")
    )


def _item(p: Proposal, **kw) -> Item:
    return Item("proposals.detail", {"proposal_id": p.id}, title=_label(p), call=p.call.title, **kw)


# --- officials ------------------------------------------------------------------------------------------------


def _official_calls(user) -> list[Call]:
    """The calls an official works on: those their office decides, while they run."""
    calls = db.session.scalars(select(Call).where(Call.state.not_in(_QUIET)).order_by(Call.id)).all()
    return [c for c in calls if user.office in (c.deciding_offices or ())]


def _proposals(call_ids: list[int], states, skip: set[int]):
    if not call_ids:
        return []
    rows = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id.in_(call_ids), Proposal.state.in_(list(states)))
        .order_by(Proposal.submitted_at, Proposal.id)
    ).all()
    return [p for p in rows if p.id not in skip]


def _openings(user, calls: list[Call], at: dt.datetime) -> Task:
    task = Task(
        "opening",
        _("Öffnungen"),
        _("Die Einreichungsfrist ist abgelaufen; zwei Personen öffnen die Angebote gemeinsam."),
    )
    for c in calls:
        if c.mode != "procurement" or not c.is_sealed or c.submission_deadline > at:
            continue
        requested = c.opening is not None
        if requested and not may(user, "confirm_opening", c.opening):
            continue  # requested by this person: the second one confirms
        if not requested and not may(user, "call.request_opening", c):
            continue
        task.items.append(
            Item(
                "calls.opening",
                {"call_id": c.id},
                title=c.title,
                call=c.code,
                due_at=c.submission_deadline,
                note=_("Öffnung angestoßen – bitte bestätigen Sie als zweite Person.") if requested else "",
            )
        )
    return task


def _formal_checks(user, ids: list[int], skip: set[int]) -> tuple[Task, Task]:
    checks = Task(
        "formal-check",
        _("Formale Prüfungen"),
        _("Eingegangene Angebote: zulassen, nachfordern oder ausschließen."),
    )
    answers = Task(
        "answers", _("Antworten auf Nachforderungen"), _("Die Antwort ist eingegangen: bitte prüfen.")
    )
    rows = _proposals(ids, (ProposalState.SUBMITTED,), skip)
    answered = dict(
        db.session.execute(
            select(Clarification.proposal_id, Clarification.answered_at)
            .where(
                Clarification.proposal_id.in_([p.id for p in rows]), Clarification.answered_at.is_not(None)
            )
            .order_by(Clarification.answered_at)
        ).all()
    )
    for p in rows:
        if not may(user, "declare_eligible", p):
            continue
        if p.id in answered:
            at = answered[p.id]
            answers.items.append(_item(p, since=at, note=_("Antwort vom %(when)s", when=_dt(at))))
        else:
            checks.items.append(
                _item(p, since=p.submitted_at, note=_("eingegangen am %(when)s", when=_dt(p.submitted_at)))
            )
    return checks, answers


def _reviews(user, ids: list[int], skip: set[int], at: dt.datetime) -> tuple[Task, Task, Task]:
    assign = Task(
        "assign",
        _("Begutachtung starten"),
        _("Formal geprüft: Gutachterinnen und Gutachter zuweisen und starten."),
    )
    for p in _proposals(ids, (ProposalState.ELIGIBLE,), skip):
        if may(user, "proposal.assign_reviewer", p):
            assign.items.append(_item(p, due_at=p.call.review_deadline, since=p.submitted_at))
    replace = Task(
        "replace",
        _("Gutachten neu vergeben"),
        _(
            "Weniger Gutachten als der Aufruf verlangt: jemand hat abgelehnt oder einen Interessenkonflikt erklärt."
        ),
    )
    overdue = Task(
        "reviews-overdue", _("Gutachten überfällig"), _("Die Frist der Begutachtung ist abgelaufen.")
    )
    in_review = {p.id: p for p in _proposals(ids, (ProposalState.IN_REVIEW,), skip)}
    counts: dict[int, list[int]] = {pid: [0, 0] for pid in in_review}  # assigned, still open
    for pid, submitted in db.session.execute(
        select(Review.proposal_id, Review.submitted_at).where(Review.proposal_id.in_(list(in_review)))
    ).all():
        counts[pid][0] += 1
        counts[pid][1] += submitted is None
    for pid, p in in_review.items():
        if not may(user, "proposal.assign_reviewer", p):
            continue
        assigned, open_ = counts[pid]
        deadline = p.call.review_deadline
        if assigned < p.call.reviewers_per_proposal:
            missing = p.call.reviewers_per_proposal - assigned
            replace.items.append(
                _item(
                    p,
                    due_at=deadline,
                    note=ngettext("%(num)s Gutachten fehlt", "%(num)s Gutachten fehlen", missing),
                )
            )
        elif open_ and deadline is not None and deadline < at:
            overdue.items.append(
                _item(
                    p,
                    due_at=deadline,
                    note=ngettext("%(num)s Gutachten offen", "%(num)s Gutachten offen", open_),
                )
            )
    return assign, replace, overdue


def _sign_offs(user, ids: list[int], skip: set[int]) -> Task:
    task = Task("sign-off", _("Zeichnungen Ihres Amtes"), _("Begutachtet: Ihr Amt stimmt zu oder lehnt ab."))
    for p in _proposals(ids, (ProposalState.REVIEWED,), skip):
        if may(user, "proposal.sign_off", p):
            task.items.append(_item(p, since=p.submitted_at))
    return task


def _awards(user, ids: list[int], skip: set[int], at: dt.datetime) -> tuple[Task, Task]:
    award = Task(
        "award", _("Zuschläge"), _("Von allen Ämtern genehmigt: Zuschlag erteilen (oder Stillhaltefrist).")
    )
    rows = _proposals(ids, (ProposalState.APPROVED, ProposalState.STANDSTILL), skip)
    ends = dict(
        db.session.execute(
            select(Standstill.proposal_id, Standstill.ends_at).where(
                Standstill.proposal_id.in_([p.id for p in rows])
            )
        ).all()
    )
    for p in rows:
        if may(user, "award", p) or may(user, "start_standstill", p):
            award.items.append(_item(p, due_at=ends.get(p.id)))
    acceptance = Task(
        "acceptance",
        _("Annahmen ausstehend"),
        _("Zuschlag erteilt: die Annahme steht aus (mit Ablauf der Frist verfällt der Zuschlag von selbst)."),
        info=True,
    )
    for p, a in _with_award(ids, (ProposalState.AWARDED,), skip):
        if may(user, "proposal.handle", p):
            acceptance.items.append(
                _item(p, due_at=a.accept_by, note=_("Annahmefrist abgelaufen") if a.accept_by < at else "")
            )
    return award, acceptance


def _reasons(user, ids: list[int], skip: set[int]) -> Task:
    task = Task(
        "reasons",
        _("Gründe erfragt"),
        _("Nicht berücksichtigte Antragstellende erfragen die Gründe: antworten Sie innerhalb von 15 Tagen."),
    )
    if not ids:
        return task
    for rr, p in db.session.execute(
        select(ReasonRequest, Proposal)
        .join(Proposal, Proposal.id == ReasonRequest.proposal_id)
        .where(Proposal.call_id.in_(ids), ReasonRequest.state == ReasonsState.REQUESTED)
    ).all():
        if p.id not in skip and may(user, "answer_reasons", rr):
            task.items.append(_item(p, due_at=rr.due_at, since=rr.requested_at, note=rr.question))
    return task


def _drawdowns(user, ids: list[int], skip: set[int]) -> Task:
    task = Task(
        "drawdowns", _("Mittelabrufe"), _("Zuwendungsempfänger rufen Mittel ab: auszahlen oder ablehnen.")
    )
    if not ids:
        return task
    for d, p in db.session.execute(
        select(Drawdown, Proposal)
        .join(Proposal, Proposal.id == Drawdown.proposal_id)
        .where(Proposal.call_id.in_(ids), Drawdown.state == DrawdownState.REQUESTED)
        .order_by(Drawdown.requested_at)
    ).all():
        if p.id not in skip and may(user, "pay_drawdown", d):
            task.items.append(_item(p, since=d.requested_at, note=_money(d.amount_cents)))
    return task


def _with_award(ids: list[int], states, skip: set[int]) -> list[tuple[Proposal, Award]]:
    if not ids:
        return []
    rows = db.session.execute(
        select(Proposal, Award)
        .join(Award, Award.proposal_id == Proposal.id)
        .where(Proposal.call_id.in_(ids), Proposal.state.in_(list(states)))
        .order_by(Award.awarded_at)
    ).all()
    return [(p, a) for p, a in rows if p.id not in skip]


def _measures(user, ids: list[int], skip: set[int]) -> tuple[Task, Task, Task]:
    milestones = Task("milestones", _("Meilensteine abnehmen"), _("Berichtet: bitte abnehmen."))
    reports = Task(
        "reports", _("Berichte abnehmen"), _("Zwischen- und Abschlussberichte, die eingegangen sind.")
    )
    payments = Task(
        "payments",
        _("Zahlungen fällig"),
        _("Abgenommene Meilensteine und Abschlüsse, noch nicht ausgezahlt."),
    )
    if not ids:
        return milestones, reports, payments
    for m, p in db.session.execute(
        select(Milestone, Proposal)
        .join(Proposal, Proposal.id == Milestone.proposal_id)
        .where(Proposal.call_id.in_(ids), Milestone.state == MilestoneState.REPORTED)
        .order_by(Milestone.reported_at)
    ).all():
        if p.id not in skip and may(user, "accept_milestone", m):
            milestones.items.append(
                _item(
                    p,
                    since=m.reported_at,
                    note=_("„%(title)s“, berichtet am %(when)s", title=m.title, when=_dt(m.reported_at)),
                )
            )
    for r, p in db.session.execute(
        select(Report, Proposal)
        .join(Proposal, Proposal.id == Report.proposal_id)
        .where(Proposal.call_id.in_(ids), Report.state == ReportState.SUBMITTED)
        .order_by(Report.submitted_at)
    ).all():
        trigger = "accept_interim_report" if r.kind == "interim" else "accept_final_report"
        if p.id not in skip and may(user, trigger, r if r.kind == "interim" else p):
            kind = _("Zwischenbericht") if r.kind == "interim" else _("Abschlussbericht")
            reports.items.append(
                _item(
                    p,
                    since=r.submitted_at,
                    note=_("%(kind)s vom %(when)s", kind=kind, when=_dt(r.submitted_at)),
                )
            )
    for p, a in _with_award(
        ids,
        (ProposalState.IN_IMPLEMENTATION, ProposalState.FINAL_REPORT_SUBMITTED, ProposalState.COMPLETED),
        skip,
    ):
        owed = payable_cents(p, a) - a.paid_cents
        if owed > 0 and may(user, "proposal.record_payment", p):
            payments.items.append(_item(p, note=_("offen: %(amount)s", amount=_money(owed))))
    return milestones, reports, payments


def payable_cents(p: Proposal, award: Award) -> int:
    """What is due on an award by now: all of it once the measure is completed, else the shares of the
    accepted milestones (a plan without shares: nothing before the completion)."""
    if p.state == ProposalState.COMPLETED:
        return award.amount_cents - award.released_cents
    shares = db.session.scalars(
        select(Milestone.share).where(
            Milestone.proposal_id == p.id,
            Milestone.state == MilestoneState.ACCEPTED,
            Milestone.share.is_not(None),
        )
    ).all()
    return int(award.amount_cents * sum((s for s in shares if s is not None), Decimal(0)) / 100)


def official_tasks(user, at: dt.datetime) -> list[Task]:
    calls = _official_calls(user)
    ids = [c.id for c in calls]
    skip = conflicted_proposals(user) | set(
        db.session.scalars(select(Proposal.id).where(Proposal.applicant_id == user.id))
    )
    return [
        _openings(user, calls, at),
        *_formal_checks(user, ids, skip),
        *_reviews(user, ids, skip, at),
        _sign_offs(user, ids, skip),
        *_awards(user, ids, skip, at),
        _reasons(user, ids, skip),
        _drawdowns(user, ids, skip),
        *_measures(user, ids, skip),
    ]


# --- reviewers, applicants, the Kontaktstelle -------------------------------------------------------------------


def reviewer_tasks(user, at: dt.datetime) -> list[Task]:
    task = Task("reviews", _("Offene Gutachten"), _("Die früheste Frist zuerst."))
    conflicted = conflicted_proposals(user)
    rows = db.session.execute(
        select(Review, Proposal)
        .join(Proposal, Proposal.id == Review.proposal_id)
        .where(
            Review.reviewer_id == user.id,
            Review.submitted_at.is_(None),
            Proposal.state == ProposalState.IN_REVIEW,
        )
        .order_by(Review.assigned_at)
    ).all()
    for r, p in rows:
        if p.id in conflicted:
            continue
        task.items.append(
            Item(
                "reviews.score",
                {"review_id": r.id},
                title=p.file_number or "",
                call=p.call.title,
                due_at=p.call.review_deadline,
                since=r.assigned_at,
            )
        )
    return [task]


def applicant_tasks(user, at: dt.datetime) -> list[Task]:
    """Each proposal's next step: the applicant's own ones first, then what the offices do next."""
    mine = Task("mine", _("Ihre nächsten Schritte"))
    waiting = Task("waiting", _("Beim Amt in Bearbeitung"), info=True)
    for p in proposals_of(user):
        step = next_step(p)
        if step is None or (p.state == ProposalState.DRAFT and p.call.state != CallState.PUBLISHED):
            continue  # finished, or a draft whose call takes no more submissions
        item = Item(
            "proposals.edit" if may(user, "proposal.edit", p) else "proposals.detail",
            {"proposal_id": p.id},
            title=p.title or _("(ohne Titel)"),
            call=p.call.title,
            due_at=step.due_at,
            note=step.text,
            since=p.created_at,
        )
        (mine if step.by_applicant else waiting).items.append(item)
    return [mine, waiting]


def tasks_for(user, at: dt.datetime | None = None) -> list[Task]:
    """Everything the person has to do now, in their roles, ordered by urgency (empty tasks left out)."""
    at = at or clock_now()
    tasks: list[Task] = []
    if is_official(user):
        tasks += official_tasks(user, at)
    if user.has_role("reviewer"):
        tasks += reviewer_tasks(user, at)
    if user.has_role("applicant"):
        tasks += applicant_tasks(user, at)
    return _order(tasks)
