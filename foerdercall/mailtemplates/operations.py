"""Mail templates of a call: placeholders, the choice by rules, and the officials' operations.

Placeholders are a fixed set with German names (:data:`PLACEHOLDERS`, per kind :data:`KIND_PLACEHOLDERS`),
written ``{Name}``. They are substituted in one pass as plain text (no Jinja: an official's text is never
evaluated, and a value that itself contains ``{Name}`` stays as it is). The HTML part of a mail escapes the
text like any other (``templates/mail/html_part.html``).

The choice (:func:`choose_template`): of the call's *active* templates of the mail's kind and language, the
most specific rule wins — state and field of action, then field of action, then state, then none — else the
built-in file template. The outbox row records the template's id and its active version
(``OutboxMail.template_id``/``template_version``; the text of each version is in the audit event of its
activation).

Previewed before use: a template is written as a draft (``version``); only the version an official saw in
the preview can be activated (:func:`activate_template` compares the version the preview showed); editing an
active template makes the new text a draft again while the last activated text keeps being used.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from types import SimpleNamespace

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflows import ProposalState

from ..accounts.models import User
from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import format_dt, format_money, label
from ..policy import check
from ..policy.reading import official_may_read
from ..proposals.models import Proposal
from ..text import printable
from ..timeutil import now
from .models import MailTemplate

LANGS = ("de", "en")

# The applicant-facing outcome mails a call may word itself: kind -> label.
KINDS = {
    "receipt": _l("Eingangsbestätigung"),
    "clarification": _l("Nachforderung von Unterlagen"),
    "ineligible": _l("Formaler Ausschluss"),
    "rejection": _l("Ablehnung"),
    "standstill_notice": _l("Information vor dem Zuschlag (Stillhaltefrist)"),
    "award": _l("Zuschlag"),
    "withdrawn": _l("Rücknahme des Angebots"),
    "terminated": _l("Vorzeitige Beendigung"),
    "completed": _l("Abschluss der Maßnahme"),
}

# The states a proposal is in when a mail of the kind is written (a rule's ``state`` must be one of them).
KIND_STATES = {
    "receipt": (ProposalState.SUBMITTED,),
    ProposalState.CLARIFICATION: (ProposalState.CLARIFICATION,),
    ProposalState.INELIGIBLE: (ProposalState.INELIGIBLE,),
    "rejection": (ProposalState.REJECTED,),
    "standstill_notice": (
        ProposalState.REJECTED,
        ProposalState.INELIGIBLE,
    ),  # to every unsuccessful applicant of the call
    "award": (ProposalState.AWARDED,),
    ProposalState.WITHDRAWN: (ProposalState.WITHDRAWN,),
    ProposalState.TERMINATED: (ProposalState.TERMINATED,),
    ProposalState.COMPLETED: (ProposalState.COMPLETED,),
}
RULE_STATES = tuple(dict.fromkeys(s for states in KIND_STATES.values() for s in states))

PLACEHOLDERS = {
    "Anrede": _l("Anrede mit Namen, wie die Person sie gewählt hat (z. B. „Guten Tag Frau Weber,“)"),
    "Name": _l("Name der Empfängerin oder des Empfängers"),
    "Aktenzeichen": _l("Aktenzeichen (Eingangsnummer) des Angebots"),
    "Titel": _l("Titel des Angebots"),
    "Aufruf": _l("Titel des Aufrufs"),
    "Eingang": _l("Zeitpunkt des Eingangs (Leipziger Zeit)"),
    "Dateien": _l("Liste der eingegangenen Dateien mit Prüfsumme"),
    "Begruendung": _l("Begründung der Entscheidung (Text der Sachbearbeitung)"),
    "Frist": _l("Frist (Antwort, Annahme des Zuschlags oder Ende der Stillhaltefrist)"),
    "Betrag": _l("Betrag in Euro (Auftragssumme)"),
    "Zuschlagsangebot": _l("Aktenzeichen des Angebots, das den Zuschlag erhalten soll"),
    "Datum": _l("Zeitpunkt der Rücknahme"),
}
_COMMON = ("Anrede", "Name", "Aktenzeichen", "Titel", "Aufruf")
KIND_PLACEHOLDERS = {
    "receipt": (*_COMMON, "Eingang", "Dateien"),
    "clarification": (*_COMMON, "Begruendung", "Frist"),
    "ineligible": (*_COMMON, "Begruendung"),
    "rejection": (*_COMMON, "Begruendung"),
    "standstill_notice": (*_COMMON, "Begruendung", "Betrag", "Frist", "Zuschlagsangebot"),
    "award": (*_COMMON, "Betrag", "Frist"),
    "withdrawn": (*_COMMON, "Datum"),
    "terminated": (*_COMMON, "Begruendung"),
    "completed": _COMMON,
}

_TOKEN = re.compile(r"\{([^{}\n]{0,60})\}")
_NO_ANSWER = (
    "Die Nachforderung wurde nicht fristgerecht beantwortet.",
    "The request for missing documents was not answered in time.",
)


# --- placeholders ------------------------------------------------------------------------------------------


def unknown_placeholders(kind: str, *texts: str) -> list[str]:
    """The ``{…}`` of the texts that are no placeholder of this kind, in order of appearance, once each."""
    allowed = set(KIND_PLACEHOLDERS.get(kind, ()))
    found = [m.group(1) for text in texts for m in _TOKEN.finditer(text or "")]
    return list(dict.fromkeys(name for name in found if name not in allowed))


def substitute(text: str, values: dict[str, str]) -> str:
    """Every known ``{Name}`` replaced by its value, in one pass (values are never substituted again)."""
    return _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def placeholder_values(kind: str, lang: str, *, recipient, proposal, call, context: dict) -> dict[str, str]:
    """The values of a mail's placeholders: the same the built-in file templates show, in ``lang``."""
    values = {
        "Anrede": recipient.greeting(lang),
        "Name": recipient.name or "",
        "Aktenzeichen": proposal.label(),
        "Titel": proposal.title or "",
        "Aufruf": call.title,
    }
    reason = (context.get("reason") or "").strip()
    if kind == "ineligible" and not reason:
        reason = label(_NO_ANSWER, lang)
    values["Begruendung"] = reason
    if kind == "receipt":
        values["Eingang"] = format_dt(proposal.submitted_at, lang, seconds=True)
        values["Dateien"] = "\n".join(
            f"  - {a.download_name}  SHA-256 {a.sha256}" for a in proposal.attachments
        )
    elif kind == "clarification" and context.get("clarification") is not None:
        values["Frist"] = format_dt(context["clarification"].due_at, lang)
    elif kind == "award" and context.get("award") is not None:
        values["Betrag"] = format_money(context["award"].amount_cents, lang)
        values["Frist"] = format_dt(context["award"].accept_by, lang)
    elif kind == "standstill_notice":
        values["Betrag"] = format_money(context.get("amount"), lang)
        values["Frist"] = format_dt(context.get("ends_at"), lang)
        awarded = context.get("awarded")
        values["Zuschlagsangebot"] = awarded.label() if awarded is not None else ""
    elif kind == "withdrawn":
        values["Datum"] = format_dt(context.get("now"), lang)
    return {k: v for k, v in values.items() if k in KIND_PLACEHOLDERS[kind]}


