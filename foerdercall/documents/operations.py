"""The documents a city files, built from the record: receipt confirmation, request for missing documents,
rejection with the instructions on legal remedies, award letter, and the award record (Vergabevermerk).

Documents are derived, not stored: each is built from audited rows (so nothing is written when one is
downloaded) and dated by the event it documents, so the same record always gives the same file.
Letters are in the applicant's language; the Vergabevermerk in the reader's. The texts a city may want to
change (letterhead, letter bodies, the Rechtsbehelfsbelehrung) are templates in templates/documents/.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from workflows import PaymentState, ProposalState

from ..accounts.models import User
from ..appform.display import shown_answers
from ..audit.models import AuditEvent
from ..awards.models import Award, SignOff
from ..awards.queries import claims_of, drawdowns_of
from ..calls.models import Call
from ..extensions import db
from ..i18n import format_date, format_dt, format_money, format_number
from ..labels import action_label, field_label, state_label
from ..offices.queries import office_label
from ..privacy.queries import applicant_label, event_actor, event_reason
from ..proposals.models import Proposal
from ..proposals.queries import reason_request_of, reasons_until, state_event
from ..publicity import eu_statement
from ..ranking.models import Standstill
from ..ranking.queries import tie_breaks_of
from ..ranking.service import compute_ranking, tie_note
from ..reviews.models import ConflictDeclaration, NeutralityDeclaration, Review
from ..reviews.operations import score_proposal
from .pdf import Document, Facts, Heading, Para, Table, render

LETTERS = ("receipt", "clarification", "rejection", "award")
KINDS = (*LETTERS, "vergabevermerk")


# --- formats ---------------------------------------------------------------------------------------------


def _paragraphs(template: str, **ctx) -> list[Para]:
    """A text template as paragraphs (blank lines separate them); nothing in it is interpreted."""
    text = render_template(f"documents/{template}", **ctx)
    return [Para(p.strip("\n")) for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _letterhead(call: Call, lang: str) -> list[str]:
    text = render_template("documents/letterhead.txt", call=call, lang=lang)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _footer() -> str:
    return _("Seite %(page)s von %(pages)s", page="%(page)s", pages="%(pages)s")


def _address(user: User) -> list[str]:
    return [line for line in (user.name, user.organisation, user.email) if line]


def _mode_label(call: Call) -> str:
    return _("Auftragsvergabe") if call.mode == "procurement" else _("Zuwendung")


def _field(p: Proposal) -> str:
    return field_label(p.call, p.field_of_action)


def _amount_label(p: Proposal, lang: str) -> str:
    """What the call's form calls the amount (an offer price, a grant requested)."""
    q = p.call.form_definition.by_role("amount")
    return q.label.get(lang) if q is not None else _("Angebotspreis (netto)")


def _answer_blocks(p: Proposal, lang: str) -> list:
    """The answers by the sections of the call's form, as the proposal page shows them (the files are listed
    on their own)."""
    blocks: list = []
    for section in shown_answers(p.call.form_definition, p.answers or {}, lang):
        blocks.append(Heading(section.title, 3))
        facts: list[tuple[str, str]] = []
        for a in section.answers:
            if not a.head:
                facts.append((a.label, a.text))
                continue
            if facts:
                blocks.append(Facts(facts))
                facts = []
            blocks.append(Para(a.label))
            blocks.append(Table(list(a.head), [list(row) for row in a.rows]))
        if facts:
            blocks.append(Facts(facts))
    return blocks


def _name(user_id: int | None) -> str:
    u = db.session.get(User, user_id) if user_id else None
    return u.name if u else "–"


def _function(user_id: int) -> str:
    """In which function a person signed a declaration: their office, else reviewer or advisor."""
    u = db.session.get_one(User, user_id)
    parts = [office_label(u.office)] if u.has_role("official") and u.office else []
    if u.has_role("reviewer"):
        parts.append(_("Gutachter/in"))
    if u.has_role("advisor"):
        parts.append(_("Beratung (Kontaktstelle)"))
    return ", ".join(parts) or "–"


def _above_eu_threshold(call: Call) -> bool:
    return (call.estimated_value_cents or 0) >= current_app.config["EU_THRESHOLD_CENTS"]


# --- which documents exist ---------------------------------------------------------------------------------


