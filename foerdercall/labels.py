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
    "bulk_eligible": _l("Formale Prüfung für mehrere Angebote"),
    "bulk_award": _l("Zuschläge für mehrere Angebote"),
    "call_record": _l("Vergabevermerk"),
    "export": _l("Export"),
}


# why a record's retention ends when it does (privacy.retention.record_ends)
RETENTION_BASIS_LABELS = {
    "unfunded": _l("nicht gefördert: die Frist des Aufrufs nach Abschluss der Auswahl"),
    "award": _l("gefördert: 3 Jahre nach dem Zuschlag, frühestens mit dem Ende der Maßnahme"),
    "erdf": _l("EFRE: 5 Jahre ab Ende des Jahres der letzten Zahlung"),
    "running": _l("die Maßnahme läuft noch"),
}


# Why a mail failed (foerdercall/mail/models.py FAILURES)
MAIL_FAILURE_LABELS = {
    "relay": _l("Mailserver nicht erreichbar oder vorübergehend abweisend"),
    "recipient": _l("Empfänger vorübergehend abgelehnt"),
    "mail": _l("Fehler beim Erstellen der Nachricht"),
    "permanent": _l("dauerhaft abgelehnt"),
}


def mail_failure_label(failure: str) -> str:
    return str(MAIL_FAILURE_LABELS.get(failure, "–"))


def retention_basis_label(basis: str) -> str:
    return str(RETENTION_BASIS_LABELS.get(basis, basis))


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