def render_text(subject: str, body: str, values: dict[str, str]) -> tuple[str, str]:
    """(subject, body) as sent: the subject on one line, the body with a final line break."""
    subject = " ".join(substitute(subject, values).split())[:300]
    body = substitute(body.replace("\r\n", "\n").replace("\r", "\n"), values).strip() + "\n"
    return subject, body


# --- the choice ------------------------------------------------------------------------------------------


def _specificity(t: MailTemplate) -> tuple[int, int]:
    return (bool(t.field_of_action), bool(t.state))  # state+field, field, state, none


def choose_template(kind: str, lang: str, proposal, call) -> MailTemplate | None:
    """The call's most specific active template for this mail, or None (then the built-in one is used)."""
    if kind not in KINDS or proposal is None or call is None:
        return None
    rows = db.session.scalars(
        select(MailTemplate).where(
            MailTemplate.call_id == call.id,
            MailTemplate.kind == kind,
            MailTemplate.lang == lang,
            MailTemplate.active.is_(True),
            MailTemplate.active_version > 0,
            MailTemplate.state.in_(("", proposal.state or "")),
            MailTemplate.field_of_action.in_(("", proposal.field_of_action or "")),
        )
    ).all()
    return max(rows, key=_specificity, default=None)


@dataclass
class ChosenText:
    subject: str
    body: str
    template_id: int
    template_version: int