def award_for(p: Proposal) -> Award | None:
    return db.session.scalar(select(Award).where(Award.proposal_id == p.id))


def existing_kinds(p: Proposal) -> list[str]:
    """The documents the record of this proposal supports, in the order they arise."""
    kinds = []
    if p.submitted_at is not None:
        kinds.append("receipt")
    if p.clarifications:
        kinds.append("clarification")
    if p.state in (ProposalState.REJECTED, ProposalState.INELIGIBLE):
        kinds.append("rejection")
    if award_for(p) is not None:
        kinds.append("award")
    if p.submitted_at is not None:
        kinds.append("vergabevermerk")
    return kinds


def kind_label(kind: str, mode: str = "procurement") -> str:
    """A document's name; the award letter by the call's mode (a grant's is the Zuwendungsbescheid)."""
    if kind == "award":
        return _("Zuwendungsbescheid") if mode == "grant" else _("Zuschlagsschreiben")
    return {
        "receipt": _("Eingangsbestätigung"),
        "clarification": _("Nachforderung von Unterlagen"),
        "rejection": _("Ablehnung mit Rechtsbehelfsbelehrung"),
        "vergabevermerk": _("Vergabevermerk"),
    }[kind]


def file_name(p: Proposal, kind: str) -> str:
    """A safe download name: letters, digits, dot, dash only."""
    ref = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-.") else "-" for ch in p.label())
    return f"{kind}-{ref.strip('-.') or p.id}.pdf"


# --- the letters -------------------------------------------------------------------------------------------


def build(p: Proposal, kind: str, reader_lang: str = "de") -> bytes | None:
    """The PDF of one document of a proposal, or None when the record does not (yet) support it."""
    if kind not in existing_kinds(p):
        return None
    lang = reader_lang if kind == "vergabevermerk" else (p.applicant.locale or "de")
    with force_locale(lang):
        doc = {
            "receipt": _receipt,
            "clarification": _clarification,
            "rejection": _rejection,
            "award": _award,
            "vergabevermerk": _proposal_record,
        }[kind](p, lang)
    return render(doc)


def _letter(p: Proposal, lang: str, title: str, at: dt.datetime) -> Document:
    doc = Document(
        title=title,
        lang=lang,
        issued_at=at,
        sender=_letterhead(p.call, lang),
        address=_address(p.applicant),
        footer=_footer(),
        eu_statement=eu_statement(p.call, lang),
    )
    doc.add(
        Facts(
            [
                (_("Datum"), format_date(at, lang)),
                (_("Aktenzeichen"), p.file_number or "–"),
                (_("Aufruf"), f"{p.call.title} ({p.call.code})"),
                (_("Angebot"), p.title or "–"),
            ]
        )
    )
    return doc


def _receipt(p: Proposal, lang: str) -> Document:
    assert p.submitted_at is not None and p.file_number is not None  # existing_kinds: the submission set both
    title = _("Eingangsbestätigung")
    doc = _letter(p, lang, title, p.submitted_at)
    doc.add(*_paragraphs("receipt.txt", p=p, call=p.call, lang=lang))
    doc.add(
        Facts(
            [
                (_("Eingangsnummer (Aktenzeichen)"), p.file_number),
                (_("Zeitpunkt des Eingangs (Serverzeit)"), format_dt(p.submitted_at, lang, seconds=True)),
                (_amount_label(p, lang), format_money(p.requested_amount_cents, lang)),
            ]
        )
    )
    doc.add(Heading(_("Ihre Angaben"), 2), *_answer_blocks(p, lang))
    doc.add(Heading(_("Eingegangene Dateien"), 2))
    files = [a for a in p.attachments if a.uploaded_at <= p.submitted_at]
    for a in files:  # the hash on a line of its own: 64 characters never wrap inside it
        size = _("%(n)s Bytes", n=a.size)
        doc.add(Para(f"{a.download_name} ({size})\nSHA-256: {a.sha256}", small=True))
    if not files:
        doc.add(Para(_("Keine Dateien.")))
    doc.add(*_paragraphs("receipt_closing.txt", p=p, call=p.call, lang=lang))
    return doc


