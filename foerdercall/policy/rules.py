"""Every permission by its name: ``refusal(user, action, obj)`` answers None when the user may do it now, else the
reason for the user. A transition of workflows/ is asked for by its trigger (``refusal(user, "submit", p)``);
everything else that is not a state change has a named rule here.

Views load and check through these rules, templates show an action only when ``may(action, obj)`` holds (or
show it disabled with the reason), operations check them again inside their transaction. Nothing else decides.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from workflows import WORKFLOWS, CallState, ProposalState, find_transition, workflow_name

from ..awards.models import Claim, Drawdown, Payment, Report
from ..awards.queries import award_of
from ..calls.models import Opening
from ..errors import ActionRefused
from ..privacy.models import LegalHold
from ..proposals.models import ReasonRequest
from ..proposals.queries import has_submitted
from ..reviews.queries import has_conflict
from ..timeutil import now
from .actors import is_official, sign_off_refusal, two_factor_required
from .parked import may_take_over
from .reading import (
    can_view_proposal,
    is_public_call,
    may_edit_mail_templates,
    may_read_call_calendar,
    may_read_call_record,
    may_read_mail,
    official_may_read,
    sees_proposals,
)
from .transitions import transition_refusal

Rule = Callable[..., str | None]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def refusal(user, action: str, obj=None, **params) -> str | None:
    """None when ``user`` may do ``action`` (with ``obj``) now, else why not."""
    if (fn := RULES.get(action)) is not None:
        return fn(user, obj, **params)
    if obj is not None and (t := find_transition(workflow_name(obj), action)) is not None:
        return transition_refusal(t, obj, user, **params)
    raise LookupError(f"the rulebook has no rule {action!r}")


def may(user, action: str, obj=None, **params) -> bool:
    return refusal(user, action, obj, **params) is None


def check(user, action: str, obj=None, **params) -> None:
    """For an operation, inside its transaction (the rows locked): refuse with the rulebook's reason."""
    if (message := refusal(user, action, obj, **params)) is not None:
        raise ActionRefused(message)


def _first_step(user, trigger: str, row) -> str | None:
    """A row that its first transition makes (an opening, a report, a payment), asked about before it exists:
    the transition's rules for the new row in its INITIAL state, as ``fire`` will check them."""
    row.state = WORKFLOWS[workflow_name(row)].INITIAL
    return refusal(user, trigger, row)


# --- who someone is ----------------------------------------------------------------------------------------


def _not_signed_in() -> str:
    return _("Bitte melden Sie sich an.")


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated


def _role(user, role: str, message: str) -> str | None:
    if not _signed_in(user):
        return _not_signed_in()
    return None if user.has_role(role) else message


def _official(user) -> str | None:
    if not _signed_in(user):
        return _not_signed_in()
    return None if is_official(user) else _("Nur Mitarbeitende der Ämter können das.")


@rule("official.work")
def _official_work(user, _obj=None) -> str | None:
    """The officials' pages: calls in draft, the outbox, the dashboards."""
    return _official(user)


@rule("outcomes.write_report")
def _outcomes_write_report(user, _obj=None) -> str | None:
    """The office's text of an implementation report (the report itself is public: aggregates only)."""
    return _official(user)


@rule("applicant.work")
def _applicant_work(user, _obj=None) -> str | None:
    return _role(user, "applicant", _("Nur Antragstellende können das."))


@rule("reviewer.work")
def _reviewer_work(user, _obj=None) -> str | None:
    return _role(user, "reviewer", _("Nur Gutachterinnen und Gutachter können das."))


@rule("advisor.work")
def _advisor_work(user, _obj=None) -> str | None:
    return _role(user, "advisor", _("Nur die Kontaktstelle kann das."))


@rule("admin.work")
def _admin_work(user, _obj=None) -> str | None:
    return _role(user, "admin", _("Nur die Verwaltung der Konten kann das."))


@rule("office.manage")
def _office_manage(user, _office=None) -> str | None:
    """The offices (names, heads, contact, which decide by default) are kept by the admins."""
    return _role(user, "admin", _("Nur die Verwaltung der Konten pflegt die Ämter."))


