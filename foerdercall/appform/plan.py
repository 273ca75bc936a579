"""The applicant's milestone plan (the table question with the role ``milestone_plan``: title, due date, share of
the money in per cent): read from the answers, checked against the implementation period when the proposal is
submitted, and made the award's milestones when the award is accepted (awards/effects.start_implementation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from .definition import FormDefinition


@dataclass(frozen=True)
class PlannedMilestone:
    title: str
    due: dt.date
    share: Decimal | None


def planned_milestones(definition: FormDefinition, answers: Mapping[str, Any]) -> list[PlannedMilestone]:
    """The rows of the plan that have a title and a date, in the order given (none without such a question)."""
    q = definition.by_role("milestone_plan")
    rows = answers.get(q.key) if q is not None else None
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        title, due = str(row.get("title") or "").strip(), row.get("due")
        try:
            day = dt.date.fromisoformat(str(due))
        except ValueError:
            continue
        if title:
            found.append(PlannedMilestone(title[:300], day, _share(row.get("share"))))
    return found


def plan_problems(
    definition: FormDefinition, answers: Mapping[str, Any], first: dt.date, last: dt.date, lang: str
) -> list[str]:
    """What is wrong with the plan, each naming its row: a date outside the implementation period (``first`` to
    ``last``), a share of 0 or less, shares that do not add up to 100 % (without the question's label: the draft
    page shows them at the question)."""
    if definition.by_role("milestone_plan") is None:
        return []
    rows = planned_milestones(definition, answers)
    problems = []
    for n, row in enumerate(rows, start=1):
        if not first <= row.due <= last:
            problems.append(
                _(
                    "Zeile %(n)s: Das Datum muss im Umsetzungszeitraum liegen (%(first)s bis %(last)s).",
                    n=n,
                    first=_day(first, lang),
                    last=_day(last, lang),
                )
            )
        if row.share is not None and row.share <= 0:
            problems.append(_("Zeile %(n)s: Der Anteil muss größer als 0 sein.", n=n))
    shares = [row.share for row in rows if row.share is not None]
    total_share = sum(shares, Decimal(0))
    if shares and total_share != 100:
        total = format(total_share.normalize(), "f")
        problems.append(
            _(
                "Die Anteile ergeben zusammen %(sum)s %%, nicht 100 %%.",
                sum=total.replace(".", ",") if lang == "de" else total,
            )
        )
    return problems


def _share(value: Any) -> Decimal | None:
    try:
        share = Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return share if share is not None and share.is_finite() else None


def _day(day: dt.date, lang: str) -> str:
    return day.strftime("%d.%m.%Y") if lang == "de" else day.isoformat()


def cost_plan_lines(definition: FormDefinition, answers: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The approved cost plan (the table question with the role ``cost_plan``): each line's item and its planned
    amount in cents, in the order given; none without such a question."""
    q = definition.by_role("cost_plan")
    rows = answers.get(q.key) if q is not None else None
    lines = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        item, amount = str(row.get("item") or "").strip(), row.get("amount")
        if item and isinstance(amount, int) and not isinstance(amount, bool):
            lines.append((item[:300], amount))
    return lines