def _clarification(p: Proposal, lang: str) -> Document:
    c = p.clarifications[-1]
    doc = _letter(p, lang, _("Nachforderung von Unterlagen"), c.requested_at)
    doc.add(*_paragraphs("clarification.txt", p=p, call=p.call, lang=lang))
    doc.add(Heading(_("Was fehlt"), 2), Para(c.message))
    doc.add(
        Facts(
            [
                (_("Antwort bis"), format_dt(c.due_at, lang)),
                (_("Angefordert von"), c.requested_by.name if c.requested_by else "–"),
            ]
        )
    )
    doc.add(
        *_paragraphs("clarification_closing.txt", p=p, call=p.call, lang=lang, due=format_dt(c.due_at, lang))
    )
    if c.answered_at is not None:
        doc.add(
            Para(_("Ihre Antwort ist am %(at)s eingegangen.", at=format_dt(c.answered_at, lang)), small=True)
        )
    return doc


def rejection_reasons(p: Proposal) -> list[str]:
    if p.state == ProposalState.REJECTED:
        reasons = [
            s.reason
            for s in db.session.scalars(
                select(SignOff)
                .where(SignOff.proposal_id == p.id, SignOff.decision == "reject")
                .order_by(SignOff.signed_at)
            )
            if s.reason
        ]
    else:
        ev = state_event(p)
        reasons = [ev.reason] if ev is not None and ev.reason else []
        if ev is not None and ev.action == "lapse_request" and not reasons:
            reasons = [_("Die Nachforderung wurde nicht fristgerecht beantwortet.")]
    return reasons or [_("Keine Begründung erfasst.")]


def _rejection(p: Proposal, lang: str) -> Document:
    ev = state_event(p)
    at = (ev.at if ev is not None else None) or p.decided_at or p.updated_at
    excluded = p.state == ProposalState.INELIGIBLE
    title = _("Ausschluss Ihres Angebots") if excluded else _("Ablehnung Ihres Angebots")
    doc = _letter(p, lang, title, at)
    doc.add(*_paragraphs("rejection.txt", p=p, call=p.call, lang=lang, excluded=excluded))
    doc.add(Heading(_("Gründe"), 2))
    doc.add(*[Para(r) for r in rejection_reasons(p)])
    if (until := reasons_until(p)) is not None:
        doc.add(
            Para(
                _(
                    "Die ausführlichen Gründe der Entscheidung können Sie bis %(when)s auf der Seite Ihres "
                    "Angebots in foerdercall erfragen; wir antworten innerhalb von 15 Tagen.",
                    when=format_dt(until, lang),
                )
            )
        )
    doc.add(Heading(_("Rechtsbehelfsbelehrung"), 2))
    doc.add(*_remedies(p.call, lang))
    return doc


def _remedies(call: Call, lang: str) -> list[Para]:
    name = "remedies_procurement.txt" if call.mode == "procurement" else "remedies_grant.txt"
    return _paragraphs(name, call=call, lang=lang, above_eu_threshold=_above_eu_threshold(call))


def _award(p: Proposal, lang: str) -> Document:
    a = award_for(p)
    assert a is not None  # existing_kinds
    call = p.call
    grant = call.mode == "grant"
    title = _("Zuwendungsbescheid") if grant else _("Zuschlagsschreiben")
    doc = _letter(p, lang, title, a.awarded_at)
    doc.add(
        *_paragraphs(
            "award_grant.txt" if grant else "award_procurement.txt",
            p=p,
            call=call,
            lang=lang,
            amount=format_money(a.amount_cents, lang),
            accept_by=format_dt(a.accept_by, lang),
        )
    )
    if grant and call.grant_conditions:
        doc.add(Heading(_("Nebenbestimmungen"), 2))
        doc.add(*[Para(part.strip()) for part in call.grant_conditions.split("\n\n") if part.strip()])
    if a.accepted_at is not None:
        period = f"{format_date(a.accepted_at, lang)} – {format_date(a.implementation_ends_at, lang)}"
    else:
        period = _("%(months)s Monate ab Annahme", months=call.implementation_months)
    doc.add(
        Facts(
            [
                (
                    _("Zuwendungsbetrag") if grant else _("Auftragssumme (netto)"),
                    format_money(a.amount_cents, lang),
                ),
                (_("Annahme bis"), format_dt(a.accept_by, lang)),
                (_("Umsetzungszeitraum"), period),
                (_("Handlungsfeld"), _field(p)),
            ]
        )
    )
    if a.accepted_at is not None:
        doc.add(Para(_("Angenommen am %(at)s.", at=format_dt(a.accepted_at, lang)), small=True))
    if grant:
        doc.add(Heading(_("Rechtsbehelfsbelehrung"), 2))
        doc.add(*_remedies(call, lang))
    return doc


