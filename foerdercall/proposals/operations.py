"""Applicant-side operations: drafts, attachments, submission, answers; and the officials' formal check."""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..audit.operations import record
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..timeutil import now
from ..workflow.engine import fire, lock
from .models import ANSWER_FIELDS, Attachment, Proposal

PDF_MAGIC = b"%PDF-"


def start_draft(call: Call, applicant) -> Proposal:
    if not applicant.has_role("applicant"):
        raise ActionRefused(_("Nur registrierte Antragstellende können ein Angebot beginnen."))
    if call.state != "published":
        raise ActionRefused(_("Der Aufruf nimmt keine Einreichungen an."))
    existing = db.session.scalar(select(Proposal).where(
        Proposal.call_id == call.id, Proposal.applicant_id == applicant.id, Proposal.state == "draft"))
    if existing:
        return existing
    p = Proposal(call_id=call.id, applicant_id=applicant.id, state="draft", created_at=now(), updated_at=now())
    p.field_of_action = (call.fields_of_action or [""])[0]
    db.session.add(p)
    db.session.flush()
    record(applicant, "start_draft", p, to_state="draft")
    return p


def save_draft(p: Proposal, actor, data: dict) -> Proposal:
    """Store what the applicant typed; only drafts change, and only by their applicant."""
    p = lock(p)
    if p.applicant_id != actor.id:
        raise ActionRefused(_("Nur die antragstellende Person kann den Entwurf ändern."))
    if p.state != "draft":
        raise ActionRefused(_("Das Angebot ist eingereicht und kann nicht mehr geändert werden."))
    for name in ANSWER_FIELDS:
        if name in data and data[name] is not None:
            setattr(p, name, data[name])
    for name in ("field_of_action", "requested_amount_cents", "advice_requested"):
        if name in data and data[name] is not None:
            setattr(p, name, data[name])
    p.updated_at = now()
    db.session.flush()
    return p


def _upload_dir() -> Path:
    d = Path(current_app.config["UPLOAD_DIR"])
    d.mkdir(parents=True, exist_ok=True)
    return d


def store_file(stream, filename: str) -> tuple[str, int, str]:
    """Write an upload to disk under a random name; returns (storage name, size, sha256). PDF only."""
    head = stream.read(len(PDF_MAGIC))
    if head != PDF_MAGIC:
        raise ActionRefused(_("„%(name)s“ ist keine PDF-Datei. Bitte laden Sie ein PDF hoch.", name=filename))
    storage = secrets.token_hex(16) + ".pdf"
    path = _upload_dir() / storage
    digest = hashlib.sha256(head)
    size = len(head)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:
        out.write(head)
        while chunk := stream.read(64 * 1024):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    os.replace(tmp, path)
    return storage, size, digest.hexdigest()


def safe_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/\\|?*')
    return (cleaned or "dokument.pdf")[:200]


def add_attachment(p: Proposal, actor, kind: str, stream, filename: str) -> Attachment:
    p = lock(p)
    if p.applicant_id != actor.id:
        raise ActionRefused(_("Nur die antragstellende Person kann Anlagen hochladen."))
    allowed_kinds = {r.key for r in p.call.required_attachments} | {"other"}
    if p.state == "clarification":
        kind = "clarification"
    elif p.state != "draft":
        raise ActionRefused(_("Nach der Einreichung können keine Anlagen mehr hinzugefügt werden."))
    elif kind not in allowed_kinds:
        raise ActionRefused(_("Unbekannte Art der Anlage."))
    name = safe_filename(filename)
    storage, size, sha = store_file(stream, name)
    if size > current_app.config["MAX_CONTENT_LENGTH"]:
        (_upload_dir() / storage).unlink(missing_ok=True)
        raise ActionRefused(_("Die Datei ist zu groß."))
    a = Attachment(proposal_id=p.id, kind=kind, filename=name, storage_name=storage, size=size,
                   sha256=sha, content_type="application/pdf", uploaded_by_id=actor.id, uploaded_at=now())
    db.session.add(a)
    db.session.flush()
    record(actor, "add_attachment", p, data={"file": name, "sha256": sha, "kind": kind})
    return a


def remove_attachment(p: Proposal, actor, attachment_id: int) -> None:
    p = lock(p)
    a = db.session.get(Attachment, attachment_id)
    if a is None or a.proposal_id != p.id or p.applicant_id != actor.id:
        raise ActionRefused(_("Diese Anlage gibt es nicht."))
    if p.state != "draft":
        raise ActionRefused(_("Eingereichte Anlagen können nicht gelöscht werden."))
    db.session.delete(a)
    db.session.flush()
    record(actor, "remove_attachment", p, data={"file": a.filename})
    delete_file_on_commit(_upload_dir() / a.storage_name)


_FILES = "foerdercall_files_to_delete"


def delete_file_on_commit(path) -> None:
    """The file leaves the disk when the session's transaction commits (its row deleted for good); a
    rollback keeps it with its row."""
    db.session.info.setdefault(_FILES, []).append(path)


@event.listens_for(Session, "after_commit")
def _delete_files(session) -> None:
    for path in session.info.pop(_FILES, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_files(session) -> None:
    if not session.in_transaction():
        session.info.pop(_FILES, None)


def attachment_path(a: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / a.storage_name


def submit(p: Proposal, actor) -> Proposal:
    return fire(p, "submit", actor)


def extend_deadline(p: Proposal, actor, new_deadline, reason: str) -> Proposal:
    """A documented extension for one applicant; the call itself does not change."""
    p = lock(p)
    if not actor.has_role("official") or actor.office is None or actor.id == p.applicant_id:
        raise ActionRefused(_("Fristen verlängern nur Mitarbeitende der Ämter."))
    if p.state != "draft":
        raise ActionRefused(_("Nur für Entwürfe kann die Frist verlängert werden."))
    if p.call.opening is not None:
        raise ActionRefused(_("Nach der Öffnung ist keine Fristverlängerung mehr möglich."))
    if not (reason or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Fristverlängerung."))
    if new_deadline <= p.call.submission_deadline:
        raise ActionRefused(_("Die neue Frist muss nach der Frist des Aufrufs liegen."))
    old = p.personal_deadline
    p.personal_deadline = new_deadline
    db.session.flush()
    record(actor, "extend_deadline", p, reason=reason,
           data={"from": old.isoformat() if old else None, "to": new_deadline.isoformat()})
    return p
