"""Demo data modelled on Leipzig's 2011 call: one account per role, a call open for submissions, and a
second call whose proposals stand in several states (built through the real operations, with the clock
moved, so every history entry and mail is what the process would have written)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from sqlalchemy import select

from . import timeutil
from .accounts.models import User
from .accounts.operations import create_user
from .awards.models import Milestone, Report
from .awards.operations import (
    accept_milestone,
    make_award,
    report_milestone,
    review_interim_report,
    sign_off,
    submit_interim_report,
)
from .calls.models import Call
from .calls.operations import confirm_opening, create_call, mark_privacy_checked, request_opening
from .extensions import db
from .offices.operations import save_office
from .proposals.operations import add_attachment, save_draft, start_draft
from .reviews.models import Review
from .reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from .workflow.engine import fire

ACCOUNTS = [
    # (label, email, name, roles, office)
    ("Admin", "admin@foerdercall.example", "Anna Admin", ("admin",), None),
    ("Official KA", "ka@foerdercall.example", "Karla Kulturamt", ("official",), "KA"),
    ("Official KA (2nd, opening)", "ka2@foerdercall.example", "Konrad Kulturamt", ("official",), "KA"),
    ("Official AfWiFö", "afwifoe@foerdercall.example", "Wolfgang Wirtschaft", ("official",), "AfWiFoe"),
    ("Reviewer 1", "reviewer1@foerdercall.example", "Rita Gutachterin", ("reviewer",), None),
    ("Reviewer 2", "reviewer2@foerdercall.example", "Rolf Gutachter", ("reviewer",), None),
    ("Advisor (Kontaktstelle)", "advisor@foerdercall.example", "Carolin Kontaktstelle", ("advisor",), None),
    ("Applicant", "applicant@foerdercall.example", "Ada Antragstellerin", ("applicant",), None),
    ("Applicant 2", "applicant2@foerdercall.example", "Bruno Kreativ", ("applicant",), None),
    ("Official Jugendamt", "jugendamt@foerdercall.example", "Jana Jugendamt", ("official",), "JA"),
]

# A third office, and a call it decides with the Kulturamt: another office, grant mode, its own fields of action,
# criteria and questions, attachments among them. Nothing in the code names it.
YOUTH_OFFICE = {
    "key": "JA",
    "short_name": "Jugendamt",
    "name": "Amt für Jugend und Familie",
    "head_name": "Dr. Erika Muster",
    "email": "jugendamt@leipzig.example",
    "address": "Naumburger Straße 26, 04229 Leipzig",
}


def _t(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


def _q(key: str, kind: str, de: str, en: str, **options) -> dict:
    return {"key": key, "type": kind, "label": _t(de, en), "required": True, "personal": False, **options}


# The youth call's own questions: other than the creative-economy call's, with a cost plan and a declaration.
YOUTH_FORM = {
    "sections": [
        {
            "key": "project",
            "title": _t("Ihr Projekt", "Your project"),
            "questions": [
                _q("title", "short_text", "Name des Projekts", "Project name", role="title", max_length=200),
                _q("field_of_action", "single_choice", "Schwerpunkt", "Focus", role="field_of_action"),
                _q(
                    "idea",
                    "long_text",
                    "Was haben die Jugendlichen vor?",
                    "What are the young people planning?",
                    max_length=4000,
                    help=_t(
                        "Bitte in einfachen Worten, gern von den Jugendlichen selbst.", "In plain words."
                    ),
                ),
                _q(
                    "age_groups",
                    "multiple_choice",
                    "Altersgruppen",
                    "Age groups",
                    choices=[
                        {"key": "a12", "label": _t("12 bis 15 Jahre", "12 to 15 years")},
                        {"key": "a16", "label": _t("16 bis 20 Jahre", "16 to 20 years")},
                        {"key": "a21", "label": _t("21 bis 27 Jahre", "21 to 27 years")},
                    ],
                ),
                _q(
                    "participants",
                    "number",
                    "Erwartete Teilnehmende",
                    "Expected participants",
                    min=1,
                    max=500,
                    integer=True,
                ),
                _q("start", "date", "Beginn des Projekts", "Start of the project"),
                {
                    **_q(
                        "contact", "short_text", "Ansprechperson im Träger", "Contact person", max_length=200
                    ),
                    "personal": True,
                },
            ],
        },
        {
            "key": "money",
            "title": _t("Kosten und Finanzierung", "Costs and funding"),
            "questions": [
                _q(
                    "cost_plan",
                    "table",
                    "Kostenplan",
                    "Cost plan",
                    role="cost_plan",
                    min_rows=1,
                    max_rows=30,
                    columns=[
                        {
                            "key": "item",
                            "type": "short_text",
                            "label": _t("Posten", "Item"),
                            "required": True,
                        },
                        {
                            "key": "amount",
                            "type": "money",
                            "label": _t("Betrag (€)", "Amount (€)"),
                            "required": True,
                        },
                    ],
                ),
                _q(
                    "requested_amount",
                    "money",
                    "Beantragte Zuwendung (€)",
                    "Grant requested (€)",
                    role="amount",
                ),
                _q(
                    "youth_welfare",
                    "declaration",
                    "Wir sind ein anerkannter Träger der freien Jugendhilfe oder arbeiten mit einem zusammen.",
                    "We are a recognised youth-welfare organisation or work with one.",
                ),
            ],
        },
        {
            "key": "schedule",
            "title": _t("Zeitplan", "Schedule"),
            "questions": [
                _q(
                    "milestones",
                    "table",
                    "Meilensteine (daraus werden die Meilensteine der Förderung)",
                    "Milestones (they become the milestones of the grant)",
                    help=_t(
                        "Je Meilenstein: was bis wann erreicht ist und welcher Anteil der Zuwendung dafür vorgesehen "
                        "ist; die Anteile ergeben zusammen 100 %.",
                        "Per milestone: what is reached by when and which share of the grant it takes; the shares "
                        "add up to 100 %.",
                    ),
                    role="milestone_plan",
                    min_rows=1,
                    max_rows=6,
                    columns=[
                        {
                            "key": "title",
                            "type": "short_text",
                            "label": _t("Meilenstein", "Milestone"),
                            "required": True,
                        },
                        {"key": "due", "type": "date", "label": _t("Fällig am", "Due on"), "required": True},
                        {
                            "key": "share",
                            "type": "number",
                            "label": _t("Anteil (%)", "Share (%)"),
                            "required": True,
                        },
                    ],
                ),
            ],
        },
        {
            "key": "files",
            "title": _t("Anlagen", "Attachments"),
            "questions": [
                _q(
                    "statement",
                    "attachment",
                    "Erklärung des Trägers der freien Jugendhilfe (PDF)",
                    "Statement of the youth-welfare organisation (PDF)",
                ),
                {
                    **_q(
                        "references",
                        "attachment",
                        "Referenzen, Presse, Fotos früherer Projekte (PDF)",
                        "References, press, photos of earlier projects (PDF)",
                        max_files=3,
                    ),
                    "required": False,
                },
            ],
        },
    ]
}
YOUTH_CALL = {
    "code": "JK2027",
    "title": "Jugendkultur im Stadtteil 2027",
    "description": (
        "Zuwendungen für Projekte, in denen junge Menschen zwischen 12 und 27 Jahren in ihrem Stadtteil Kultur "
        "machen: Musik, Film, Theater, Gestaltung, Medien. Das Amt für Jugend und Familie und das Kulturamt "
        "entscheiden gemeinsam; gefördert wird als Zuwendung (Festbetrag) für höchstens zwölf Monate."
    ),
    "mode": "grant",
    "legal_regime": "Fachförderrichtlinie Jugendkultur der Stadt Leipzig, §§ 23, 44 SäHO",
    "procedure_type": "Förderaufruf (Zuwendung)",
    "fields_of_action": [
        {
            "key": "youth_culture",
            "de": "Jugendkultur im Stadtteil",
            "en": "Youth culture in the neighbourhoods",
        },
        {"key": "media_literacy", "de": "Medienbildung", "en": "Media literacy"},
    ],
    "deciding_offices": ["JA", "KA"],
    "application_form": YOUTH_FORM,
    "budget_cents": 40_000_00,
    "max_amount_cents": 8_000_00,
    "estimated_value_cents": 40_000_00,
    "implementation_months": 12,
    "milestone_plan": [
        {"de": "Auftakt mit den Jugendlichen", "en": "Kick-off with the young people", "month": 1},
        {"de": "Werkschau im Stadtteil", "en": "Showcase in the neighbourhood", "month": 6},
        {"de": "Abschlussveranstaltung", "en": "Closing event", "month": 11},
    ],
    "reviewers_per_proposal": 2,
    "criteria": [
        ("participation", "Beteiligung junger Menschen an Planung und Umsetzung", 35, 2),
        ("neighbourhood", "Wirkung im Stadtteil und Zugänglichkeit", 25, None),
        ("quality", "Künstlerische und pädagogische Qualität", 25, None),
        ("costs", "Angemessenheit der Kosten und Eigenleistung", 15, None),
    ],
}

DESCRIPTION = (
    "Einzelmaßnahmen zur Unterstützung von Initiativen und Projekten der lokalen Kreativwirtschaft "
    "(Lokaler Maßnahmenplan Leipzig, Creative Cities). Die Stadt Leipzig vergibt einzelne Maßnahmen als "
    "Aufträge; jede Maßnahme wird innerhalb eines Jahres umgesetzt. Kulturamt (KA) und Amt für "
    "Wirtschaftsförderung (AfWiFö) entscheiden gemeinsam. Beratung: Kontaktstelle Kreativwirtschaft."
)
DEMO_DEADLINE_MINUTES = 60
FIELDS = ["networks", "education", "marketing", "urban_development", "financing"]
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

# where each of PROPOSALS takes place, and what it plans (the default form's indicators)
IMPACT = [
    ("ot51", {"participants": 120, "events": 8, "enterprises": 15, "jobs": "2.5", "reach": 5000}),
    ("ot03", {"participants": 40, "events": 12, "enterprises": 20, "jobs": 4}),
    ("ot41", {"participants": 300, "events": 6, "reach": 20000, "follow_up_funding": 15000}),
    ("ot70", {"participants": 60, "events": 4, "enterprises": 10}),
    ("citywide", {"participants": 30, "events": 10, "follow_up_funding": 50000}),
]
PROPOSALS = [
    ("Kreativ-Netzwerk Plagwitz", "networks", 18_000_00, [5, 4, 4, 5, 3, 4]),
    ("Gründerwerkstatt Design", "education", 22_000_00, [4, 4, 3, 3, 3, 3]),
    ("Leipzig Sound Export", "marketing", 25_000_00, [3, 5, 4, 4, 2, 3]),
    ("Leerstand kreativ nutzen", "urban_development", 15_000_00, [4, 3, 2, 3, 5, 4]),
    ("Crowdfunding-Sprechstunde", "financing", 8_000_00, [2, 2, 1, 2, 2, 3]),
]


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _answers(title: str, field: str, amount: int) -> dict:
    return {
        "title": title,
        "field_of_action": field,
        "requested_amount_cents": amount,
        "summary": f"{title}: eine Maßnahme für die Leipziger Kreativwirtschaft.",
        "description": "Ausgangslage, Ziele, Zielgruppen und Vorgehen der Maßnahme.",
        "work_plan": "Monat 1–3: Vorbereitung; Monat 4–9: Durchführung; Monat 10–12: Auswertung.",
        "team": "Zwei erfahrene Akteure der Leipziger Kreativwirtschaft.",
        "leipzig_relation": "Durchführung in Leipziger Stadtteilen mit lokalen Partnern.",
    }


def load_demo(password: str) -> list[tuple[str, str]]:
    if db.session.scalar(select(User.id).where(User.email == ACCOUNTS[0][1])) is None:
        for i, (_label, email, name, roles, office) in enumerate(ACCOUNTS):
            user = create_user(
                email,
                name,
                password,
                roles=roles,
                office=office,
                organisation="Stadt Leipzig" if office else "",
            )
            if i == 0:  # the admin keeps the offices: the third one before its officials
                save_office(user, None, **YOUTH_OFFICE)
        db.session.commit()
    if db.session.scalar(select(Call.id).where(Call.code == "KW2011")) is None:
        _history_call()
        db.session.commit()
    if db.session.scalar(select(Call.id).where(Call.code == "KW-DEMO")) is None:
        _open_call()
        db.session.commit()
    if db.session.scalar(select(Call.id).where(Call.code == YOUTH_CALL["code"])) is None:
        _youth_call()
        db.session.commit()

    # End the transaction: on SQLite even the reads above began one with BEGIN IMMEDIATE (the writer's lock),
    # and left open it kept the server and its in-process worker from the database ("database is locked").
    db.session.commit()
    db.session.remove()
    return [(label, email) for label, email, *_ in ACCOUNTS]


def _youth_call() -> None:
    """Open for applications for two weeks: a grant call of the Jugendamt and the KA."""
    official = _user("jugendamt@foerdercall.example")
    now = timeutil.now()
    deadline = (timeutil.to_berlin(now) + dt.timedelta(days=14)).replace(
        hour=23, minute=59, second=0, microsecond=0
    )
    call = create_call(
        official,
        **YOUTH_CALL,
        opens_at=now - dt.timedelta(hours=1),
        submission_deadline=deadline.astimezone(dt.UTC),
        review_deadline=deadline.astimezone(dt.UTC) + dt.timedelta(days=21),
    )
    mark_privacy_checked(call, official)  # the officer checked the notice
    fire(call, "publish", official)


def _open_call() -> None:
    """A call open for submissions now, closing an hour after the demo was loaded: a newcomer can submit,
    then (after the deadline, which the worker enforces) take the proposal through opening, review,
    decision and implementation."""
    ka = _user("ka@foerdercall.example")
    now = timeutil.now()
    deadline = (timeutil.to_berlin(now) + dt.timedelta(minutes=DEMO_DEADLINE_MINUTES)).replace(
        second=0, microsecond=0
    )
    call = create_call(
        ka,
        code="KW-DEMO",
        title="Kreativwirtschaft Leipzig – Demo-Aufruf zum Ausprobieren",
        description=DESCRIPTION,
        fields_of_action=FIELDS,
        budget_cents=100_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=100_000_00,
        legal_regime="SächsVergabeG, VOL/A Abschnitt 1",
        procedure_type="Öffentliche Ausschreibung",
        procedure_reason="Regelverfahren unterhalb der EU-Schwelle",
        opens_at=now - dt.timedelta(hours=1),
        submission_deadline=deadline.astimezone(dt.UTC),
        review_deadline=now + dt.timedelta(days=14),
    )
    mark_privacy_checked(call, ka)  # the officer checked the notice
    fire(call, "publish", ka)


def _history_call() -> None:
    """The 2011-style call: submitted in the past, opened, reviewed, decided, partly implemented."""
    ka, ka2, afw = (
        _user(e) for e in ("ka@foerdercall.example", "ka2@foerdercall.example", "afwifoe@foerdercall.example")
    )
    reviewers = [_user("reviewer1@foerdercall.example"), _user("reviewer2@foerdercall.example")]
    applicants = [_user("applicant@foerdercall.example"), _user("applicant2@foerdercall.example")]
    real_now = timeutil.now()
    start = real_now - dt.timedelta(days=60)
    clock = {"t": start}
    before = timeutil.get_clock()  # a clock set around the demo (the tests') comes back afterwards
    timeutil.set_clock(lambda: clock["t"])
    try:
        call = create_call(
            ka,
            code="KW2011",
            title="Einzelmaßnahmen zur Unterstützung der lokalen Kreativwirtschaft",
            description=DESCRIPTION,
            fields_of_action=FIELDS,
            budget_cents=60_000_00,
            max_amount_cents=25_000_00,
            estimated_value_cents=60_000_00,
            legal_regime="SächsVergabeG, VOL/A Abschnitt 1",
            procedure_type="Öffentliche Ausschreibung",
            procedure_reason="Regelverfahren unterhalb der EU-Schwelle",
            opens_at=start,
            submission_deadline=start + dt.timedelta(days=20),
            review_deadline=start + dt.timedelta(days=40),
        )
        mark_privacy_checked(call, ka)  # the officer checked the notice
        fire(call, "publish", ka)
        proposals = []
        for i, (title, field, amount, _scores) in enumerate(PROPOSALS):
            clock["t"] = start + dt.timedelta(days=2 + i)
            applicant = applicants[i % 2]
            p = start_draft(call, applicant)
            save_draft(p, applicant, _answers(title, field, amount))
            place, targets = IMPACT[i]
            save_draft(p, applicant, {"answers": {**p.answers, "place": place, "targets": targets}})
            for q in call.form_definition.questions():
                if q.type == "attachment" and q.required:
                    add_attachment(p, applicant, q.key, io.BytesIO(PDF), f"{q.key}.pdf")
            fire(p, "submit", applicant)
            proposals.append(p)
        clock["t"] = start + dt.timedelta(days=21)
        fire(call, "close", None)
        request_opening(call, ka)
        confirm_opening(call, afw)
        clock["t"] = start + dt.timedelta(days=22)
        for r in (ka, afw, *reviewers):  # the officials who decide signed, as the reviewers did (ka2 not yet)
            sign_neutrality(call, r)
        for p in proposals[:-1]:
            fire(p, "declare_eligible", ka)
        for p in proposals[:-1]:
            for r in reviewers:
                assign_reviewer(p, r, ka)
            fire(p, "start_review", ka)
        clock["t"] = start + dt.timedelta(days=30)
        for p, (_t, _f, _a, scores) in zip(proposals[:-1], PROPOSALS, strict=False):
            for k, r in enumerate(reviewers):
                declare_conflict(p, r, False)
                review = db.session.scalars(
                    select(Review).where(Review.proposal_id == p.id, Review.reviewer_id == r.id)
                ).one()
                values: dict[int, tuple[int | None, str]] = {
                    c.id: (
                        max(0, min(5, s + (k if j % 2 else 0) - (1 if k and j == 0 else 0))),
                        "Begründung: nachvollziehbar dargestellt.",
                    )
                    for j, (c, s) in enumerate(zip(call.criteria, scores, strict=False))
                }
                save_review(review, r, values, submit=True)
        clock["t"] = start + dt.timedelta(days=45)
        # decided: 0 and 1 approved and awarded, 2 waits for AfWiFö, 3 rejected
        for p in proposals[:2]:
            sign_off(p, ka, "approve")
            sign_off(p, afw, "approve")
            make_award(p, ka)
        sign_off(proposals[2], ka, "approve")
        sign_off(proposals[3], afw, "reject", "Die Umsetzbarkeit ist nicht ausreichend belegt.")
        clock["t"] = start + dt.timedelta(days=50)
        fire(proposals[0], "accept_award", applicants[0])
        fire(
            proposals[-1],
            "request_documents",
            ka,
            reason="Bitte reichen Sie die unterschriebene Eigenerklärung nach.",
        )
        clock["t"] = start + dt.timedelta(days=55)
        first = db.session.scalars(
            select(Milestone).where(Milestone.proposal_id == proposals[0].id).order_by(Milestone.position)
        ).first()
        assert first is not None  # the award planned them
        report_milestone(first, applicants[0], "Auftaktveranstaltung mit 40 Teilnehmenden durchgeführt.")
        accept_milestone(first, ka2)
        submit_interim_report(
            proposals[0],
            applicants[0],
            "Zwischenstand: Netzwerk gegründet, 3 Treffen.",
            "Honorare und Raummiete",
            6_000_00,
            values={
                "participants": (Decimal(75), "Teilnahmelisten der drei Treffen"),
                "events": (Decimal(3), ""),
                "enterprises": (Decimal(9), ""),
            },
        )
        interim = db.session.scalars(select(Report).where(Report.proposal_id == proposals[0].id)).one()
        review_interim_report(interim, ka, True)
        db.session.flush()
    finally:
        timeutil.set_clock(before)