# --- one's own account ---------------------------------------------------------------------------------------


@rule("account.two_factor")
def _account_two_factor(user, _obj=None) -> str | None:
    """Setting up a second factor: officials, admins, and whoever's role requires it."""
    if not _signed_in(user):
        return _not_signed_in()
    if user.has_role("official") or user.has_role("admin") or two_factor_required(user):
        return None
    return _("Die Zwei-Faktor-Anmeldung ist für Mitarbeitende der Ämter und Admins vorgesehen.")


@rule("account.disable_two_factor")
def _account_disable_two_factor(user, _obj=None) -> str | None:
    """Turning one's second factor off: not where the role requires it."""
    if not _signed_in(user):
        return _not_signed_in()
    if not user.two_factor_enabled:
        return _("Die Zwei-Faktor-Anmeldung ist nicht eingeschaltet.")
    if two_factor_required(user):
        return _(
            "Für Ihre Rolle ist die Zwei-Faktor-Anmeldung vorgeschrieben; sie kann nicht ausgeschaltet werden."
        )
    return None


@rule("account.delete")
def _account_delete(user, account) -> str | None:
    """A person deletes their own account: an applicant who never submitted (the city keeps the records of
    submitted offers); other accounts the admins close."""
    if not _signed_in(user):
        return _not_signed_in()
    if account.id != user.id:
        return _("Nur die Person selbst kann ihr Konto löschen.")
    if account.roles - {"applicant"}:
        return _("Konten mit Aufgaben in der Verwaltung oder Begutachtung löscht die Verwaltung.")
    if has_submitted(account):
        return _(
            "Sie haben bereits ein Angebot eingereicht. Die Stadt muss die Unterlagen eingereichter Angebote "
            "aufbewahren; die Aufbewahrungsfrist steht in den Datenschutzhinweisen des Aufrufs."
        )
    return None


# --- calls ---------------------------------------------------------------------------------------------------


@rule("call.apply")
def _call_apply(user, call) -> str | None:
    """An applicant starts an offer while the call takes submissions (the deadline is checked at submission)."""
    if message := _applicant_work(user):
        return message
    if call.state != CallState.PUBLISHED:
        return _("Der Aufruf nimmt keine Einreichungen an.")
    return None


@rule("call.read_results")
def _call_read_results(user, call) -> str | None:
    """A published call's implementation report, its measures in the register and its open data: everyone."""
    if not is_public_call(call):
        return _("Der Aufruf ist noch nicht veröffentlicht.")
    return None


@rule("call.edit")
def _call_edit(user, call) -> str | None:
    if message := _official(user):
        return message
    if call.state != CallState.DRAFT:
        return _("Ein veröffentlichter Aufruf kann nur berichtigt werden.")
    return None


@rule("call.edit_form")
def _call_edit_form(user, call) -> str | None:
    """The application form: a draft's is edited, a published call's only corrected (a new version)."""
    return _call_edit(user, call) if call.state == CallState.DRAFT else _call_correct(user, call)


@rule("call.copy")
def _call_copy(user, _call) -> str | None:
    """Any call, in any state, is the start of a new draft for the officials (who may set up calls)."""
    return _official(user)


@rule("call.correct")
def _call_correct(user, call) -> str | None:
    if message := _official(user):
        return message
    if call.state != CallState.PUBLISHED:
        return _("Nur ein veröffentlichter, noch offener Aufruf kann berichtigt werden.")
    return None


@rule("call.list_proposals")
def _call_list_proposals(user, call) -> str | None:
    """The list of the proposals received (file numbers and states; content only once opened)."""
    if message := _official(user):
        return message
    if call.state == CallState.DRAFT:
        return _("Ein Entwurf hat noch keine Angebote.")
    return None


@rule("call.evaluate")
def _call_evaluate(user, call) -> str | None:
    """The pages on the proposals' content: assignments, ranking, decision (only once the call is opened)."""
    if message := _call_list_proposals(user, call):
        return message
    if call.is_sealed:
        return _("Die Angebote sind bis zur gemeinsamen Öffnung nach Fristablauf verschlossen.")
    return None


