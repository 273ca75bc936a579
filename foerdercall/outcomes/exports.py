"""The implementation report as files: one table for CSV and JSON (open data), sheets for XLSX, a PDF for the
council. Numbers stay numbers (a point as the decimal mark in CSV and JSON; XLSX cells are numeric)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ..appform.places import place_label
from ..documents.pdf import Document, Facts, Heading, Para, Table, render
from ..i18n import format_money, format_number, label
from ..labels import state_label
from .report import Group, ImplementationReport, IndicatorRow
from .values import plain

HEAD = (
    "section",
    "group",
    "key",
    "name",
    "unit",
    "aggregate",
    "planned",
    "achieved",
    "measures_planned",
    "measures_reported",
)
AGGREGATE_NAMES = {"sum": ("Summe", "sum"), "mean": ("Mittelwert", "mean"), "count": ("Anzahl", "count")}


def _number(value: Decimal | None) -> str | None:
    return plain(value.quantize(Decimal("0.01")) if value % 1 else value) if value is not None else None


def _indicator_rows(section: str, group: str, rows: list[IndicatorRow], lang: str) -> list[list[Any]]:
    return [
        [
            section,
            group,
            r.key,
            r.label.get(lang),
            r.unit,
            r.aggregate,
            _number(r.planned),
            _number(r.achieved),
            r.planned_measures,
            r.achieved_measures,
        ]
        for r in rows
    ]


def group_name(section: str, g: Group, lang: str) -> str:
    if section == "district":
        return place_label(g.key, lang) if g.key else _("ohne Ortsangabe")
    return g.label or _("ohne Handlungsfeld")


def open_rows(report: ImplementationReport, lang: str = "de") -> list[list[Any]]:
    """The whole report as one table (CSV, and the rows of the JSON): money in euro cents, measures by state,
    the rates, then the indicators in all, by field of action and by district."""
    rows: list[list[Any]] = []
    for key, cents in (
        ("budget_cents", report.budget_cents),
        ("awarded_cents", report.awarded_cents),
        ("paid_cents", report.paid_cents),
        ("returned_cents", report.returned_cents),
    ):
        rows.append(["money", "", key, "", "EUR cents", "", None, cents, None, None])
    for state, n in report.by_state:
        rows.append(
            ["state", "", state, state_label("proposal", state, lang=lang), "", "count", None, n, None]
        )
    for key, value in (
        ("awards", report.awards),
        ("completion_rate", round(report.completion_rate, 4) if report.completion_rate is not None else None),
        ("lapse_rate", round(report.lapse_rate, 4) if report.lapse_rate is not None else None),
        (
            "median_days_deadline_to_award",
            round(report.median_days_to_award, 1) if report.median_days_to_award is not None else None,
        ),
    ):
        rows.append(["measures", "", key, "", "", "", None, value, None, None])
    rows += _indicator_rows("indicators", "", report.indicators, lang)
    for section, groups in (("field_of_action", report.by_field), ("district", report.by_district)):
        for g in groups:
            rows += _indicator_rows(section, group_name(section, g, lang), g.rows, lang)
    return rows


def as_json(report: ImplementationReport, text: str, lang: str = "de") -> dict[str, Any]:
    return {
        "year": report.year,
        "calls": [{"code": c.code, "title": c.title} for c in report.calls],
        "text": text,
        "columns": list(HEAD),
        "rows": open_rows(report, lang),
    }


def sheets(report: ImplementationReport, lang: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    """XLSX: money and measures, then the indicators in all, by field of action, by district."""
    money = [
        [_("Budget"), report.budget_cents / 100],
        [_("Vergeben"), report.awarded_cents / 100],
        [_("Ausgezahlt"), report.paid_cents / 100],
        [_("Zurückgeflossen"), report.returned_cents / 100],
        [_("Aufträge und Zuwendungen"), report.awards],
        [_("Abschlussquote"), report.completion_rate],
        [_("Verfallsquote"), report.lapse_rate],
        [_("Median Tage von der Frist bis zur Vergabe"), report.median_days_to_award],
    ] + [[state_label("proposal", s, lang=lang), n] for s, n in report.by_state]
    head = [
        _("Indikator"),
        _("Einheit"),
        _("Zusammenfassung"),
        _("Geplant"),
        _("Erreicht"),
        _("Maßnahmen mit Ziel"),
        _("Maßnahmen mit Wert"),
    ]

    def rows(items: list[IndicatorRow], group: str | None = None) -> list[list[Any]]:
        return [
            ([group] if group is not None else [])
            + [
                r.label.get(lang),
                r.unit,
                label(AGGREGATE_NAMES[r.aggregate], lang),
                float(r.planned) if r.planned is not None else None,
                float(r.achieved) if r.achieved is not None else None,
                r.planned_measures,
                r.achieved_measures,
            ]
            for r in items
        ]

    return [
        (_("Geld und Stand"), [_("Kennzahl"), _("Wert")], money),
        (_("Indikatoren"), head, rows(report.indicators)),
        (
            _("Nach Handlungsfeld"),
            [_("Handlungsfeld"), *head],
            [row for g in report.by_field for row in rows(g.rows, group_name("field_of_action", g, lang))],
        ),
        (
            _("Nach Stadtbezirk"),
            [_("Stadtbezirk"), *head],
            [row for g in report.by_district for row in rows(g.rows, group_name("district", g, lang))],
        ),
    ]


def _pct(value: float | None) -> str:
    return f"{format_number(round(value * 100, 1))} %" if value is not None else "–"


def _table(items: list[IndicatorRow], lang: str) -> Table:
    return Table(
        [_("Indikator"), _("Einheit"), _("Geplant"), _("Erreicht")],
        [[r.label.get(lang), r.unit, format_number(r.planned), format_number(r.achieved)] for r in items],
        (5, 2, 2, 2),
    )


def pdf(
    report: ImplementationReport, title: str, text: str, lang: str, at: dt.datetime, eu_statement: str = ""
) -> bytes:
    """The report for the council: the office's text, the figures and the tables (the charts' numbers)."""
    doc = Document(
        title=title,
        lang=lang,
        issued_at=at,
        sender=[current_app.config["OPERATOR_NAME"]],
        footer=_("Seite %(page)s von %(pages)s"),
        eu_statement=eu_statement,
    )
    if text:
        doc.add(Para(text))
    doc.add(
        Heading(_("Geld"), 2),
        Facts(
            [
                (_("Budget"), format_money(report.budget_cents)),
                (_("Vergeben"), format_money(report.awarded_cents)),
                (_("Ausgezahlt"), format_money(report.paid_cents)),
                (_("Zurückgeflossen"), format_money(report.returned_cents)),
            ]
        ),
        Heading(_("Maßnahmen"), 2),
        Facts(
            [(state_label("proposal", s, lang=lang), str(n)) for s, n in report.by_state]
            + [
                (_("Abschlussquote"), _pct(report.completion_rate)),
                (_("Verfallsquote"), _pct(report.lapse_rate)),
                (
                    _("Median Tage von der Frist bis zur Vergabe"),
                    format_number(round(report.median_days_to_award, 1))
                    if report.median_days_to_award is not None
                    else "–",
                ),
            ]
        ),
    )
    if report.indicators:
        doc.add(Heading(_("Indikatoren: geplant und erreicht"), 2), _table(report.indicators, lang))
        for section, heading, groups in (
            ("field_of_action", _("Nach Handlungsfeld"), report.by_field),
            ("district", _("Nach Stadtbezirk"), report.by_district),
        ):
            doc.add(Heading(heading, 2))
            for g in groups:
                doc.add(Heading(f"{group_name(section, g, lang)} ({g.measures})", 3), _table(g.rows, lang))
    return render(doc)


@dataclass
class Bar:
    label: str
    value: float
    extra: float = 0
    text: str = ""

    def __post_init__(self) -> None:
        self.value, self.extra = float(self.value), float(self.extra)


def charts(report: ImplementationReport, lang: str) -> dict[str, list[Bar]]:
    """The bars of the report page's charts (each beside its table)."""
    money = [
        Bar(_("Budget"), report.budget_cents, text=format_money(report.budget_cents)),
        Bar(_("Vergeben"), report.awarded_cents, text=format_money(report.awarded_cents)),
        Bar(_("Ausgezahlt"), report.paid_cents, text=format_money(report.paid_cents)),
        Bar(_("Zurückgeflossen"), report.returned_cents, text=format_money(report.returned_cents)),
    ]
    states = [Bar(state_label("proposal", s, lang=lang), n, text=str(n)) for s, n in report.by_state]
    achieved = []
    for r in report.indicators:  # units differ: each as its share of the target
        if r.share is None:
            continue
        pct = round(min(r.share, 1.0) * 100, 1)
        text = f"{format_number(round(r.share * 100, 1))} %"
        achieved.append(Bar(r.label.get(lang), pct, 100 - pct, text))
    return {"money": money, "states": states, "achieved": achieved}
