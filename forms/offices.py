from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from foerdercall.offices.operations import naming_problems

from . import Form


class OfficeForm(Form):
    """An office as the admins keep it. ``key`` only when it is created: sign-offs and calls store it."""

    key = StringField(
        _l("Kürzel (fest, nur Buchstaben und Ziffern ohne Umlaute)"),
        validators=[
            DataRequired(),
            Length(max=10),
            Regexp(
                r"^[A-Za-z][A-Za-z0-9]*$",
                message=_l("Nur Buchstaben und Ziffern, am Anfang ein Buchstabe."),
            ),
        ],
    )
    short_name = StringField(
        _l("Kurzbezeichnung (so zeigen es die Seiten)"),
        validators=[DataRequired(), Length(max=20)],
    )
    name = StringField(_l("Name des Amtes"), validators=[DataRequired(), Length(max=200)])
    head_name = StringField(_l("Amtsleitung (Name)"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Kontakt-E-Mail"), validators=[Optional(), Email(), Length(max=254)])
    address = TextAreaField(_l("Postanschrift"), validators=[Optional(), Length(max=1000)])
    decides_by_default = BooleanField(_l("Entscheidet neue Aufrufe mit (Voreinstellung im Aufruf)"))

    def __init__(self, *args, office=None, **kwargs):
        super().__init__(*args, obj=office, **kwargs)
        self._office = office

    def validate(self, extra_validators=None) -> bool:
        """Every field's own checks, and the key and short name another office has: all at once."""
        valid = super().validate(extra_validators)
        key = self.key.data if "key" in self._fields else None
        for name, message in naming_problems(self._office, key, self.short_name.data).items():
            if name in self._fields and not self[name].errors:
                self[name].errors.append(message)
                valid = False
        return valid

    def office_fields(self) -> dict:
        return {
            "short_name": self.short_name.data or "",
            "name": self.name.data or "",
            "head_name": self.head_name.data or "",
            "email": self.email.data or "",
            "address": self.address.data or "",
            "decides_by_default": bool(self.decides_by_default.data),
        }
