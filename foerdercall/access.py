"""Who may see what: the one layer every view and download goes through.

Refusals are 404 for objects the user may not know about (no leak of titles or names) and 403 where
the user knows the object but may not do this with it.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from .extensions import db
from .proposals.models import Proposal
from .reviews.models import ConflictDeclaration, NeutralityDeclaration, Review


def has_conflict(user, proposal) -> bool:
    if user is None:
        return False
    return bool(
        db.session.scalar(
            select(ConflictDeclaration.id).where(
                ConflictDeclaration.user_id == user.id,
                ConflictDeclaration.proposal_id == proposal.id,
                ConflictDeclaration.has_conflict.is_(True),
            )
        )
    )


def conflict_declared(user, proposal) -> ConflictDeclaration | None:
    return db.session.scalar(
        select(ConflictDeclaration).where(
            ConflictDeclaration.user_id == user.id, ConflictDeclaration.proposal_id == proposal.id
        )
    )


def neutrality_signed(user, call_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(NeutralityDeclaration.id).where(
                NeutralityDeclaration.user_id == user.id, NeutralityDeclaration.call_id == call_id
            )
        )
    )


def review_of(user, proposal) -> Review | None:
    return db.session.scalar(
        select(Review).where(Review.proposal_id == proposal.id, Review.reviewer_id == user.id)
    )


def is_official(user) -> bool:
    return user.is_authenticated and user.has_role("official") and user.office is not None


def official_may_read(user, proposal: Proposal) -> bool:
    """An official reads a proposal's content once the call is opened (procurement) and without conflict."""
    if not is_official(user) or proposal.state == "draft":
        return False
    if proposal.call.is_sealed:
        return False
    return not has_conflict(user, proposal) and proposal.applicant_id != user.id


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
    # The Kontaktstelle advises applicants who asked for it; the seal holds for it as for everyone else.
    return (
        user.has_role("advisor")
        and proposal.advice_requested
        and proposal.state != "withdrawn"
        and (proposal.state == "draft" or not proposal.call.is_sealed)
    )


def get_proposal_for(user, proposal_id: int) -> Proposal:
    """Load a proposal the user may see, else 404 (the same answer whether or not it exists)."""
    p = db.session.get(Proposal, proposal_id)
    if p is None or not can_view_proposal(user, p):
        abort(404)
    return p


def require_role(user, role: str) -> None:
    if not user.is_authenticated:
        abort(401)
    if not user.has_role(role) or (role == "official" and user.office is None):
        abort(403)


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


def get_document_proposal_for(user, proposal_id: int, kind: str) -> Proposal:
    """The proposal whose document `kind` the user may download: 404 for what they may not know about,
    403 where they see the proposal but not this document (a reviewer, an applicant's Vergabevermerk)."""
    p = db.session.get(Proposal, proposal_id)
    if p is None or kind not in OFFICIAL_DOCUMENTS or not can_view_proposal(user, p):
        abort(404)
    if not may_read_document(user, p, kind):
        abort(403)
    return p


def may_read_call_record(user, call) -> bool:
    """The Vergabevermerk of a whole call: officials, once its submissions are opened (the seal)."""
    return is_official(user) and call.state != "draft" and not call.is_sealed


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


def get_own_proposal_for(user, proposal_id: int) -> Proposal:
    """A proposal's own things (its deadlines as .ics): its applicant only; 404 for what the user may not
    know about, 403 for those who may read the proposal but are not its applicant."""
    p = get_proposal_for(user, proposal_id)
    if p.applicant_id != user.id:
        abort(403)
    return p


def get_job_for(user, job_id: int, *, download: bool = False):
    """A bulk job: the person who started it and the admins see its progress; 404 for everybody else (no
    leak of its items). Its file (an export: proposals' titles and scores, made for the starter's eyes) only
    the starter downloads."""
    from .jobs.models import BulkJob

    job = db.session.get(BulkJob, job_id)
    if job is None or not user.is_authenticated:
        abort(404)
    if job.started_by_id != user.id and (download or not user.has_role("admin")):
        abort(404)
    return job


# --- mail templates of a call ----------------------------------------------------------------------------


def may_edit_mail_templates(user) -> bool:
    """The texts of a call's outcome mails: its officials and the admins (a preview shows a real proposal
    only to an official who may read it, ``official_may_read``; everyone else sees a sample)."""
    return user.is_authenticated and (is_official(user) or user.has_role("admin"))


def get_mail_template_call_for(user, call_id: int):
    """The call whose mail templates the user edits: 401/403 for those who may not, 404 for no such call."""
    from .calls.models import Call

    if not user.is_authenticated:
        abort(401)
    if not may_edit_mail_templates(user):
        abort(403)
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call