def official_text(kind: str, lang: str, *, recipient, proposal, call, context: dict) -> ChosenText | None:
    """The mail's subject and body from the call's active template (its last activated text), or None."""
    if kind not in KINDS or proposal is None or call is None:
        return None
    t = choose_template(kind, lang, proposal, call)
    if t is None:
        return None
    values = placeholder_values(
        kind, lang, recipient=recipient, proposal=proposal, call=call, context=context
    )
    subject, body = render_text(t.active_subject, t.active_body, values)
    return ChosenText(subject, body, t.id, t.active_version)


# --- the officials' operations -----------------------------------------------------------------------------


def _check_text(kind: str, subject: str, body: str) -> tuple[str, str]:
    subject = " ".join(printable(subject or "").split())
    body = printable((body or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not subject or not body:
        raise ActionRefused(_("Bitte geben Sie Betreff und Text an."))
    unknown = unknown_placeholders(kind, subject, body)
    if unknown:
        raise ActionRefused(
            _(
                "Unbekannte Platzhalter: %(names)s. Erlaubt sind: %(allowed)s.",
                names=", ".join(f"{{{n}}}" for n in unknown),
                allowed=", ".join(f"{{{n}}}" for n in KIND_PLACEHOLDERS[kind]),
            )
        )
    return subject, body


def _rule_data(t: MailTemplate) -> dict:
    return {"kind": t.kind, "lang": t.lang, "state": t.state, "field_of_action": t.field_of_action}


def create_template(
    call, actor, *, kind: str, lang: str, state: str = "", field_of_action: str = "", subject: str, body: str
) -> MailTemplate:
    """A new template of the call, as a draft (used only once previewed and activated)."""
    check(actor, "call.edit_mail_templates", call)
    state, field_of_action = state or "", field_of_action or ""
    if kind not in KINDS or lang not in LANGS:
        raise ActionRefused(_("Diese Art von Nachricht oder Sprache gibt es nicht."))
    if state and state not in KIND_STATES[kind]:
        raise ActionRefused(_("Diese Nachricht wird in diesem Status nie geschrieben."))
    if field_of_action and field_of_action not in call.field_keys:
        raise ActionRefused(_("Dieses Handlungsfeld gehört nicht zum Aufruf."))
    subject, body = _check_text(kind, subject, body)
    exists = _(
        "Für diese Nachricht, Sprache und Regel gibt es schon eine Vorlage. Bitte bearbeiten Sie diese."
    )
    if db.session.scalar(
        select(MailTemplate.id).where(
            MailTemplate.call_id == call.id,
            MailTemplate.kind == kind,
            MailTemplate.lang == lang,
            MailTemplate.state == state,
            MailTemplate.field_of_action == field_of_action,
        )
    ):
        raise ActionRefused(exists)
    at = now()
    t = MailTemplate(
        call_id=call.id,
        kind=kind,
        lang=lang,
        state=state,
        field_of_action=field_of_action,
        subject=subject,
        body=body,
        version=1,
        active_subject="",
        active_body="",
        active_version=0,
        active=False,
        created_by_id=actor.id,
        created_at=at,
        edited_by_id=actor.id,
        edited_at=at,
    )
    try:
        with db.session.begin_nested():  # the same rule written by a concurrent transaction: a message
            db.session.add(t)
    except IntegrityError:
        raise ActionRefused(exists) from None
    record(actor, "create_mail_template", t, at=at, data={**_rule_data(t), "version": 1})
    return t


def update_template(
    t: MailTemplate, actor, *, subject: str, body: str, version: int | None = None
) -> MailTemplate:
    """A new text: a draft again (the last activated text stays in use until this one is activated).
    ``version``: the version the editor started from; refused when someone saved another one since."""
    check(actor, "call.edit_mail_templates", t.call)
    if version is not None and version != t.version:
        raise ActionRefused(
            _(
                "Die Vorlage wurde inzwischen geändert (jetzt Fassung %(v)s). Ihr Text steht "
                "unten noch; prüfen Sie die aktuelle Fassung in der Vorschau. Wenn Sie erneut "
                "speichern, ersetzt Ihr Text diese Fassung.",
                v=t.version,
            )
        )
    subject, body = _check_text(t.kind, subject, body)
    if (subject, body) == (t.subject, t.body):
        return t
    at = now()
    t.subject, t.body = subject, body
    t.version += 1
    t.edited_by_id, t.edited_at = actor.id, at
    db.session.flush()
    record(actor, "edit_mail_template", t, at=at, data={**_rule_data(t), "version": t.version})
    return t


def activate_template(t: MailTemplate, actor, version: int | None) -> MailTemplate:
    """Use the text the official saw in the preview (``version``) from now on."""
    check(actor, "call.edit_mail_templates", t.call)
    if version != t.version:
        raise ActionRefused(
            _(
                "Der Text wurde seit dieser Vorschau geändert. Bitte sehen Sie sich die "
                "Vorschau erneut an, bevor Sie die Vorlage aktivieren."
            )
        )
    if t.active and t.active_version == t.version:
        raise ActionRefused(_("Diese Fassung ist schon aktiv."))
    _check_text(t.kind, t.subject, t.body)
    at = now()
    t.active_subject, t.active_body, t.active_version, t.active = t.subject, t.body, t.version, True
    t.activated_by_id, t.activated_at = actor.id, at
    db.session.flush()
    record(
        actor,
        "activate_mail_template",
        t,
        at=at,
        data={**_rule_data(t), "version": t.version, "subject": t.subject, "body": t.body},
    )
    return t


def deactivate_template(t: MailTemplate, actor) -> MailTemplate:
    """No longer used: the next more general template (or the built-in one) is used again."""
    check(actor, "call.edit_mail_templates", t.call)
    if not t.active:
        raise ActionRefused(_("Diese Vorlage ist nicht aktiv."))
    t.active = False
    db.session.flush()
    record(actor, "deactivate_mail_template", t, data={**_rule_data(t), "version": t.active_version})
    return t


def delete_template(t: MailTemplate, actor) -> None:
    """Gone; mails already written keep their text (and name the template's id and version)."""
    check(actor, "call.edit_mail_templates", t.call)
    record(
        actor,
        "delete_mail_template",
        t,
        data={**_rule_data(t), "version": t.version, "active_version": t.active_version},
    )
    db.session.delete(t)
    db.session.flush()


def templates_of(call) -> list[MailTemplate]:
    order = {k: i for i, k in enumerate(KINDS)}
    rows = db.session.scalars(select(MailTemplate).where(MailTemplate.call_id == call.id)).all()
    return sorted(rows, key=lambda t: (order.get(t.kind, 99), t.lang, t.state, t.field_of_action))


# --- the preview -----------------------------------------------------------------------------------------


@dataclass
class PreviewMail:
    lang: str
    source: str  # "template" (this one), "sibling" (the same rule in the other language), "builtin"
    subject: str
    body: str
    template: MailTemplate | None = None


def _sample_proposal(t: MailTemplate, call, at: dt.datetime):
    seq = 1
    return SimpleNamespace(
        id=0,
        title=label(
            ("Beispielprojekt Kreativwirtschaft Plagwitz", "Sample project creative Plagwitz"), t.lang
        ),
        file_number=f"{call.code}-{seq:04d}",
        label=lambda: f"{call.code}-{seq:04d}",
        submitted_at=at,
        attachments=[SimpleNamespace(filename="konzept.pdf", download_name="konzept.pdf", sha256="0" * 64)],
        state=t.state or KIND_STATES[t.kind][0],
        field_of_action=t.field_of_action,
        requested_amount_cents=call.max_amount_cents,
        applicant=User(name="Erika Mustermann", salutation="frau"),  # a sample: never stored
    )


def preview_proposal(t: MailTemplate, viewer):
    """A real proposal of the call the viewer may read, preferring one the rule applies to; else None."""
    rows = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id == t.call_id, Proposal.state != ProposalState.DRAFT)
        .order_by(Proposal.file_seq, Proposal.id)
        .limit(200)
    ).all()
    rows = [p for p in rows if official_may_read(viewer, p)]

    def fits(p) -> int:
        return (
            (not t.state or p.state == t.state)
            + (not t.field_of_action or p.field_of_action == t.field_of_action)
            + (p.state in KIND_STATES[t.kind])
        )

    return max(rows, key=fits, default=None)


