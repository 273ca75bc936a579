"""Labels of codes that pages, mails and documents show: states and actions of the workflows, a call's
kinds of attachment."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import workflows
from workflows.actions import ACTION_LABELS

from .i18n import current_lang, label


def field_label(call, key: str | None, lang: str | None = None) -> str:
    """A field of action of the call by its key, in the reader's language ("–" for none, the key for one the call
    no longer names)."""
    for f in call.fields_of_action or []:
        if f["key"] == key:
            return label((f["de"], f.get("en") or f["de"]), lang)
    return key or "–"


# a bulk job's states (jobs/models.py) and kinds as its page shows them
JOB_STATE_LABELS = {
    "queued": _l("wartet auf den Start"),
    "running": _l("läuft"),
    "done": _l("fertig"),
    "failed": _l("abgebrochen"),
}
JOB_KIND_LABELS = {
    "sign_off": _l("Sammelzeichnung"),
    "call_record": _l("Vergabevermerk"),
    "export": _l("Export"),
}


def job_state_label(state: str) -> str:
    return str(JOB_STATE_LABELS.get(state, state))


def job_kind_label(kind: str) -> str:
    return str(JOB_KIND_LABELS.get(kind, JOB_KIND_LABELS["export"]))


def attachment_kind(call, kind: str) -> str:
    """The label of an attachment question of the call's form, or what an extra file is."""
    asked = call.form_definition.question(kind)  # an attachment question of the call's form
    if asked is not None:
        return asked.label.get(current_lang())
    return {"clarification": _("Nachgereicht"), "other": _("Sonstige Anlage")}.get(kind, kind)


def state_label(name: str, state: str, lang: str | None = None) -> str:
    return label(workflows.WORKFLOWS[name].STATE_LABELS[state], lang)


def action_label(action: str, lang: str | None = None) -> str:
    """A transition's label (from its workflow), else the label of an audit action that is not a transition."""
    for name in workflows.WORKFLOWS:
        t = workflows.find_transition(name, action)
        if t is not None:
            return label(t["label"], lang)
    pair = ACTION_LABELS.get(action)
    return label(pair, lang) if pair else action
