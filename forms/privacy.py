from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, TextAreaField
from wtforms.validators import DataRequired, Length

from . import Form


class DeleteAccountForm(Form):
    confirm = BooleanField(
        _l("Ich möchte mein Konto und meine Entwürfe endgültig löschen."), validators=[DataRequired()]
    )
    password = PasswordField(_l("Ihr Passwort zur Bestätigung"), validators=[DataRequired(), Length(max=500)])


class HoldForm(Form):
    """An official places a legal hold on a record, or lifts it: with the reason (both are audited)."""

    reason = TextAreaField(
        _l("Begründung (z. B. Rechtsstreit, Prüfung des Rechnungshofs)"),
        validators=[DataRequired(_l("Bitte geben Sie eine Begründung an.")), Length(max=5000)],
    )