# --- the award record (Vergabevermerk) ----------------------------------------------------------------------


@dataclass
class Ranked:
    proposal: Proposal
    total: float | None  # weighted, 0–100
    fundable: bool
    position: int | None  # None: not (yet) scored
    tie: str = ""  # an equal total with a neighbour: how the order came about (ranking.service.tie_note)
    tie_by: str | None = None  # a criterion's name, "decision" or "lot" (ranking.service.Row.tie_by)
    tie_open: bool = False
    criteria: list[float | None] | None = None  # aggregated score per criterion (the call's mean or median)


def ranking(call: Call) -> list[Ranked]:
    """Every submitted proposal of the call in ranking order: the ranking service's order and totals
    (foerdercall.ranking.service.compute_ranking: weights, aggregation, knock-outs, tie rule), then the
    proposals without a rank (not reviewed, excluded) by file number."""
    rows = db.session.scalars(
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
        .order_by(Proposal.file_seq)
    ).all()
    by_id = {p.id: p for p in rows}
    out = [
        Ranked(
            by_id[r.proposal_id],
            r.total,
            r.fundable,
            r.rank,
            tie_note(r),
            r.tie_by,
            r.tie_open,
            list(r.criteria),
        )
        for r in compute_ranking(call).rows
        if r.proposal_id in by_id and r.rank is not None
    ]
    seen = {r.proposal.id for r in out}
    return out + [Ranked(p, None, False, None) for p in rows if p.id not in seen]


def _proposal_record(p: Proposal, lang: str) -> Document:
    doc = Document(
        title=_("Vergabevermerk"),
        lang=lang,
        issued_at=_record_time(p),
        sender=_letterhead(p.call, lang),
        footer=_footer(),
        eu_statement=eu_statement(p.call, lang),
    )
    doc.add(*_call_section(p.call, lang))
    ranked = ranking(p.call)
    doc.add(*_proposal_section(p, lang, ranked, audit=True))
    return doc


def _record_time(p: Proposal) -> dt.datetime:
    last = db.session.scalar(
        select(AuditEvent.at).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.at.desc()).limit(1)
    )
    return last or p.updated_at


def _call_section(call: Call, lang: str) -> list:
    blocks = [
        Heading(_("Aufruf")),
        Facts(
            [
                (_("Aufruf"), f"{call.title} ({call.code})"),
                (_("Version"), str(call.version)),
                (_("Vergabeart"), _mode_label(call)),
                (_("Rechtsgrundlage"), call.legal_regime or "–"),
                (_("Verfahrensart"), call.procedure_type or "–"),
                (_("Begründung der Verfahrenswahl"), call.procedure_reason or "–"),
                (_("Geschätzter Auftragswert (netto)"), format_money(call.estimated_value_cents, lang)),
                (_("Budget"), format_money(call.budget_cents, lang)),
                (_("Obergrenze je Maßnahme"), format_money(call.max_amount_cents, lang)),
                (_("Einreichungsfrist"), format_dt(call.submission_deadline, lang)),
            ]
        ),
    ]
    blocks.append(Heading(_("Auswahlkriterien und Gewichtung"), 2))
    blocks.append(
        Table(
            [_("Kriterium"), _("Gewicht"), _("K.-o.-Minimum")],
            [
                [c.name, f"{c.weight} %", str(c.knockout_min) if c.knockout_min is not None else "–"]
                for c in call.criteria
            ],
            (62, 14, 24),
        )
    )
    blocks.append(
        Para(
            _(
                "Skala 0 bis %(max)s. Förderfähig ab %(min)s von 100 Punkten.",
                max=call.scale_max,
                min=call.min_total,
            )
        )
    )
    return blocks


def _score(value: float | None) -> str:
    return format_number(value, 2)


