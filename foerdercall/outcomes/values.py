"""Reading planned and achieved indicator values: the one place that turns what a person typed (or an integration
sent) into the values a report stores, with a message for each value that is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from ..appform.answers import Invalid, indicator_value
from ..appform.definition import FormDefinition, Indicator
from ..errors import ActionRefused
from ..text import printable

COMMENT_MAX = 2000


@dataclass
class ValueEntry:
    """What was read: the values ({key: (value, comment)}) and a message per indicator key that is wrong."""

    values: dict[str, tuple[Decimal, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def plain(value: Decimal) -> str:
    """A value as data says it: 1234, 0.5 (no exponent, no trailing zeros)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def call_indicators(definition: FormDefinition) -> dict[str, Indicator]:
    return {i.key: i for _q, i in definition.indicators()}


def read_values(
    definition: FormDefinition,
    raw: Mapping[str, Any],
    comments: Mapping[str, Any],
    lang: str,
    field_of_action: str | None = None,
) -> ValueEntry:
    """``raw``: {indicator key: value as typed or sent}; an empty value is no value. A key the call's form does
    not have, a negative number, a fraction of a whole-number indicator, text or a unit is an error on that key."""
    known = call_indicators(definition)
    entry = ValueEntry()
    for key, value in raw.items():
        indicator = known.get(key)
        if indicator is None:
            entry.errors[key] = _("Diesen Indikator hat der Aufruf nicht: %(key)s.", key=str(key)[:40])
            continue
        if not indicator.applies_to(field_of_action) and value not in (None, ""):
            entry.errors[key] = _("Dieser Indikator gehört zu einem anderen Handlungsfeld.")
            continue
        try:
            number = indicator_value(indicator, value, lang)
        except Invalid as exc:
            entry.errors[key] = str(exc)
            continue
        comment = printable(str(comments.get(key) or "")).strip()
        if len(comment) > COMMENT_MAX:
            entry.errors[key] = _("Die Anmerkung ist zu lang (höchstens %(n)s Zeichen).", n=COMMENT_MAX)
            continue
        if number is not None:
            entry.values[key] = (number, comment)
    return entry


def targets(answers: Iterable[Any]) -> dict[str, Decimal]:
    """The planned values in the answers of a proposal's indicator questions (stored as numbers by
    ``appform.answers``), by indicator key."""
    found: dict[str, Decimal] = {}
    for answer in answers:
        for key, value in answer.items() if isinstance(answer, Mapping) else ():
            try:
                found[key] = Decimal(str(value))
            except ArithmeticError:  # never stored so (appform.answers checks them), but not a 500
                continue
    return found


def of_the_call(definition: FormDefinition, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """``values`` if each is for one of the call's indicators, else the refusal naming those that are not."""
    known = call_indicators(definition)
    if unknown := [k for k in values or {} if k not in known]:
        raise ActionRefused(
            _("Diesen Indikator hat der Aufruf nicht: %(key)s.", key=", ".join(unknown)[:200])
        )
    return dict(values or {})
