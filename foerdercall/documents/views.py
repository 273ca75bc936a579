"""Downloads of the documents (PDF), through the access layer; nothing is written on download."""

from __future__ import annotations

from flask import Blueprint, Response, abort, url_for
from flask_login import current_user, login_required

from ..i18n import current_lang
from ..policy.loaders import get_call_for, get_document_proposal_for, require, require_neutrality
from ..policy.reading import may_read_document, official_may_read
from .operations import KINDS, build, build_call_record, existing_kinds, file_name, kind_label

bp = Blueprint("documents", __name__)
KIND_PATTERN = "any(" + ", ".join(KINDS) + ")"


def pdf_response(data: bytes, filename: str) -> Response:
    """A download with a plain ASCII file name (letters, digits, dot, dash): nothing to quote or inject."""
    safe = "".join(ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "-.")) or "document.pdf"
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.route(f"/proposals/<int:proposal_id>/documents/<{KIND_PATTERN}:kind>.pdf")
@login_required
def proposal_document(proposal_id: int, kind: str):
    p = get_document_proposal_for(current_user, proposal_id, kind)
    data = build(p, kind, current_lang())
    if data is None:  # the record does not support this document (yet): no receipt before submission ...
        abort(404)
    return pdf_response(data, file_name(p, kind))


@bp.route("/calls/<int:call_id>/vergabevermerk.pdf")
@login_required
def call_record(call_id: int):
    call = get_call_for(current_user, call_id)
    require(current_user, "official.work")
    require_neutrality(current_user, call)
    require(current_user, "call.read_record", call, status=404)  # sealed: no record yet
    data = build_call_record(call, current_user, current_lang(), lambda p: official_may_read(current_user, p))
    return pdf_response(data, f"vergabevermerk-{call.code}.pdf")


@bp.app_context_processor
def _document_links():
    def proposal_documents(p) -> list[dict]:
        """The documents of a proposal the current user may download (for the proposal page)."""
        if not current_user.is_authenticated:
            return []
        return [
            {
                "kind": k,
                "label": kind_label(k, p.call.mode),
                "url": url_for("documents.proposal_document", proposal_id=p.id, kind=k),
            }
            for k in existing_kinds(p)
            if may_read_document(current_user, p, k)
        ]

    return {"proposal_documents": proposal_documents}