def _proposal_section(p: Proposal, lang: str, ranked: list[Ranked], *, audit: bool) -> list:
    call = p.call
    entry = next((r for r in ranked if r.proposal.id == p.id), None)
    result = score_proposal(p)  # the criteria's means and spreads
    total = entry.total if entry is not None and entry.position is not None else result.total
    fundable = entry.fundable if entry is not None and entry.position is not None else result.fundable
    ranked_values = entry.criteria if entry is not None and entry.criteria is not None else None
    values = [
        ranked_values[i] if ranked_values is not None else c.mean for i, c in enumerate(result.criteria)
    ]
    knocked = [
        c.criterion.knockout_min is not None and v is not None and v < c.criterion.knockout_min
        for c, v in zip(result.criteria, values, strict=True)
    ]
    reviewed_count = sum(1 for r in ranked if r.position is not None)
    if entry is not None and entry.position is not None:
        position = _("Rang %(pos)s von %(n)s", pos=entry.position, n=reviewed_count)
        if entry.tie:
            position += f" ({entry.tie})"
    else:
        position = _("nicht gereiht")
    blocks = [
        Heading(_("Angebot %(ref)s", ref=p.label())),
        Facts(
            [
                (_("Titel"), p.title or "–"),
                (_("Antragsteller/in"), applicant_label(p)),
                (_("Handlungsfeld"), _field(p)),
                (_("Eingang"), format_dt(p.submitted_at, lang, seconds=True)),
                (_amount_label(p, lang), format_money(p.requested_amount_cents, lang)),
                (_("Status"), state_label("proposal", p.state, lang)),
                (_("Gesamtpunktzahl"), f"{_score(total)} / 100" if total is not None else "–"),
                (_("Rangfolge"), position),
                (
                    _("Förderfähig"),
                    _("ja")
                    if fundable
                    else (
                        _("nein") + (" (" + _("K.-o.-Kriterium nicht erfüllt") + ")" if any(knocked) else "")
                    ),
                ),
            ]
        ),
    ]
    if result.reviews:
        median = ranked_values is not None and getattr(call, "score_aggregation", "mean") == "median"
        rows = [
            [
                c.criterion.name,
                f"{c.criterion.weight} %",
                _score(v) + (" (K.-o.)" if ko else ""),
                str(c.spread) if c.spread is not None else "–",
            ]
            for c, v, ko in zip(result.criteria, values, knocked, strict=True)
        ]
        blocks.append(
            Table(
                [_("Kriterium"), _("Gewicht"), _("Median") if median else _("Mittel"), _("Spannweite")],
                rows,
                (60, 12, 14, 14),
            )
        )
    reviews = db.session.scalars(select(Review).where(Review.proposal_id == p.id).order_by(Review.id)).all()
    blocks.append(Heading(_("Gutachten"), 2))
    if not reviews:
        blocks.append(Para(_("Keine Gutachten.")))
    for r in reviews:
        when = format_dt(r.submitted_at, lang) if r.submitted_at else _("offen")
        blocks.append(
            Para(_("Gutachter/in: %(name)s – abgegeben: %(at)s", name=r.reviewer.name, at=when), bold=True)
        )
        if r.submitted_at:
            by_c = {s.criterion_id: s for s in r.scores}
            rows = []
            for c in call.criteria:
                s = by_c.get(c.id)
                score = "–" if s is None else (str(s.score) if s.score is not None else _("nicht anwendbar"))
                rows.append([c.name, score, s.justification if s is not None else ""])
            blocks.append(Table([_("Kriterium"), _("Punkte"), _("Begründung")], rows, (35, 10, 55)))
    conflicts = db.session.scalars(
        select(ConflictDeclaration)
        .where(ConflictDeclaration.proposal_id == p.id)
        .order_by(ConflictDeclaration.declared_at)
    ).all()
    blocks.append(Heading(_("Erklärungen zu Interessenkonflikten"), 2))
    if conflicts:
        blocks.append(
            Table(
                [_("Person"), _("Erklärung"), _("Begründung"), _("Zeit")],
                [
                    [
                        c.user.name,
                        _("Konflikt") if c.has_conflict else _("kein Konflikt"),
                        c.reason or "–",
                        format_dt(c.declared_at, lang),
                    ]
                    for c in conflicts
                ],
                (25, 18, 35, 22),
            )
        )
    else:
        blocks.append(Para(_("Keine Erklärungen.")))
    signs = db.session.scalars(
        select(SignOff).where(SignOff.proposal_id == p.id).order_by(SignOff.signed_at)
    ).all()
    blocks.append(Heading(_("Zeichnungen der Ämter"), 2))
    if signs:
        blocks.append(
            Table(
                [_("Amt"), _("Name"), _("Entscheidung"), _("Zeit"), _("Begründung")],
                [
                    [
                        office_label(s.office),
                        s.user.name,
                        (_("Zustimmung") if s.decision == "approve" else _("Ablehnung"))
                        + (
                            " – "
                            + _(
                                "ungültig seit %(when)s (Entscheidung wieder geöffnet)",
                                when=format_dt(s.voided_at, lang),
                            )
                            if s.voided_at
                            else ""
                        ),
                        format_dt(s.signed_at, lang),
                        s.reason or "–",
                    ]
                    for s in signs
                ],
                (12, 22, 16, 22, 28),
            )
        )
    else:
        blocks.append(Para(_("Noch keine Zeichnung.")))
    blocks += _standstill_blocks(p, lang)
    if (rr := reason_request_of(p)) is not None:
        blocks.append(Heading(_("Gründe auf Antrag"), 2))
        blocks.append(
            Facts(
                [
                    (_("Angefragt"), format_dt(rr.requested_at, lang)),
                    (_("Frage"), rr.question or "–"),
                    (
                        _("Beantwortet"),
                        f"{format_dt(rr.answered_at, lang)}, {rr.answered_by.name}"
                        if rr.answered_at and rr.answered_by
                        else _("offen, fällig %(when)s", when=format_dt(rr.due_at, lang)),
                    ),
                    (_("Antwort"), rr.answer or "–"),
                ]
            )
        )
    a = award_for(p)
    if a is not None:
        blocks.append(Heading(_("Zuschlag"), 2))
        blocks.append(
            Facts(
                [
                    (_("Auftragssumme (netto)"), format_money(a.amount_cents, lang)),
                    (_("Erteilt"), f"{format_dt(a.awarded_at, lang)}, {a.awarded_by.name}"),
                    (_("Annahme bis"), format_dt(a.accept_by, lang)),
                    (_("Angenommen"), format_dt(a.accepted_at, lang) if a.accepted_at else "–"),
                    (
                        _("Umsetzung bis"),
                        format_dt(a.implementation_ends_at, lang) if a.implementation_ends_at else "–",
                    ),
                    (_("Ausgezahlt"), format_money(a.paid_cents, lang)),
                ]
            )
        )
        blocks += _money_blocks(p, a, lang)
    if audit:
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        blocks.append(Heading(_("Verlauf"), 2))
        blocks.append(
            Table(
                [_("Zeit"), _("Wer"), _("Amt"), _("Schritt"), _("Status"), _("Begründung")],
                [
                    [
                        format_dt(e.at, lang, seconds=True),
                        event_actor(e, p),
                        office_label(e.actor_office),
                        action_label(e.action, lang),
                        _state_change(e, lang),
                        event_reason(e, p) or "",
                    ]
                    for e in events
                ],
                (18, 16, 8, 20, 20, 18),
            )
        )
    return blocks