@rule("call.extend_deadline")
def _call_extend_deadline(user, call) -> str | None:
    """A documented personal extension of the deadline: while submissions are not yet opened."""
    if message := _official(user):
        return message
    if call.opening is not None:
        return _("Nach der Öffnung ist keine Fristverlängerung mehr möglich.")
    if call.state not in (CallState.PUBLISHED, CallState.CLOSED):
        return _("Die Frist kann nur vor der Öffnung der Angebote verlängert werden.")
    return None


@rule("call.request_opening")
def _call_request_opening(user, call) -> str | None:
    """The first official asks to open the sealed submissions: a new opening's ``request_opening``."""
    if call.opening is not None:
        return _("Die Öffnung wurde bereits angestoßen.")
    return _first_step(user, "request_opening", Opening(call_id=call.id))


@rule("call.read_record")
def _call_read_record(user, call) -> str | None:
    if not _signed_in(user) or not may_read_call_record(user, call):
        return _("Den Vergabevermerk gibt es erst nach der Öffnung, für die Mitarbeitenden der Ämter.")
    return None


@rule("call.read_calendar")
def _call_read_calendar(user, call) -> str | None:
    if not _signed_in(user) or not may_read_call_calendar(user, call):
        return _("Nur Mitarbeitende der Ämter und die Verwaltung können das.")
    return None


@rule("call.edit_mail_templates")
def _call_edit_mail_templates(user, call) -> str | None:
    if not _signed_in(user) or not may_edit_mail_templates(user):
        return _("Nur Mitarbeitende der Ämter und die Verwaltung können das.")
    return None


@rule("call.decide_ties")
def _call_decide_ties(user, call) -> str | None:
    """A tie the published criteria leave open: the officials of the call's deciding offices propose an order
    or draw the lots (each step's own rules: workflows/tie.py)."""
    if message := _official(user):
        return message
    if user.office not in call.deciding_offices:
        return _("Über einen Gleichstand entscheiden die Ämter dieses Aufrufs.")
    return None


@rule("call.sign_neutrality")
def _call_sign_neutrality(user, call) -> str | None:
    """The declaration of neutrality of a call: everyone who sees its proposals (reading.sees_proposals)."""
    if not _signed_in(user):
        return _not_signed_in()
    if not sees_proposals(user):
        return _(
            "Nur Mitarbeitende der Ämter, Gutachterinnen und Gutachter sowie die Beratung unterzeichnen die "
            "Erklärung."
        )
    return None


# --- proposals -----------------------------------------------------------------------------------------------


@rule("proposal.read")
def _proposal_read(user, p) -> str | None:
    if not _signed_in(user) or not can_view_proposal(user, p):
        return _("Sie dürfen dieses Angebot nicht sehen.")
    return None


@rule("proposal.read_assessment")
def _proposal_read_assessment(user, p) -> str | None:
    """The officials' side of a proposal: every review, the score, the sign-offs, the declared conflicts."""
    if message := _official(user):
        return message
    if not official_may_read(user, p):
        return _("Sie dürfen dieses Angebot nicht sehen.")
    return None


@rule("proposal.declare_conflict")
def _proposal_declare_conflict(user, p) -> str | None:
    """An official or an advisor who reads the proposal declares a conflict with it, which ends their part in it
    (reviewers declare with their assignment: reviews.conflict, reviews.decline)."""
    if not _signed_in(user):
        return _not_signed_in()
    if not (is_official(user) or user.has_role("advisor")) or not can_view_proposal(user, p):
        return _("Sie dürfen dieses Angebot nicht sehen.")
    if p.applicant_id == user.id:
        return _("Nur Mitarbeitende der Ämter und die Beratung erklären hier einen Interessenkonflikt.")
    return None


@rule("proposal.own")
def _proposal_own(user, p) -> str | None:
    """What only the applicant of a proposal does with it (their draft, their deadlines)."""
    if not _signed_in(user) or p.applicant_id != user.id:
        return _("Nur die antragstellende Person kann das.")
    return None


@rule("proposal.edit")
def _proposal_edit(user, p) -> str | None:
    """The applicant's own draft: text, attachments."""
    if message := _proposal_own(user, p):
        return message
    if p.state != ProposalState.DRAFT:
        return _("Das Angebot ist eingereicht und kann nicht mehr geändert werden.")
    return None


