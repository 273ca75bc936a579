"""The default form: the questions of the 2011-style call (Kreativwirtschaft), as they were fixed in code before
calls had their own forms. The keys are the columns of ``proposals`` they were stored in, so stored answers map
one to one (the migration of issue 14); the attachments are the call's required attachments of then (their keys
are the kinds of the files uploaded for them)."""

from __future__ import annotations

from typing import Any

from .definition import FormDefinition, parse_definition


def _t(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


def _long(key: str, de: str, en: str, max_length: int, *, personal: bool = False) -> dict[str, Any]:
    return {
        "key": key,
        "type": "long_text",
        "label": _t(de, en),
        "help": _t("", ""),
        "required": True,
        "personal": personal,
        "max_length": max_length,
    }


ATTACHMENT_FILES = 10  # files of one kind (an offer in parts, several declarations)


def _attachment(key: str, de: str, en: str) -> dict[str, Any]:
    return {
        "key": key,
        "type": "attachment",
        "label": _t(de, en),
        "help": _t("", ""),
        "required": True,
        "personal": False,
        "max_files": ATTACHMENT_FILES,
    }


def _indicator(key: str, de: str, en: str, unit: str, *, integer: bool = True) -> dict[str, Any]:
    return {
        "key": key,
        "label": _t(de, en),
        "unit": unit,
        "aggregate": "sum",
        "field": "",
        "integer": integer,
    }


# The default catalogue of a creative-economy call (issue 15): what the 2015 evaluation asks measures to count.
INDICATOR_CATALOGUE = [
    _indicator("participants", "Teilnehmende", "Participants", "Personen"),
    _indicator("events", "Veranstaltungen", "Events", ""),
    _indicator("enterprises", "Kooperierende Unternehmen", "Cooperating enterprises", ""),
    _indicator(
        "jobs", "Gesicherte oder geschaffene Arbeitsplätze", "Jobs secured or created", "VZÄ", integer=False
    ),
    _indicator("reach", "Reichweite", "Reach", "Personen"),
    _indicator("follow_up_funding", "Eingeworbene Anschlussfinanzierung", "Follow-up funding raised", "Euro"),
]

# Personal: the team (names, careers of people). The other answers describe the measure; a title or a concept may
# name the applicant, which blind review and retention cannot know from the form.
DEFAULT_FORM: dict[str, Any] = {
    "sections": [
        {
            "key": "proposal",
            "title": _t("Ihr Angebot", "Your proposal"),
            "questions": [
                {
                    "key": "title",
                    "type": "short_text",
                    "label": _t("Titel der Maßnahme", "Project title"),
                    "help": _t("", ""),
                    "required": True,
                    "personal": False,
                    "role": "title",
                    "max_length": 300,
                },
                {
                    "key": "field_of_action",
                    "type": "single_choice",
                    "label": _t("Handlungsfeld", "Field of action"),
                    "help": _t("", ""),
                    "required": True,
                    "personal": False,
                    "role": "field_of_action",
                },
                _long("summary", "Kurzbeschreibung", "Summary", 2000),
                _long("description", "Konzept", "Concept", 20000),
                _long("work_plan", "Arbeits- und Zeitplan", "Work plan and schedule", 20000),
                _long("team", "Team", "Team", 10000, personal=True),
                _long("leipzig_relation", "Bezug zu Leipzig", "Connection to Leipzig", 10000),
                {
                    "key": "requested_amount",
                    "type": "money",
                    "label": _t("Angebotspreis (netto, €)", "Offer price (net, €)"),
                    "help": _t("", ""),
                    "required": True,
                    "personal": False,
                    "role": "amount",
                },
            ],
        },
        {
            "key": "impact",
            "title": _t("Ort und Wirkung", "Place and impact"),
            "questions": [
                {
                    "key": "place",
                    "type": "single_choice",
                    "label": _t("Wo findet die Maßnahme statt?", "Where does the measure take place?"),
                    "help": _t(
                        "Ein Ortsteil, ein ganzer Stadtbezirk oder gesamtstädtisch.",
                        "A quarter, a whole district or citywide.",
                    ),
                    "required": False,
                    "personal": False,
                    "role": "place",
                },
                {
                    "key": "targets",
                    "type": "indicators",
                    "label": _t("Zielwerte Ihrer Maßnahme", "Your measure's targets"),
                    "help": _t(
                        "Was die Maßnahme bis zu ihrem Abschluss erreichen soll. In den Berichten geben Sie an, "
                        "was erreicht ist.",
                        "What the measure is to achieve by its end. In your reports you state what was achieved.",
                    ),
                    "required": False,
                    "personal": False,
                    "indicators": INDICATOR_CATALOGUE,
                },
            ],
        },
        {
            "key": "attachments",
            "title": _t("Anlagen", "Attachments"),
            "questions": [
                _attachment(
                    "offer", "Leistungsangebot mit Kalkulation (PDF)", "Offer with cost calculation (PDF)"
                ),
                _attachment("declarations", "Eigenerklärungen (PDF)", "Self-declarations (PDF)"),
            ],
        },
    ]
}


def default_form() -> FormDefinition:
    return parse_definition(DEFAULT_FORM)
