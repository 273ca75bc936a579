from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, its stubs are for 3.2
from wtforms.validators import StopValidation
from wtforms.widgets import TextInput

from foerdercall.appform.answers import Invalid, format_cents, parse_money
from foerdercall.i18n import current_lang
from foerdercall.timeutil import InvalidLocalTime, berlin_to_utc, to_berlin


class _KeepParseError:
    """A value that could not be read keeps its own message: DataRequired would replace it by "required"."""

    process_errors: Sequence[str]  # of the field it is mixed into

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class MoneyField(_KeepParseError, StringField):
    """Euros typed in the reader's way ("1.234,56" in German, "1,234.56" in English; "1234" in both), read by the
    rule the application form uses (appform.answers.parse_money); data is integer cents."""

    data: int | None  # type: ignore[assignment]  # the stubs type a StringField's data as its text

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_money(valuelist[0], current_lang())
        except Invalid as exc:
            raise ValueError(str(exc)) from exc

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_cents(int(self.data), current_lang())


class BerlinDateTimeField(_KeepParseError, Field):
    """A date and time in Leipzig (datetime-local input); data is an aware UTC datetime."""

    widget = TextInput(input_type="datetime-local")

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        raw = valuelist[0].strip()
        for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M"):
            try:
                local = dt.datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(_l("Bitte Datum und Uhrzeit angeben, z. B. 31.10.2026 23:59."))
        try:
            self.data = berlin_to_utc(local.replace(second=0))
        except InvalidLocalTime as exc:
            raise ValueError(
                _l(
                    "Diese Uhrzeit gibt es wegen der Zeitumstellung in Leipzig nicht eindeutig; "
                    "bitte wählen Sie eine andere."
                )
            ) from exc

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return to_berlin(self.data).strftime("%Y-%m-%dT%H:%M")


MAX_DAYS = 365


def _days(raw: str) -> int:
    if not re.fullmatch(r"\d{1,4}", raw) or not 1 <= int(raw) <= MAX_DAYS:
        raise ValueError(_l("Bitte ganze Tage von 1 bis 365 angeben."))
    return int(raw)


class DaysField(_KeepParseError, StringField):
    """A number of days (1 to 365); data is an int. A form without the field keeps the default (or the
    object's value)."""

    data: int | None  # type: ignore[assignment]  # the stubs type a StringField's data as its text
    if TYPE_CHECKING:  # and its default as text

        def __init__(
            self, label: Any = None, validators: Any = None, *, default: int | None = None, **kw: Any
        ) -> None: ...

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0].strip()
        self.data = None
        if raw:
            self.data = _days(raw)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class DaysListField(_KeepParseError, StringField):
    """Days separated by commas ("7, 1"), each 1 to 365; data is a list of distinct ints, largest first.
    Empty means none. A form without the field keeps the default (or the object's value)."""

    data: list[int] | None  # type: ignore[assignment]  # the stubs type a StringField's data as its text
    if TYPE_CHECKING:  # and its default as text

        def __init__(
            self,
            label: Any = None,
            validators: Any = None,
            *,
            default: list[int] | Callable[[], list[int]] | None = None,
            **kw: Any,
        ) -> None: ...

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        parts = [p.strip() for p in valuelist[0].split(",")]
        self.data = None
        if all(not p for p in parts):
            self.data = []
            return
        try:
            days = [_days(p) for p in parts]
        except ValueError as exc:
            raise ValueError(
                _l("Bitte ganze Tage von 1 bis 365 angeben, durch Kommas getrennt, z. B. 7, 1.")
            ) from exc
        self.data = sorted(set(days), reverse=True)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(str(d) for d in self.data or [])


def choices(pairs) -> list:
    """(value, label) pairs as WTForms choices (WTForms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class OfferedChoice:
    """A choice field whose list the view fills (validate_choice=False): an empty value, or one of the offered
    values. A value no page offers (a hand-made post: too long, unknown) is a message on the form, so the rest
    of the typed text is shown again and nothing reaches the database."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        if str(field.data) not in {str(choice[0]) for choice in field.iter_choices()}:
            raise StopValidation(self.message or _l("Bitte wählen Sie einen Eintrag aus der Liste."))


class Required:
    """A value must be given, and 0 is one: for fields that parse a number (DataRequired tests truthiness and
    reads 0 as missing). A field left out of the post keeps its default, as with DataRequired."""

    field_flags = {"required": True}

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data is not None and field.data != "":
            return
        field.errors[:] = []  # "required" says it, not also "not a valid number"
        raise StopValidation(self.message or field.gettext(_REQUIRED))


_REQUIRED = "This field is required."  # WTForms' own message, in WTForms' catalogue (as DataRequired says it)