@rule("proposal.handle")
def _proposal_handle(user, p) -> str | None:
    """An official acts on a proposal (assigns its reviewers, extends its deadline): never its applicant, nor
    after declaring a conflict with it."""
    if message := _official(user):
        return message
    if p.applicant_id == user.id or has_conflict(user, p):
        return _("Sie haben einen Interessenkonflikt mit diesem Angebot.")
    return None


@rule("proposal.upload")
def _proposal_upload(user, p) -> str | None:
    """The applicant's files: into their draft, or as the answer to a request for missing documents."""
    if message := _proposal_own(user, p):
        return message
    if p.state not in (ProposalState.DRAFT, ProposalState.CLARIFICATION):
        return _("Nach der Einreichung können keine Anlagen mehr hinzugefügt werden.")
    return None


@rule("proposal.add_evidence")
def _proposal_add_evidence(user, p) -> str | None:
    """The evidence of what a measure achieved: sent by its contractor with a report, during the implementation."""
    if message := _proposal_own(user, p):
        return message
    if p.state != ProposalState.IN_IMPLEMENTATION:
        return _("Nachweise gehören zu einem Bericht während der Umsetzung.")
    return None


@rule("proposal.add_values")
def _proposal_add_values(user, p) -> str | None:
    """Achieved values without a report (a survey tool through the API): an official who handles the measure,
    from the acceptance of its award on."""
    if message := _proposal_handle(user, p):
        return message
    if p.state not in (
        ProposalState.IN_IMPLEMENTATION,
        ProposalState.FINAL_REPORT_SUBMITTED,
        ProposalState.COMPLETED,
    ):
        return _("Angaben zur Wirkung gibt es nur für beauftragte Maßnahmen.")
    return None


@rule("proposal.assign_reviewer")
def _proposal_assign_reviewer(user, p) -> str | None:
    if message := _proposal_handle(user, p):
        return message
    if p.state not in (ProposalState.ELIGIBLE, ProposalState.IN_REVIEW) or p.call.is_sealed:
        return _(
            "Gutachter werden nach der formalen Prüfung und vor dem Abschluss der Begutachtung zugewiesen."
        )
    return None


@rule("proposal.extend_deadline")
def _proposal_extend_deadline(user, p) -> str | None:
    """A documented personal extension for one applicant's draft, before the opening."""
    if message := _proposal_handle(user, p) or _call_extend_deadline(user, p.call):
        return message
    if p.state != ProposalState.DRAFT:
        return _("Nur für Entwürfe kann die Frist verlängert werden.")
    return None


@rule("proposal.sign_off")
def _proposal_sign_off(user, p) -> str | None:
    """One sign-off per deciding office and decision round, by someone without a conflict."""
    if not _signed_in(user):
        return _not_signed_in()
    return sign_off_refusal(p, user)


# --- the measure: milestones, reports, payments ----------------------------------------------------------------


@rule("proposal.add_milestone")
def _proposal_add_milestone(user, p) -> str | None:
    """An official adds a milestone to a measure in implementation (a new row, not a state change)."""
    if message := _proposal_handle(user, p):
        return message
    if p.state != ProposalState.IN_IMPLEMENTATION:
        return _("Die Maßnahme ist nicht in der Umsetzung.")
    return None


@rule("proposal.request_drawdown")
def _proposal_request_drawdown(user, p) -> str | None:
    """A grant's recipient asks for money: a new drawdown's ``request_drawdown`` (its amount checked by fire)."""
    if (award := award_of(p)) is None:
        return _("Mittel werden nur bei einer Zuwendung abgerufen.")
    return _first_step(user, "request_drawdown", Drawdown(proposal_id=p.id, award_id=award.id))


@rule("proposal.claim_back")
def _proposal_claim_back(user, p) -> str | None:
    """An official claims money back from the award: a new claim's ``claim_back``."""
    if (award := award_of(p)) is None:
        return _("Zurückgefordert wird nur bei einer begonnenen Maßnahme.")
    if award.paid_cents <= 0:
        return _("Es wurde noch nichts ausgezahlt.")
    return _first_step(user, "claim_back", Claim(proposal_id=p.id, award_id=award.id))


