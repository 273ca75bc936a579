"""Labels of codes that pages, mails and documents show: offices, a call's kinds of attachment."""

from __future__ import annotations

from flask_babel import gettext as _

OFFICE_LABELS = {"KA": "KA", "AfWiFoe": "AfWiFö"}


def office_label(code: str | None) -> str:
    return OFFICE_LABELS.get(code, code) if code else "–"


def attachment_kind(call, kind: str) -> str:
    """The label of a required attachment, or what an extra file is."""
    for r in call.required_attachments:
        if r.key == kind:
            return r.label
    return {"clarification": _("Nachgereicht"), "other": _("Sonstige Anlage")}.get(kind, kind)