def _money_blocks(p: Proposal, a, lang: str) -> list:
    """The money of the award: each payment (its tranche and invoice), each drawdown of a grant, each claim back."""
    blocks: list = []
    payments = [pay for pay in a.payments if pay.state == PaymentState.PAID]
    if payments:
        blocks.append(Heading(_("Zahlungen"), 2))
        blocks.append(
            Table(
                [_("Gezahlt am"), _("Betrag"), _("Rechnung / Buchung"), _("Vermerk")],
                [
                    [
                        format_dt(pay.paid_at, lang),
                        format_money(pay.amount_cents, lang),
                        " / ".join(x for x in (pay.invoice, pay.reference or "") if x) or "–",
                        pay.note or "–",
                    ]
                    for pay in payments
                ],
                (22, 18, 28, 32),
            )
        )
    if drawdowns := drawdowns_of(p):
        blocks.append(Heading(_("Mittelabrufe"), 2))
        blocks.append(
            Table(
                [_("Angefordert"), _("Betrag"), _("Zweck"), _("Ergebnis")],
                [
                    [
                        format_dt(d.requested_at, lang),
                        format_money(d.amount_cents, lang),
                        " – ".join(x for x in (d.cost_item, d.purpose) if x) or "–",
                        state_label("drawdown", d.state, lang) + (f": {d.refusal}" if d.refusal else ""),
                    ]
                    for d in drawdowns
                ],
                (22, 18, 34, 26),
            )
        )
    if claims := claims_of(p):
        blocks.append(Heading(_("Rückforderungen"), 2))
        blocks.append(
            Table(
                [_("Erhoben"), _("Betrag"), _("Begründung"), _("Zurückgezahlt")],
                [
                    [
                        format_dt(c.claimed_at, lang),
                        format_money(c.amount_cents, lang),
                        c.reason,
                        format_dt(c.repaid_at, lang) if c.repaid_at else _("offen"),
                    ]
                    for c in claims
                ],
                (22, 18, 38, 22),
            )
        )
    return blocks