# The words for a proposal and its award, by the call's mode: procurement (Angebot, Zuschlag; English offer,
# contract award) or grant (Antrag, Zuwendung; English application, grant). Each pair is (procurement, grant).
# A sentence with such a word is a pair of its own (German grammar differs), never a word put into a sentence.
TERMS = {
    "offer": (_l("Angebot"), _l("Antrag")),
    "offers": (_l("Angebote"), _l("Anträge")),
    "your_offer": (_l("Ihr Angebot"), _l("Ihr Antrag")),
    "view_offer": (_l("Angebot ansehen"), _l("Antrag ansehen")),
    "received_offers": (_l("Eingegangene Angebote"), _l("Eingegangene Anträge")),
    "opening": (_l("Öffnung der Angebote"), _l("Öffnung der Anträge")),
    "award": (_l("Zuschlag"), _l("Zuwendung")),
    "award_amount": (_l("Auftragssumme"), _l("Zuwendungsbetrag")),
    "award_amount_net": (_l("Auftragssumme (netto, €)"), _l("Zuwendungsbetrag (€)")),
    "begin": (_l("Angebot beginnen"), _l("Antrag beginnen")),
    "advice_consent": (
        _l(
            "Ich möchte von der Kontaktstelle Kreativwirtschaft beraten werden (sie darf mein Angebot lesen)."
        ),
        _l(
            "Ich möchte von der Kontaktstelle Kreativwirtschaft beraten werden (sie darf meinen Antrag lesen)."
        ),
    ),
    "decline_award": (_l("Zuschlag verbindlich ablehnen"), _l("Zuwendung verbindlich ablehnen")),
    "implementation_from": (_l("Monate ab Annahme des Zuschlags"), _l("Monate ab Annahme der Zuwendung")),
    "ranked": (_l("Rangliste: %(n)s Angebote"), _l("Rangliste: %(n)s Anträge")),
    "funded": (
        _l("Angebote auf der Förderliste oder vergeben"),
        _l("Anträge auf der Förderliste oder bewilligt"),
    ),
    "budget_line": (
        _l("vor Rang %(n)s: ab hier reicht das Geld nicht mehr für jedes förderfähige Angebot"),
        _l("vor Rang %(n)s: ab hier reicht das Geld nicht mehr für jeden förderfähigen Antrag"),
    ),
    "budget_enough": (
        _l("Das Budget reicht für alle förderfähigen Angebote."),
        _l("Das Budget reicht für alle förderfähigen Anträge."),
    ),
    "upload_usage": (
        _l(
            "Belegt: %(files)s von %(max_files)s Dateien und %(mb)s von %(max_mb)s MB für dieses Angebot; "
            "%(afiles)s von %(amax_files)s Dateien und %(amb)s von %(amax_mb)s MB in Ihrem Konto. Nur PDF-Dateien "
            "ohne Skripte, Formularaktionen und eingebettete Dateien."
        ),
        _l(
            "Belegt: %(files)s von %(max_files)s Dateien und %(mb)s von %(max_mb)s MB für diesen Antrag; "
            "%(afiles)s von %(amax_files)s Dateien und %(amb)s von %(amax_mb)s MB in Ihrem Konto. Nur PDF-Dateien "
            "ohne Skripte, Formularaktionen und eingebettete Dateien."
        ),
    ),
    "deadline_rule": (
        _l(
            "Maßgeblich ist der vollständige Eingang beim Server: Ihr Angebot ist fristgerecht eingereicht, wenn "
            "die Anfrage mit dem Text und allen Dateien vor Ablauf der Frist vollständig bei uns angekommen ist. "
            "Eine Übertragung, die vor der Frist beginnt und danach endet, ist verspätet; laden Sie große Dateien "
            "rechtzeitig hoch, am besten einzeln mit „Entwurf speichern“."
        ),
        _l(
            "Maßgeblich ist der vollständige Eingang beim Server: Ihr Antrag ist fristgerecht eingereicht, wenn "
            "die Anfrage mit dem Text und allen Dateien vor Ablauf der Frist vollständig bei uns angekommen ist. "
            "Eine Übertragung, die vor der Frist beginnt und danach endet, ist verspätet; laden Sie große Dateien "
            "rechtzeitig hoch, am besten einzeln mit „Entwurf speichern“."
        ),
    ),
    "after_deadline": (
        _l("Öffnung der Angebote nach Ablauf der Einreichungsfrist, dann formale Prüfung"),
        _l("Formale Prüfung nach Ablauf der Einreichungsfrist"),
    ),
    "neutrality_first": (
        _l(
            "Bevor Sie ein Angebot dieses Aufrufs lesen, unterzeichnen Sie einmal die Neutralitätserklärung; sie "
            "gilt für alle Angebote des Aufrufs, die Ihnen zugewiesen sind."
        ),
        _l(
            "Bevor Sie einen Antrag dieses Aufrufs lesen, unterzeichnen Sie einmal die Neutralitätserklärung; sie "
            "gilt für alle Anträge des Aufrufs, die Ihnen zugewiesen sind."
        ),
    ),
    "conflict_question": (
        _l(
            "Bevor Sie das Angebot sehen: Besteht ein Interessenkonflikt (z. B. Verwandtschaft, geschäftliche "
            "Beziehung, eigene Beteiligung)?"
        ),
        _l(
            "Bevor Sie den Antrag sehen: Besteht ein Interessenkonflikt (z. B. Verwandtschaft, geschäftliche "
            "Beziehung, eigene Beteiligung)?"
        ),
    ),
    "conflict_declared": (
        _l("Sie haben einen Interessenkonflikt erklärt und wirken an diesem Angebot nicht mit."),
        _l("Sie haben einen Interessenkonflikt erklärt und wirken an diesem Antrag nicht mit."),
    ),
}


def term(obj, key: str, **params) -> str:
    """A word or sentence of TERMS for the call (or proposal, or mode) ``obj``, in the reader's language;
    ``params`` fill a sentence's %(name)s."""
    text = str(TERMS[key][1 if mode_of(obj) == "grant" else 0])
    return text % params if params else text


def action_label(action: str, lang: str | None = None, mode=None) -> str:
    """A transition's label (from its workflow, in the words of the call's ``mode``), else the label of an audit
    action that is not a transition."""
    for name in workflows.WORKFLOWS:
        t = workflows.find_transition(name, action)
        if t is not None:
            return step_label(t, mode, lang)
    pair = ACTION_LABELS.get(action)
    return label(pair, lang) if pair else action
