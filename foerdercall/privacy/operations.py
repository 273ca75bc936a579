"""What is stored about a person, as a ZIP for them (Art. 15, 20 GDPR), and the deletion of an applicant's
account before anything was submitted (Art. 17 GDPR).

Deletion keeps what the city must keep: nothing is deleted once a proposal was submitted (the procurement
file, the audit trail). Before that, the account is made anonymous in place (its id stays, because the
append-only audit trail refers to it), its drafts are emptied and closed ("discarded", no mail), their files
are deleted (from disk when the deletion commits), and mails not yet sent to it are stopped. Audit events
written before keep the name they were written with: the tamper-evident trail cannot change (a known limit,
stated on the page).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zipfile
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import select, update

from workflows import ProposalState

from ..accounts.models import User
from ..accounts.operations import hash_password
from ..appform.display import plain, shown_answers
from ..audit.models import AuditEvent
from ..audit.trail import record
from ..extensions import db
from ..i18n import current_lang
from ..mail.models import OutboxMail
from ..policy import check
from ..proposals.models import ANSWER_FIELDS, Attachment, Proposal
from ..proposals.operations import attachment_path, delete_file_on_commit
from ..reviews.models import Review
from ..sheets import spooled
from ..timeutil import now
from ..workflow.engine import fire
from .queries import event_reason

DELETED_NAME = "Gelöschtes Konto"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data(user: User) -> dict:
    """Everything foerdercall stores about this person, as plain data (the JSON of the export).

    What the anonymisation after the retention period erased stays erased here: the proposal's answers and
    files are gone, and of the person's actions on it the audit trail's texts are masked by the same rule as
    on the proposal page and in the Vergabevermerk (:func:`~foerdercall.privacy.queries.event_reason`)."""

    def reason(e: AuditEvent) -> str:
        p = db.session.get(Proposal, e.proposal_id) if e.proposal_id is not None else None
        return event_reason(e, p) if p is not None else e.reason

    proposals = db.session.scalars(
        select(Proposal).where(Proposal.applicant_id == user.id).order_by(Proposal.id)
    ).all()
    mails = db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.recipient_id == user.id, OutboxMail.held.is_(False))
        .order_by(OutboxMail.id)
    ).all()
    reviews = db.session.scalars(
        select(Review).where(Review.reviewer_id == user.id).order_by(Review.id)
    ).all()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.seq)
    ).all()
    return {
        "exported_at": _iso(now()),
        "account": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "organisation": user.organisation,
            "language": user.locale,
            "roles": sorted(user.roles),
            "office": user.office,
            "created_at": _iso(user.created_at),
        },
        "proposals": [
            {
                "id": p.id,
                "call": p.call.title,
                "state": p.state,
                "file_number": p.file_number,
                **{name: getattr(p, name) for name in ANSWER_FIELDS},
                "field_of_action": p.field_of_action,
                "requested_amount_cents": p.requested_amount_cents,
                "answers": p.answers,  # by question of the call's application form
                "answers_shown": _answers_shown(p),
                "created_at": _iso(p.created_at),
                "submitted_at": _iso(p.submitted_at),
                "attachments": [
                    {
                        "kind": a.kind,
                        "filename": a.filename,
                        "size": a.size,
                        "sha256": a.sha256,
                        "uploaded_at": _iso(a.uploaded_at),
                        "file": _zip_name(a),
                    }
                    for a in p.attachments
                ],
                "clarifications": [
                    {
                        "message": c.message,
                        "due_at": _iso(c.due_at),
                        "answer": c.answer,
                        "answered_at": _iso(c.answered_at),
                    }
                    for c in p.clarifications
                ],
            }
            for p in proposals
        ],
        "reviews": [
            {
                "proposal": r.proposal.file_number,
                "assigned_at": _iso(r.assigned_at),
                "submitted_at": _iso(r.submitted_at),
                "scores": [
                    {"criterion": s.criterion.name, "score": s.score, "justification": s.justification}
                    for s in r.scores
                ],
            }
            for r in reviews
        ],
        "messages": [
            {
                "subject": m.subject,
                "body": m.body,
                "to": m.to_address,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
                "status": m.status,
            }
            for m in mails
        ],
        "actions": [
            {
                "at": _iso(e.at),
                "action": e.action,
                "object": f"{e.object_type}:{e.object_id}",
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": reason(e),
            }
            for e in events
        ],
    }


def _zip_name(a: Attachment) -> str:
    return f"attachments/{a.proposal_id}-{a.id}-{a.filename}"


def export_zip(user: User) -> IO[bytes]:
    """data.json, a short explanation, and every file the person uploaded, as a ZIP in a spooled temporary
    file (the caller closes it). Written piece by piece, the files stored as they are (PDFs hardly compress):
    however many files, the process holds no more than a few pieces of them (foerdercall.sheets)."""
    return spooled(lambda out: write_zip(out, user))


def write_zip(out: IO[bytes], user: User) -> None:
    data = personal_data(user)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        del data
        zf.writestr(
            "LIESMICH.txt",
            _(
                "Alle Daten, die foerdercall über Sie speichert (Art. 15 und 20 DSGVO): data.json enthält Ihr Konto, "
                "Ihre Angebote, Gutachten, Nachrichten und Ihre Aktionen; attachments/ enthält Ihre hochgeladenen "
                "Dateien."
            )
            + "\n",
        )
        attachments = db.session.scalars(
            select(Attachment).join(Proposal).where(Proposal.applicant_id == user.id).order_by(Attachment.id)
        ).all()
        for a in attachments:
            _add_file(zf, a)


def _answers_shown(p: Proposal) -> list[dict]:
    """The answers as the person reads them: with the section and question of the call's form."""
    lang = current_lang()
    return [
        {"section": section.title, "question": a.question.key, "label": a.label, "answer": plain(a)}
        for section in shown_answers(p.call.form_definition, p.answers or {}, lang)
        for a in section.answers
    ]


def _add_file(zf: zipfile.ZipFile, a: Attachment) -> None:
    path = attachment_path(a)
    if path.exists():
        zf.write(path, _zip_name(a), compress_type=zipfile.ZIP_STORED)  # read in pieces of 8 KB


def delete_account(user: User, actor: User) -> None:
    """Make an applicant's account anonymous and discard their drafts, if nothing was ever submitted."""
    check(actor, "account.delete", user)
    user.name = DELETED_NAME  # first: the events written below carry no name
    for p in db.session.scalars(select(Proposal).where(Proposal.applicant_id == user.id)).all():
        if p.state == ProposalState.DRAFT:
            fire(p, "discard", None, reason="Konto gelöscht")
        for name in ANSWER_FIELDS:
            setattr(p, name, "")
        p.answers = {}
        for a in list(p.attachments):
            delete_file_on_commit(attachment_path(a))
            db.session.delete(a)
    anonymise_account(user, user.name, "Konto gelöscht")
    record(user, "delete_account", user)


def anonymise_account(user: User, name: str, why: str) -> None:
    """Make an account anonymous in place (its id stays: the audit trail refers to it): name, address and
    organisation replaced, the mails to it emptied and those not yet sent stopped, no way to log in.
    Used when the person deletes the account and by the worker after the retention period (retention.py)."""
    user.name = name
    user.email = f"geloescht-{user.id}@konto.invalid"
    user.organisation = ""
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.recipient_id == user.id)
        .values(to_address=user.email, subject="–", body="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.recipient_id == user.id, OutboxMail.status.in_(("pending", "sending")))
        .values(status="failed", last_error=why, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.active = False
    user.grants = []
    db.session.flush()
