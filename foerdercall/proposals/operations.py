"""Applicant-side operations: drafts, attachments, submission, answers; and the officials' formal check."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from workflows import ProposalState
from workflows import reasons as reasons_wf

from ..accounts.operations import require_verified
from ..aftercommit import on_commit, on_rollback
from ..appform.answers import STORED, check_answers
from ..audit.trail import record
from ..calls.models import Call
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import current_lang
from ..locking import lock
from ..policy import check
from ..text import safe_filename
from ..timeutil import now, period_end
from ..workflow.engine import fire, request_now
from .filecheck import Encrypted, ScannerUnavailable, Uninspectable, active_content, clamd_scan
from .models import ANSWER_FIELDS, Attachment, Proposal, ReasonRequest

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"


def start_draft(call: Call, applicant) -> Proposal:
    check(applicant, "call.apply", call)
    existing = db.session.scalar(
        select(Proposal).where(
            Proposal.call_id == call.id,
            Proposal.applicant_id == applicant.id,
            Proposal.state == ProposalState.DRAFT,
        )
    )
    if existing:
        return existing
    p = Proposal(
        call_id=call.id,
        applicant_id=applicant.id,
        state=ProposalState.DRAFT,
        created_at=now(),
        updated_at=now(),
    )
    p.field_of_action = (call.field_keys or [""])[0]
    db.session.add(p)
    db.session.flush()
    record(applicant, "start_draft", p, to_state=ProposalState.DRAFT)
    return p


def save_draft(p: Proposal, actor, data: dict) -> Proposal:
    """Store what the applicant typed; only drafts change, and only by their applicant."""
    p = lock(p)
    check(actor, "proposal.edit", p)
    if "answers" in data:  # the draft page: answers to the call's form, checked by it (forms/application.py)
        definition = p.call.form_definition
        checked = check_answers(definition, data["answers"], complete=False, lang=STORED)
        if checked.errors:  # the page checked them; a caller that did not gets the first message
            raise ActionRefused(next(iter(checked.errors.values())))
        p.set_answers(checked.answers, definition)
        if data.get("advice_requested") is not None:
            p.advice_requested = bool(data["advice_requested"])
        p.updated_at = now()
        db.session.flush()
        return p
    for name in ANSWER_FIELDS:
        if name in data and data[name] is not None:
            setattr(p, name, data[name])
    field = data.get("field_of_action")
    if field and field not in p.call.field_keys:
        raise ActionRefused(_("Bitte wählen Sie ein Handlungsfeld aus der Liste."))
    for name in ("field_of_action", "requested_amount_cents", "advice_requested"):
        if name in data and data[name] is not None:
            setattr(p, name, data[name])
    p.answers_from_columns(p.call.form_definition)
    p.updated_at = now()
    db.session.flush()
    return p


def _upload_dir() -> Path:
    d = Path(current_app.config["UPLOAD_DIR"])
    d.mkdir(parents=True, exist_ok=True)
    return d


def store_file(stream, filename: str) -> tuple[str, int, str]:
    """Write an upload to disk under a random name; returns (storage name, size, sha256). PDF only. Stops
    reading past MAX_CONTENT_LENGTH (nothing stays on disk then). The file is removed again if the
    transaction (or the savepoint it is written in) is rolled back or ends without a commit."""
    head = stream.read(len(PDF_MAGIC))
    if head != PDF_MAGIC:
        raise ActionRefused(_("„%(name)s“ ist keine PDF-Datei. Bitte laden Sie ein PDF hoch.", name=filename))
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    storage = secrets.token_hex(16) + ".pdf"
    path = _upload_dir() / storage
    digest = hashlib.sha256(head)
    size = len(head)
    tmp = path.with_suffix(".part")
    try:
        with open(tmp, "wb") as out:
            out.write(head)
            while chunk := stream.read(64 * 1024):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if limit and size > limit:
                    raise ActionRefused(_("Die Datei ist zu groß."))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    on_rollback("delete_file", path)
    return storage, size, digest.hexdigest()


# --- what an account may upload ---------------------------------------------------------------------------

MB = 1024 * 1024


@dataclass
class UploadUsage:
    proposal_files: int
    proposal_bytes: int
    account_files: int
    account_bytes: int
    max_proposal_files: int
    max_proposal_mb: int
    max_account_files: int
    max_account_mb: int

    @property
    def proposal_mb(self) -> str:
        return _mb(self.proposal_bytes)

    @property
    def account_mb(self) -> str:
        return _mb(self.account_bytes)


def upload_usage(p: Proposal, user) -> UploadUsage:
    """What the proposal's and the account's files use of their quotas (the form shows it)."""
    cfg = current_app.config
    pf, pb = db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.proposal_id == p.id
        )
    ).one()
    af, ab = db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
        .join(Proposal, Proposal.id == Attachment.proposal_id)
        .where(Proposal.applicant_id == user.id)
    ).one()
    return UploadUsage(
        pf,
        int(pb),
        af,
        int(ab),
        cfg["UPLOAD_MAX_FILES_PER_PROPOSAL"],
        cfg["UPLOAD_MAX_MB_PER_PROPOSAL"],
        cfg["UPLOAD_MAX_FILES_PER_ACCOUNT"],
        cfg["UPLOAD_MAX_MB_PER_ACCOUNT"],
    )


def _mb(n: int) -> str:
    return format_decimal(n / MB, format="#,##0.#")


def _check_quota(p: Proposal, user, name: str, size: int) -> None:
    """Refuse a file of `size` bytes that does not fit the proposal's or the account's quota."""
    u = upload_usage(p, user)
    if u.proposal_files + 1 > u.max_proposal_files or u.proposal_bytes + size > u.max_proposal_mb * MB:
        raise ActionRefused(
            _(
                "„%(name)s“ passt nicht mehr zu den Anlagen dieses Angebots: höchstens %(max_files)s Dateien mit "
                "zusammen %(max_mb)s MB, belegt sind %(files)s Dateien mit %(mb)s MB. Bitte entfernen Sie nicht mehr "
                "benötigte Anlagen oder fassen Sie Dokumente in einer PDF-Datei zusammen.",
                name=name,
                max_files=u.max_proposal_files,
                max_mb=u.max_proposal_mb,
                files=u.proposal_files,
                mb=_mb(u.proposal_bytes),
            )
        )
    if u.account_files + 1 > u.max_account_files or u.account_bytes + size > u.max_account_mb * MB:
        raise ActionRefused(
            _(
                "„%(name)s“ passt nicht mehr in den Speicherplatz Ihres Kontos: höchstens %(max_files)s Dateien mit "
                "zusammen %(max_mb)s MB in allen Ihren Angeboten, belegt sind %(files)s Dateien mit %(mb)s MB. Bitte "
                "entfernen Sie Anlagen aus Entwürfen, die Sie nicht mehr brauchen, oder wenden Sie sich an die "
                "Kontaktstelle.",
                name=name,
                max_files=u.max_account_files,
                max_mb=u.max_account_mb,
                files=u.account_files,
                mb=_mb(u.account_bytes),
            )
        )


def _lock_account_uploads(user) -> None:
    """Uploads of one account wait for each other until the request commits (PostgreSQL: an advisory lock for
    the transaction; SQLite: one writer at a time), so two cannot both take the account's last free place. The
    proposal's own row lock serialises the uploads into one proposal."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"foerdercall.uploads:{user.id}"}
        )


