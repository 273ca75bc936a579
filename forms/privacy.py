from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from . import Form


class DeleteAccountForm(Form):
    confirm = BooleanField(
        _l("Ich möchte mein Konto und meine Entwürfe endgültig löschen."), validators=[DataRequired()]
    )
    password = PasswordField(_l("Ihr Passwort zur Bestätigung"), validators=[DataRequired(), Length(max=500)])