def _standstill_blocks(p: Proposal, lang: str) -> list:
    """Each standstill of the proposal with its objection and outcome (an upheld one reopened the decision)."""
    standstills = db.session.scalars(
        select(Standstill).where(Standstill.proposal_id == p.id).order_by(Standstill.id)
    ).all()
    if not standstills:
        return []
    rows = []
    for st in standstills:
        if st.objection_at is None:
            outcome = _("kein Einwand")
        elif st.resolved_at is None:
            outcome = _("offen")
        else:
            outcome = (
                _("abgeholfen am %(when)s", when=format_dt(st.resolved_at, lang))
                if st.objection_outcome == "upheld"
                else _("zurückgewiesen am %(when)s", when=format_dt(st.resolved_at, lang))
            ) + f": {st.resolution}"
        rows.append(
            [
                f"{format_dt(st.started_at, lang)} – {format_dt(st.ends_at, lang)}",
                st.objection or "–",
                outcome,
                format_dt(st.closed_at, lang) if st.closed_at else "–",
            ]
        )
    return [
        Heading(_("Stillhaltefrist und Einwände"), 2),
        Table(
            [_("Frist"), _("Einwand"), _("Ergebnis"), _("Entscheidung wieder geöffnet")],
            rows,
            (24, 28, 30, 18),
        ),
    ]


def _tie_blocks(call: Call, lang: str, ranked: list[Ranked], readable) -> list:
    """Each tie of the totals and how it was resolved: by a published criterion, by the offices' decision (its
    reason and who agreed, when), by lots (the seed, who drew and who witnessed), or not yet; a proposed order
    that an office refused, with its reason, too."""
    numbers = {r.proposal.id: r.proposal.label() for r in ranked}
    blocks: list = [Heading(_("Gleichstände"), 2)]
    by_note: dict[str, list[str]] = {}
    for r in ranked:
        if r.tie and r.tie_by not in (None, "decision", "lot") and not r.tie_open and readable(r.proposal):
            by_note.setdefault(r.tie, []).append(r.proposal.label())
    for note, labels in by_note.items():
        blocks.append(Para(f"{', '.join(labels)}: {note}"))
    for tb in tie_breaks_of(call):
        if not all(readable(r.proposal) for r in ranked if r.proposal.id in tb.members):
            blocks.append(Para(_("Ein Gleichstand mit einem Angebot, das Sie nicht sehen dürfen.")))
            continue
        method = _("Losentscheid") if tb.method == "lot" else _("Entscheidung der Ämter")
        order = ", ".join(f"{n}. {numbers.get(pid, pid)}" for n, pid in enumerate(tb.ranked, start=1))
        members = ", ".join(numbers.get(pid, str(pid)) for pid in tb.members)
        blocks.append(
            Para(f"{members}: {method} – {order} ({state_label('tie', tb.state, lang)})", bold=True)
        )
        facts = []
        if tb.reason:
            facts.append((_("Begründung"), tb.reason))
        if tb.seed:
            facts.append((_("Zufallswert (Saat)"), tb.seed))
        facts.append(
            (
                _("Gezogen bzw. bezeugt") if tb.method == "lot" else _("Vorgeschlagen bzw. zugestimmt"),
                "; ".join(
                    f"{s['name']} ({office_label(s['office'])}), "
                    f"{format_dt(dt.datetime.fromisoformat(s['at']), lang)}"
                    for s in tb.signatures or []
                ),
            )
        )
        if tb.refusal:
            facts.append((_("Nicht zugestimmt"), tb.refusal))
        blocks.append(Facts(facts))
    open_ties = {r.proposal.label() for r in ranked if r.tie_open}
    if open_ties:
        blocks.append(Para(_("Noch nicht entschieden: %(list)s", list=", ".join(sorted(open_ties)))))
    return blocks