def _inspect(path: Path, name: str) -> None:
    """Refuse a PDF with active content, one that cannot be inspected, or one the virus scanner flags."""
    cfg = current_app.config
    try:
        findings = active_content(
            path, max_decoded=cfg["UPLOAD_PDF_INSPECT_MAX_MB"] * MB, seconds=cfg["UPLOAD_PDF_INSPECT_SECONDS"]
        )
    except Encrypted:
        raise ActionRefused(
            _(
                "„%(name)s“ ist verschlüsselt und kann deshalb nicht auf aktive Inhalte geprüft werden. Bitte laden "
                "Sie eine unverschlüsselte Fassung hoch (ohne Kennwort und ohne Schutz).",
                name=name,
            )
        ) from None
    except Uninspectable as exc:
        log.info("upload %s not inspectable: %s", name, exc)
        raise ActionRefused(
            _(
                "„%(name)s“ konnte nicht auf aktive Inhalte geprüft werden (beschädigte oder ungewöhnlich große "
                "komprimierte Bereiche). Bitte speichern Sie das Dokument neu als PDF (z. B. über „Drucken“ → „Als "
                "PDF speichern“) und laden Sie es erneut hoch.",
                name=name,
            )
        ) from None
    if findings.active:
        raise ActionRefused(
            _(
                "„%(name)s“ enthält aktive Inhalte (%(found)s) und wird deshalb nicht angenommen. Bitte speichern Sie "
                "das Dokument ohne Skripte, Formularaktionen und eingebettete Dateien neu als PDF (z. B. über "
                "„Drucken“ → „Als PDF speichern“) und laden Sie es erneut hoch.",
                name=name,
                found=", ".join(findings.active),
            )
        )
    if cfg.get("CLAMD_SOCKET"):
        try:
            virus = clamd_scan(path, cfg["CLAMD_SOCKET"], cfg["CLAMD_TIMEOUT_SECONDS"])
        except ScannerUnavailable as exc:
            log.error("virus scan failed, upload refused: %s", exc)
            raise ActionRefused(
                _(
                    "Die Virenprüfung ist gerade nicht erreichbar; „%(name)s“ wurde deshalb nicht angenommen. Bitte "
                    "versuchen Sie es in einigen Minuten noch einmal.",
                    name=name,
                )
            ) from None
        if virus:
            log.warning("virus scan found %s in upload %s", virus, name)
            raise ActionRefused(
                _(
                    "„%(name)s“ wurde vom Virenscanner abgewiesen (%(virus)s). Bitte prüfen Sie Ihr Gerät und laden "
                    "Sie eine saubere Datei hoch.",
                    name=name,
                    virus=virus,
                )
            )


