"""The publication checklist of a call: every point with pass or fail and, for a failed one, what to fix.

The call's detail page shows it above the publish button while the call is a draft; the ``publish`` transition's
condition ``publication_checklist`` refuses with every failed point at once. A point is a function in
:data:`CHECKS`: (name, what is checked, the check: None when it holds, else what to fix). A new point is one line
there (a condition of conditions.py fits as it is: it takes the Context and answers None or the message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateNotFound
from sqlalchemy import select

from ..extensions import db
from ..i18n import format_dt
from ..mailtemplates.models import MailTemplate
from ..timeutil import minute_end, now
from .conditions import below_eu_threshold, condition, offices_named
from .context import Context

# the outcome mails every decided proposal gets, each in every language of the UI
DECISION_MAILS = ("award", "rejection", "ineligible")
MAIL_LANGS = ("de", "en")


def weights_sum_to_100(ctx: Context) -> str | None:
    call = ctx.obj
    if not call.criteria:
        return _("Der Aufruf braucht einen Kriterienkatalog: bitte legen Sie mindestens ein Kriterium an.")
    total = sum(c.weight for c in call.criteria)
    if total != 100:
        return _(
            "Die Gewichte der Kriterien ergeben %(total)s %% statt 100 %%: bitte gleichen Sie sie an.",
            total=total,
        )
    return None


def knockouts_on_scale(ctx: Context) -> str | None:
    call = ctx.obj
    wrong = [
        str(n)
        for n, c in enumerate(call.criteria, start=1)
        if c.knockout_min is not None and not 0 <= c.knockout_min <= call.scale_max
    ]
    if wrong:
        return _(
            "Das K.-o.-Minimum von Kriterium %(rows)s liegt nicht auf der Skala 0 bis %(max)s.",
            rows=", ".join(wrong),
            max=call.scale_max,
        )
    return None


def field_of_action_chosen(ctx: Context) -> str | None:
    if not ctx.obj.fields_of_action:
        return _("Bitte wählen Sie mindestens ein Handlungsfeld.")
    return None


def dates_in_order(ctx: Context) -> str | None:
    call = ctx.obj
    problems = []
    if call.opens_at >= call.submission_deadline:
        problems.append(_("Der Beginn der Einreichung muss vor der Frist liegen."))
    if minute_end(call.submission_deadline) <= ctx.now:
        problems.append(_("Die Einreichungsfrist muss in der Zukunft liegen."))
    if call.review_deadline is not None and call.review_deadline <= call.submission_deadline:
        problems.append(
            _(
                "Die Frist für Gutachten muss nach der Einreichungsfrist (%(deadline)s) liegen.",
                deadline=format_dt(call.submission_deadline),
            )
        )
    return " ".join(problems) or None


def budget_and_cap(ctx: Context) -> str | None:
    call = ctx.obj
    if call.budget_cents <= 0:
        return _("Bitte geben Sie das Budget des Aufrufs an.")
    if not 0 < call.max_amount_cents <= call.budget_cents:
        return _("Die Obergrenze je Maßnahme muss größer als 0 sein und darf das Budget nicht übersteigen.")
    return None


def privacy_notice_checked(ctx: Context) -> str | None:
    if ctx.obj.privacy_checked_at is None:
        return _(
            "Die Datenschutzhinweise sind noch nicht als von der oder dem Datenschutzbeauftragten geprüft "
            "markiert: bitte lassen Sie sie prüfen und markieren Sie sie dann hier."
        )
    return None


def _builtin_mail(kind: str) -> bool:
    try:
        current_app.jinja_env.get_template(f"mail/{kind}.txt")
    except TemplateNotFound:
        return False
    return True


def decision_mails_exist(ctx: Context) -> str | None:
    """Each decision mail has a text in each language for every proposal: the built-in file template (the
    outbox's fallback, mailtemplates.operations.choose_template), or else the call's own active template
    without a rule (state and field of action "any"). A template for some states or fields only, or one that
    was never previewed and activated, leaves proposals without a text."""
    call = ctx.obj
    rows = _active_catch_all(call.id)
    missing = [
        f"{kind} ({lang})"
        for kind in DECISION_MAILS
        for lang in MAIL_LANGS
        if not _builtin_mail(kind) and (kind, lang) not in rows
    ]
    if missing:
        return _(
            "Es fehlt der Text dieser Entscheidungsmails: %(mails)s. Bitte legen Sie unter „Mail-Vorlagen“ "
            "eine Vorlage ohne Einschränkung an und aktivieren Sie sie.",
            mails=", ".join(missing),
        )
    return None


def _active_catch_all(call_id: int) -> set[tuple[str, str]]:
    return {
        (kind, lang)
        for kind, lang in db.session.execute(
            select(MailTemplate.kind, MailTemplate.lang).where(
                MailTemplate.call_id == call_id,
                MailTemplate.active.is_(True),
                MailTemplate.active_version > 0,
                MailTemplate.state == "",
                MailTemplate.field_of_action == "",
            )
        ).all()
    }


Check = Callable[[Context], str | None]

# (name, what is checked, the check): in the order the page lists them
CHECKS: list[tuple[str, object, Check]] = [
    ("weights", _l("Die Gewichte der Kriterien ergeben 100 %"), weights_sum_to_100),
    ("knockouts", _l("Jedes K.-o.-Minimum liegt auf der Bewertungsskala"), knockouts_on_scale),
    ("fields_of_action", _l("Mindestens ein Handlungsfeld ist gewählt"), field_of_action_chosen),
    ("offices", _l("Die entscheidenden Ämter sind benannt"), offices_named),
    ("dates", _l("Die Fristen sind in der richtigen Reihenfolge und in der Zukunft"), dates_in_order),
    ("budget", _l("Budget und Obergrenze je Maßnahme passen zusammen"), budget_and_cap),
    ("eu_threshold", _l("Der geschätzte Auftragswert liegt unter dem EU-Schwellenwert"), below_eu_threshold),
    (
        "privacy",
        _l("Die Datenschutzhinweise sind von der oder dem Datenschutzbeauftragten geprüft"),
        privacy_notice_checked,
    ),
    (
        "mails",
        _l("Die Entscheidungsmails (Zuschlag, Absage, Ausschluss) haben einen Text"),
        decision_mails_exist,
    ),
]


@dataclass(frozen=True)
class Point:
    name: str
    label: str
    problem: str | None  # what to fix; None: the point holds

    @property
    def ok(self) -> bool:
        return self.problem is None


def checklist(call, at=None) -> list[Point]:
    """Every point of the publication checklist for the call, in order, each with its answer."""
    ctx = Context(obj=call, actor=None, now=at or now(), firing=False)
    return [Point(name, str(label), check(ctx)) for name, label, check in CHECKS]


@condition
def publication_checklist(ctx: Context):
    """The publish transition's condition: every failed point at once, numbered."""
    failed = [p for p in checklist(ctx.obj, ctx.now) if not p.ok]
    if failed:
        return _(
            "Vor der Veröffentlichung ist noch zu erledigen: %(points)s",
            points=" ".join(f"({n}) {p.problem}" for n, p in enumerate(failed, start=1)),
        )
    return None