def _state_change(e: AuditEvent, lang: str) -> str:
    if not e.to_state or e.from_state == e.to_state or e.object_type != "proposals":
        return ""
    before = state_label("proposal", e.from_state, lang) if e.from_state else ""
    return f"{before} → {state_label('proposal', e.to_state, lang)}"


def build_call_record(call: Call, reader, lang: str, readable) -> bytes:
    """The Vergabevermerk of a call: the call, criteria, opening, neutrality, the ranking and each
    proposal's reviews, conflicts and sign-offs. `readable(p)`: whether the reader may see that proposal
    (a conflicted official sees only its file number)."""
    with force_locale(lang):
        ranked = ranking(call)
        last = db.session.scalar(
            select(AuditEvent.at).where(AuditEvent.call_id == call.id).order_by(AuditEvent.at.desc()).limit(1)
        )
        doc = Document(
            title=_("Vergabevermerk"),
            lang=lang,
            issued_at=last or call.created_at,
            sender=_letterhead(call, lang),
            footer=_footer(),
            eu_statement=eu_statement(call, lang),
        )
        doc.add(*_call_section(call, lang))
        o = call.opening
        doc.add(Heading(_("Öffnung der Angebote"), 2))
        if o is not None:
            doc.add(
                Facts(
                    [
                        (_("Angestoßen"), f"{format_dt(o.requested_at, lang)}, {_name(o.requested_by_id)}"),
                        (
                            _("Bestätigt"),
                            f"{format_dt(o.confirmed_at, lang)}, {_name(o.confirmed_by_id)}"
                            if o.confirmed_at
                            else "–",
                        ),
                    ]
                )
            )
        else:
            doc.add(Para(_("Keine Öffnung (Zuwendung).") if call.mode == "grant" else "–"))
        neutrality = db.session.scalars(
            select(NeutralityDeclaration)
            .where(NeutralityDeclaration.call_id == call.id)
            .order_by(NeutralityDeclaration.signed_at)
        ).all()
        doc.add(Heading(_("Neutralitätserklärungen"), 2))
        doc.add(
            Table(
                [_("Person"), _("Funktion"), _("Zeit")],
                [[_name(n.user_id), _function(n.user_id), format_dt(n.signed_at, lang)] for n in neutrality],
                (40, 35, 25),
            )
            if neutrality
            else Para(_("Keine Erklärungen."))
        )
        doc.add(Heading(_("Rangfolge")))
        rows = []
        for r in ranked:
            p = r.proposal
            if not readable(p):
                rows.append(["–", p.label(), _("Interessenkonflikt – nicht angezeigt"), "–", "–", "–"])
                continue
            a = award_for(p)
            rows.append(
                [
                    str(r.position) + ("*" if r.tie else "") if r.position else "–",
                    p.label(),
                    p.title,
                    _score(r.total),
                    state_label("proposal", p.state, lang),
                    format_money(a.amount_cents, lang) if a else "–",
                ]
            )
        doc.add(
            Table(
                [_("Rang"), _("Aktenzeichen"), _("Titel"), _("Punkte"), _("Status"), _("Zuschlag")],
                rows,
                (8, 16, 36, 10, 16, 14),
            )
        )
        if any(r.tie for r in ranked):
            doc.add(
                Para(
                    "* "
                    + _(
                        "Gleichstand bei der Gesamtpunktzahl: wie er entschieden wurde, steht unter „Gleichstände“."
                    ),
                    small=True,
                )
            )
            doc.add(*_tie_blocks(call, lang, ranked, readable))
        for r in ranked:
            if readable(r.proposal):
                doc.add(*_proposal_section(r.proposal, lang, ranked, audit=False))
        doc.add(
            Para(
                _("Den vollständigen Verlauf jedes Angebots enthält dessen eigener Vergabevermerk."),
                small=True,
            )
        )
    return render(doc)
