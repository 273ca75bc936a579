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


def mode_of(obj) -> str | None:
    """The mode of the call an object is or belongs to ("procurement" or "grant"), for its words."""
    if obj is None or isinstance(obj, str):
        return obj
    call = getattr(obj, "call", None)
    return getattr(call if call is not None else obj, "mode", None)


def state_label(name: str, state: str, lang: str | None = None, mode=None) -> str:
    """A state's label; ``mode`` (a call's mode, or the call or proposal itself): a grant's own words."""
    module = workflows.WORKFLOWS[name]
    grant = getattr(module, "GRANT_STATE_LABELS", {})
    if mode_of(mode) == "grant" and state in grant:
        return label(grant[state], lang)
    return label(module.STATE_LABELS[state], lang)


def step_label(t: dict, mode=None, lang: str | None = None, key: str = "label") -> str:
    """A transition's label (``key="done"``: the message after it) in the words of the call's mode."""
    pair = t.get(f"grant_{key}") if mode_of(mode) == "grant" else None
    return label(pair or t[key], lang)


# The words for a proposal and its award, by the call's mode: procurement (Angebot, Zuschlag) or grant (Antrag,
# Zuwendung). Each pair is (procurement, grant).
TERMS = {
    "offer": (_l("Angebot"), _l("Antrag")),
    "your_offer": (_l("Ihr Angebot"), _l("Ihr Antrag")),
    "award": (_l("Zuschlag"), _l("Zuwendung")),
    "award_amount": (_l("Auftragssumme"), _l("Zuwendungsbetrag")),
    "begin": (_l("Angebot beginnen"), _l("Antrag beginnen")),
    "decline_award": (_l("Zuschlag verbindlich ablehnen"), _l("Zuwendung verbindlich ablehnen")),
}


def term(obj, key: str) -> str:
    """A word of TERMS for the call (or proposal, or mode) ``obj``."""
    return str(TERMS[key][1 if mode_of(obj) == "grant" else 0])


def action_label(action: str, lang: str | None = None, mode=None) -> str:
    """A transition's label (from its workflow, in the words of the call's ``mode``), else the label of an audit
    action that is not a transition."""
    for name in workflows.WORKFLOWS:
        t = workflows.find_transition(name, action)
        if t is not None:
            return step_label(t, mode, lang)
    pair = ACTION_LABELS.get(action)
    return label(pair, lang) if pair else action
