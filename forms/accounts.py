import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from foerdercall.accounts.models import ROLES
from foerdercall.offices.queries import all_offices

from . import Form
from .fields import choices


def _nfkc(value):
    """Full-width and other compatibility digits ("１２３４５６", typed with an East Asian keyboard) as 0-9."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def _latin_code(form, field):
    """A code has the digits 0-9 (a recovery code also the letters a-z): other digits and letters (Arabic-Indic,
    superscripts that stay after NFKC) are a message, not a comparison the service cannot make."""
    if any(ch.isalnum() and not ch.isascii() for ch in field.data or ""):
        raise ValidationError(
            _l(
                "Bitte geben Sie den Code mit den Ziffern 0–9 ein (einen Wiederherstellungscode "
                "mit Ziffern und den Buchstaben a–z)."
            )
        )


class OneTimeCodeField(StringField):
    """A code of the second factor: never shown again in the page (it is used, and a page answering a refused
    login must look the same whatever was typed)."""

    def _value(self):
        return ""


class LoginForm(Form):
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=500)])
    # only asked for while the account is locked: password and code of the second factor in one step
    code = OneTimeCodeField(
        _l("Code der Zwei-Faktor-Anmeldung (falls eingerichtet)"),
        filters=[_nfkc],
        validators=[Optional(), Length(max=40), _latin_code],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false"},
    )


class UnlockRequestForm(Form):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse an.")), Length(max=254)],
    )


class EndSessionsForm(Form):
    confirm = BooleanField(
        _l("Ja, alle Sitzungen dieser Person beenden"),
        validators=[
            DataRequired(_l("Bitte bestätigen Sie, dass alle Sitzungen dieser Person beendet werden sollen."))
        ],
    )


def salutation_field():
    return SelectField(
        _l("Anrede in Briefen und E-Mails"),
        choices=choices(
            [("", _l("keine Angabe (Guten Tag Vorname Name)")), ("frau", _l("Frau")), ("herr", _l("Herr"))]
        ),
        default="",
    )


class RegisterForm(Form):
    salutation = salutation_field()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    organisation = StringField(_l("Organisation (optional)"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Passwort (mindestens 10 Zeichen)"), validators=[DataRequired(), Length(min=10, max=500)]
    )
    password2 = PasswordField(
        _l("Passwort wiederholen"),
        validators=[DataRequired(), EqualTo("password", _l("Die Passwörter stimmen nicht überein."))],
    )
    locale = SelectField(_l("Sprache für E-Mails"), choices=choices([("de", "Deutsch"), ("en", "English")]))
    privacy = BooleanField(_l("Ich habe die Datenschutzhinweise gelesen."), validators=[DataRequired()])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(Form):
    roles = MultiCheckboxField(_l("Rollen"), choices=choices((r, r) for r in ROLES))
    office = SelectField(_l("Amt"))
    head_of_office = BooleanField(_l("Amtsleitung (erhält Eskalationen, wenn eine Freigabe zu lange wartet)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.office.choices = [("", "–")] + [(o.key, f"{o.short_name} – {o.name}") for o in all_offices()]

    def validate_roles(self, field):
        """Each role once (a hand-made post can name one twice: two grants of one role are not allowed)."""
        field.data = list(dict.fromkeys(field.data or []))


class ForgotPasswordForm(Form):
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(Form):
    password = PasswordField(
        _l("Neues Passwort (mindestens 10 Zeichen)"), validators=[DataRequired(), Length(min=10, max=500)]
    )
    password2 = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[DataRequired(), EqualTo("password", _l("Die Passwörter stimmen nicht überein."))],
    )


class TwoFactorCodeForm(Form):
    code = StringField(
        _l("Sechsstelliger Code oder Wiederherstellungscode"),
        filters=[_nfkc],
        validators=[DataRequired(), Length(max=40), _latin_code],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false"},
    )


class TwoFactorSetupForm(Form):
    code = StringField(
        _l("Sechsstelliger Code aus der App"),
        filters=[_nfkc],
        validators=[DataRequired(), Length(max=10), _latin_code],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TwoFactorDisableForm(Form):
    password = PasswordField(
        _l("Ihr Passwort"),
        validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")), Length(max=500)],
        render_kw={"autocomplete": "current-password"},
    )


class SalutationForm(Form):
    salutation = salutation_field()


class NotifyForm(Form):
    """An official's choice: a mail for each thing that arrives for them, or one each morning."""

    notify_mode = RadioField(
        _l("Benachrichtigung über Neues"),
        choices=choices(
            [
                ("immediate", _l("Sofort: eine E-Mail, sobald etwas für Sie eingeht")),
                ("daily", _l("Täglich: eine E-Mail am Morgen mit Ihren offenen Aufgaben")),
            ]
        ),
        validators=[InputRequired(_l("Bitte wählen Sie, wie Sie benachrichtigt werden möchten."))],
    )


class LanguageForm(Form):
    """The language switch of every page: the language, and the page to return to (``urls.redirect_target``
    takes it only if it is a path of this site)."""

    lang = SelectField(choices=choices([("de", "Deutsch"), ("en", "English")]), default="de")
    next = StringField(validators=[Optional(), Length(max=2000)])


class ApiTokenForm(Form):
    """An admin makes a token for an integration: it acts as an existing account, within its scopes."""

    name = StringField(_l("Anwendung"), validators=[DataRequired(), Length(max=100)])
    email = StringField(
        _l("Handelt als Konto (E-Mail-Adresse)"), validators=[DataRequired(), Length(max=254)]
    )
    scopes = MultiCheckboxField(
        _l("Rechte"),
        choices=choices(
            [
                ("read", _l("Lesen, was das Konto sehen darf")),
                ("payments:write", _l("Zahlungen erfassen (Finanzverfahren)")),
                ("indicators:write", _l("Erreichte Werte melden (Umfragewerkzeug)")),
            ]
        ),
    )
