"""Who may read what: proposals (sealed or not, conflicts), documents, a call's record and calendar, bulk jobs,
mail templates. Every view and download asks these rules, through ``policy.loaders`` for a row by its id."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from workflows import CallState, ProposalState

from ..calls.models import Call
from ..extensions import db
from ..mail.models import SECRET_MAIL_KINDS, OutboxMail
from ..proposals.models import Proposal
from ..reviews.queries import conflict_declared, has_conflict, neutrality_signed, review_of
from .actors import is_official


def is_public_call(call) -> bool:
    """Everyone sees a call once it is published (its page, the public register); a draft nobody outside."""
    return call.state != CallState.DRAFT


def may_see_call(user, call) -> bool:
    """A published call is public; a draft only its officials see."""
    return is_public_call(call) or (user.is_authenticated and is_official(user))


def sees_proposals(user) -> bool:
    """Who sees proposals of a call and so signs its declaration of neutrality first (DOMAIN.md): officials,
    reviewers and the advisors of the Kontaktstelle."""
    return user.is_authenticated and (
        is_official(user) or user.has_role("reviewer") or user.has_role("advisor")
    )


def _official_may_read_signed(user, proposal: Proposal) -> bool:
    """Whether an official who has signed the call's declaration of neutrality reads the proposal."""
    if not is_official(user) or proposal.state == ProposalState.DRAFT:
        return False
    if proposal.call.is_sealed:
        return False
    return not has_conflict(user, proposal) and proposal.applicant_id != user.id


def official_may_read(user, proposal: Proposal) -> bool:
    """An official reads a proposal's content once the call is opened (procurement), after signing the call's
    declaration of neutrality, and without a conflict with it."""
    return _official_may_read_signed(user, proposal) and neutrality_signed(user, proposal.call_id)


def reviewer_may_read(user, proposal: Proposal) -> bool:
    if not (user.is_authenticated and user.has_role("reviewer")):
        return False
    if review_of(user, proposal) is None or proposal.call.is_sealed:
        return False
    if not neutrality_signed(user, proposal.call_id):
        return False
    decl = conflict_declared(user, proposal)
    return decl is not None and not decl.has_conflict


def can_view_proposal(user, proposal: Proposal) -> bool:
    if not user.is_authenticated:
        return False
    if proposal.applicant_id == user.id:
        return True
    if official_may_read(user, proposal) or reviewer_may_read(user, proposal):
        return True
    return _advisor_may_read_signed(user, proposal) and neutrality_signed(user, proposal.call_id)


def _advisor_may_read_signed(user, proposal: Proposal) -> bool:
    """The Kontaktstelle advises applicants who asked for it; the seal holds for it as for everyone else."""
    return (
        user.has_role("advisor")
        and proposal.advice_requested
        and proposal.state != ProposalState.WITHDRAWN
        and proposal.applicant_id != user.id
        and not has_conflict(user, proposal)
        and (proposal.state == ProposalState.DRAFT or not proposal.call.is_sealed)
    )


def reads_after_declaring(user, proposal: Proposal) -> bool:
    """Whether the person would read the proposal once they sign the call's declaration of neutrality (the page
    asks them for it instead of answering "not found")."""
    if not user.is_authenticated or neutrality_signed(user, proposal.call_id):
        return False
    return _official_may_read_signed(user, proposal) or _advisor_may_read_signed(user, proposal)


# --- documents (PDF) -------------------------------------------------------------------------------------

# The letters the applicant receives; officials also get the award record (Vergabevermerk). Reviewers none.
APPLICANT_DOCUMENTS = ("receipt", "clarification", "rejection", "award")
OFFICIAL_DOCUMENTS = (*APPLICANT_DOCUMENTS, "vergabevermerk")


def may_read_document(user, proposal: Proposal, kind: str) -> bool:
    """The applicant their own letters; officials every document of an opened proposal without conflict."""
    if not user.is_authenticated:
        return False
    if proposal.applicant_id == user.id:
        return kind in APPLICANT_DOCUMENTS
    return kind in OFFICIAL_DOCUMENTS and official_may_read(user, proposal)


def may_read_call_record(user, call) -> bool:
    """The Vergabevermerk of a whole call: officials, once its submissions are opened (the seal), after signing
    the call's declaration of neutrality."""
    return reads_call_proposals(user, call) and neutrality_signed(user, call.id)


def reads_call_proposals(user, call) -> bool:
    """An official reads the proposals of an opened call (its list, ranking, decision, record), once signed."""
    return is_official(user) and call.state != CallState.DRAFT and not call.is_sealed


def applicant_visible_to(user, proposal: Proposal) -> bool:
    """Whether the user may learn who applied: not a reviewer of a call that hides the applicants' identity
    (the proposal's history names them too)."""
    if not proposal.call.hide_applicant or proposal.applicant_id == user.id or is_official(user):
        return True
    return not user.has_role("reviewer")


# --- calendar exports and bulk jobs ----------------------------------------------------------------------


def may_read_call_calendar(user, call) -> bool:
    """The deadlines of a whole call (.ics): its officials and the admins. The proposal-level dates in it are
    filtered per proposal by ``official_may_read`` (an admin gets the call's own dates only)."""
    return user.is_authenticated and (is_official(user) or user.has_role("admin"))


# --- mail templates of a call ----------------------------------------------------------------------------


def may_edit_mail_templates(user) -> bool:
    """The texts of a call's outcome mails: its officials and the admins (a preview shows a real proposal
    only to an official who may read it, ``official_may_read``; everyone else sees a sample)."""
    return user.is_authenticated and (is_official(user) or user.has_role("admin"))


# --- mails -------------------------------------------------------------------------------------------------


def readable_mails(user):
    """:func:`may_read_mail` for an official, as an SQL condition on the outbox (its list and the true count of
    what it hides): their own mails, and the others but those with a secret link or about a sealed call's
    submission. tests/mail/test_outbox_count.py holds both forms to the same answers."""
    m = OutboxMail
    sealed = (
        select(Proposal.id)
        .join(Call, Call.id == Proposal.call_id)
        .where(Proposal.id == m.proposal_id, Call.sealed())
    )
    return or_(m.recipient_id == user.id, and_(m.kind.not_in(SECRET_MAIL_KINDS), ~sealed.exists()))


def may_read_mail(user, mail) -> bool:
    """The recipient reads their own mail (a held one once it is released). Officials read the other mails,
    but never one with a secret link (verification, password reset: whoever has the link has the account), nor
    a mail about a sealed submission (a receipt) before the opening."""
    own = mail.recipient_id == user.id
    official = is_official(user)
    if mail.held and not official:
        return False
    if own:
        return True
    if not official or mail.kind in SECRET_MAIL_KINDS:
        return False
    if mail.proposal_id is None:
        return True
    p = db.session.get(Proposal, mail.proposal_id)
    return p is not None and not p.call.is_sealed