def add_attachment(p: Proposal, actor, kind: str, stream, filename: str) -> Attachment:
    """One uploaded file into a draft (or the answer to a request for missing documents, or the evidence of a
    report's values: kind "evidence"). The one place of the
    upload rules: the applicant's own proposal, a verified address, the quotas of the proposal and the account
    (checked under locks), a PDF without active content that the virus scanner (if any) passes. A refused
    file leaves no file and no row. Its time is the request's (:func:`workflow.engine.request_now`: when the
    whole request had arrived), the same moment a submission sent with it gets."""
    p = lock(p)
    check(actor, "proposal.add_evidence" if kind == "evidence" else "proposal.upload", p)
    asked = {q.key: q for q in p.call.form_definition.questions() if q.type == "attachment"}
    if p.state == ProposalState.CLARIFICATION:
        kind = "clarification"
    elif kind not in ("other", "evidence") and kind not in asked:
        raise ActionRefused(_("Unbekannte Art der Anlage."))
    elif kind in asked and sum(a.kind == kind for a in p.attachments) >= asked[kind].max_files:
        raise ActionRefused(
            _(
                "Für „%(label)s“ sind höchstens %(n)s Dateien vorgesehen. Bitte entfernen Sie erst eine.",
                label=asked[kind].label.get(current_lang()),
                n=asked[kind].max_files,
            )
        )
    require_verified(actor)
    name = safe_filename(filename)
    _check_quota(p, actor, name, 0)  # a full quota refuses before the file is read
    storage, size, sha = store_file(stream, name)
    path = _upload_dir() / storage
    try:
        _inspect(path, name)
        _lock_account_uploads(actor)
        _check_quota(p, actor, name, size)
    except ActionRefused:
        path.unlink(missing_ok=True)
        raise
    a = Attachment(
        proposal_id=p.id,
        kind=kind,
        filename=name,
        storage_name=storage,
        size=size,
        sha256=sha,
        content_type="application/pdf",
        uploaded_by_id=actor.id,
        uploaded_at=request_now(),
    )
    db.session.add(a)
    db.session.flush()
    record(actor, "add_attachment", p, data={"file": name, "sha256": sha, "kind": kind})
    return a


def remove_attachment(p: Proposal, actor, attachment_id: int) -> None:
    p = lock(p)
    a = db.session.get(Attachment, attachment_id)
    if a is None or a.proposal_id != p.id or p.applicant_id != actor.id:
        raise ActionRefused(_("Diese Anlage gibt es nicht."))
    if p.state != ProposalState.DRAFT:
        raise ActionRefused(_("Eingereichte Anlagen können nicht gelöscht werden."))
    db.session.delete(a)
    db.session.flush()
    record(actor, "remove_attachment", p, data={"file": a.filename})
    delete_file_on_commit(_upload_dir() / a.storage_name)


def delete_file_on_commit(path) -> None:
    """The file leaves the disk when the session's transaction commits (its row deleted for good); a
    rollback keeps it with its row."""
    on_commit("delete_file", path)


def delete_files(paths: list[Path]) -> None:
    """The after-commit kind ``delete_file``: files whose rows were deleted, or written for rows that did not
    last."""
    for path in paths:
        path.unlink(missing_ok=True)


def attachment_path(a: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / a.storage_name


def submit(p: Proposal, actor) -> Proposal:
    return fire(p, "submit", actor)


def extend_deadline(p: Proposal, actor, new_deadline, reason: str) -> Proposal:
    """A documented extension for one applicant; the call itself does not change."""
    p = lock(p)
    check(actor, "proposal.extend_deadline", p)
    if not (reason or "").strip():
        raise ActionRefused(_("Bitte begründen Sie die Fristverlängerung."))
    if new_deadline <= p.call.submission_deadline:
        raise ActionRefused(_("Die neue Frist muss nach der Frist des Aufrufs liegen."))
    old = p.personal_deadline
    p.personal_deadline = new_deadline
    db.session.flush()
    record(
        actor,
        "extend_deadline",
        p,
        reason=reason,
        data={"from": old.isoformat() if old else None, "to": new_deadline.isoformat()},
    )
    return p


def request_reasons(p: Proposal, actor, question: str = "") -> ReasonRequest:
    """An unsuccessful applicant asks for the reasons of the decision (optionally with a question)."""
    question = (question or "").strip()
    at = request_now()
    rr = ReasonRequest(
        proposal_id=p.id, question=question, requested_at=at, due_at=period_end(at, reasons_wf.ANSWER_DAYS)
    )
    return fire(rr, "request_reasons", actor, reason=question)


def answer_reasons(rr: ReasonRequest, actor, answer: str) -> ReasonRequest:
    """An official answers; the answer goes to the applicant and into the Vergabevermerk."""
    return fire(rr, "answer_reasons", actor, reason=answer)