@rule("proposal.place_hold")
def _proposal_place_hold(user, p) -> str | None:
    """An official stops the retention of the record: a new hold's ``place_hold``."""
    return _first_step(user, "place_hold", LegalHold(proposal_id=p.id))


@rule("proposal.request_reasons")
def _proposal_request_reasons(user, p) -> str | None:
    """An unsuccessful applicant asks for the reasons: a new request's ``request_reasons``."""
    return _first_step(user, "request_reasons", ReasonRequest(proposal_id=p.id, requested_at=now()))


@rule("proposal.submit_interim_report")
def _proposal_submit_interim_report(user, p) -> str | None:
    """The contractor's interim report: a new report's ``submit_interim_report``."""
    return _first_step(user, "submit_interim_report", Report(proposal_id=p.id, kind="interim"))


@rule("proposal.read_payments")
def _proposal_read_payments(user, p) -> str | None:
    """The payments on a measure: its applicant, and the officials who handle it (the API; the page shows them
    with the form that records them)."""
    if _proposal_own(user, p) is None:
        return None
    return _proposal_handle(user, p)


@rule("proposal.record_payment")
def _proposal_record_payment(user, p) -> str | None:
    """An official books a payment on the measure's award: a new payment's ``record_payment``, asked before its
    amount is known (``fire`` checks the amount)."""
    if (award := award_of(p)) is None:
        return _("Zahlungen sind nur für beauftragte Maßnahmen möglich.")
    return _first_step(user, "record_payment", Payment(award_id=award.id))


# --- mails ---------------------------------------------------------------------------------------------------


@rule("mail.read")
def _mail_read(user, mail) -> str | None:
    if not _signed_in(user) or not may_read_mail(user, mail):
        return _("Diese Nachricht können Sie nicht lesen.")
    return None


@rule("mail.retry")
def _mail_retry(user, mail) -> str | None:
    """A failed mail sent again, by an official (the worker's page lists the failed mails)."""
    if message := _official(user):
        return message
    if mail.status != "failed":
        return _("Nur eine fehlgeschlagene Nachricht kann erneut gesendet werden.")
    return None


@rule("mail.retry_many")
def _mail_retry_many(user, _obj=None) -> str | None:
    """The failed mails of a reason and a time sent again, by an official (the worker's page)."""
    return _official(user)


@rule("mail.release")
def _mail_release(user, mail) -> str | None:
    """A held decision mail, released by an official who may read it."""
    if message := _official(user) or _mail_read(user, mail):
        return message
    if not mail.held:
        return _("Diese Nachricht wird nicht zurückgehalten.")
    return None


# --- bulk jobs ----------------------------------------------------------------------------------------------


@rule("job.read")
def _job_read(user, job) -> str | None:
    """A bulk job's progress and results (they name proposals): the person who started it and the admins."""
    if not _signed_in(user):
        return _not_signed_in()
    if job.started_by_id != user.id and not user.has_role("admin"):
        return _("Einen Auftrag sehen nur die Person, die ihn gestartet hat, und die Verwaltung der Konten.")
    return None


@rule("job.download")
def _job_download(user, job) -> str | None:
    """A job's file (an export: proposals' titles and scores, made for the starter's eyes): only the person
    who started it, once the job is done."""
    if not _signed_in(user):
        return _not_signed_in()
    if job.started_by_id != user.id:
        return _("Die Datei eines Auftrags lädt nur die Person herunter, die ihn gestartet hat.")
    if job.state != "done" or not job.has_file:
        return _("Dieser Auftrag hat keine Datei zum Herunterladen.")
    return None


# --- text kept from a refused post -------------------------------------------------------------------------


@rule("parking.take_over")
def _parking_take_over(user, row) -> str | None:
    """Parked text: only the person it belongs to sees it and takes it over, while its form is still open and
    the text was not sent since (``policy.parked``)."""
    if not _signed_in(user):
        return _not_signed_in()
    if not may_take_over(user, row):
        return _("Diese aufbewahrten Eingaben können Sie nicht mehr übernehmen.")
    return None