def _preview_context(kind: str, proposal, call, at: dt.datetime) -> dict:
    due = at + dt.timedelta(days=14)
    amount = getattr(proposal, "requested_amount_cents", 0) or call.max_amount_cents
    awarded_number = f"{call.code}-0002"
    return {
        "reason": "Beispiel: Die Begründung der Entscheidung steht hier.",
        "now": at,
        "award": SimpleNamespace(amount_cents=amount, accept_by=due),
        "clarification": SimpleNamespace(due_at=due),
        "awarded": SimpleNamespace(file_number=awarded_number, label=lambda: awarded_number),
        "amount": amount,
        "ends_at": due,
    }


def builtin_text(kind: str, lang: str, *, recipient, proposal, call, context: dict) -> tuple[str, str]:
    """The built-in file template (``templates/mail/<kind>.txt``), as the outbox renders it."""
    with force_locale(lang):
        text = render_template(
            f"mail/{kind}.txt", recipient=recipient, proposal=proposal, call=call, lang=lang, **context
        )
    subject, _nl, body = text.strip().partition("\n")
    return subject.removeprefix("Subject:").strip(), body.strip() + "\n"


def preview(t: MailTemplate, viewer) -> tuple[object | None, list[PreviewMail]]:
    """The template's latest text as it would be sent, with a real proposal of the call (or a sample), and
    the same mail in the other language (that language's template of the same rule, else the built-in
    one). Returns (the real proposal or None, the mails)."""
    call = t.call
    at = now()
    real = preview_proposal(t, viewer)
    proposal = real if real is not None else _sample_proposal(t, call, at)
    recipient = proposal.applicant
    context = _preview_context(t.kind, proposal, call, at)
    mails = []
    for lang in (t.lang, *(x for x in LANGS if x != t.lang)):
        own = (
            t
            if lang == t.lang
            else db.session.scalar(
                select(MailTemplate).where(
                    MailTemplate.call_id == t.call_id,
                    MailTemplate.kind == t.kind,
                    MailTemplate.lang == lang,
                    MailTemplate.state == t.state,
                    MailTemplate.field_of_action == t.field_of_action,
                )
            )
        )
        if own is not None:
            values = placeholder_values(
                t.kind, lang, recipient=recipient, proposal=proposal, call=call, context=context
            )
            subject, body = render_text(own.subject, own.body, values)
            mails.append(PreviewMail(lang, "template" if own is t else "sibling", subject, body, own))
        else:
            subject, body = builtin_text(
                t.kind, lang, recipient=recipient, proposal=proposal, call=call, context=context
            )
            mails.append(PreviewMail(lang, "builtin", subject, body))
    return real, mails
