from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from foerdercall.accounts.models import OFFICES, ROLES

from .fields import choices


class LoginForm(FlaskForm):
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=500)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    organisation = StringField(_l("Organisation (optional)"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Passwort (mindestens 10 Zeichen)"),
                             validators=[DataRequired(), Length(min=10, max=500)])
    password2 = PasswordField(_l("Passwort wiederholen"),
                              validators=[DataRequired(), EqualTo("password", _l("Die Passwörter stimmen nicht überein."))])
    locale = SelectField(_l("Sprache für E-Mails"), choices=choices([("de", "Deutsch"), ("en", "English")]))
    privacy = BooleanField(_l("Ich habe die Datenschutzhinweise gelesen."), validators=[DataRequired()])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Rollen"), choices=choices((r, r) for r in ROLES))
    office = SelectField(_l("Amt"), choices=choices([("", "–")] + [(o, o) for o in OFFICES]))
    head_of_office = BooleanField(_l("Amtsleitung (erhält Eskalationen, wenn eine Freigabe zu lange wartet)"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Neues Passwort (mindestens 10 Zeichen)"),
                             validators=[DataRequired(), Length(min=10, max=500)])
    password2 = PasswordField(_l("Neues Passwort wiederholen"), validators=[
        DataRequired(), EqualTo("password", _l("Die Passwörter stimmen nicht überein."))])


class TwoFactorCodeForm(FlaskForm):
    code = StringField(_l("Sechsstelliger Code oder Wiederherstellungscode"),
                       validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "spellcheck": "false"})


class TwoFactorSetupForm(FlaskForm):
    code = StringField(_l("Sechsstelliger Code aus der App"), validators=[DataRequired(), Length(max=10)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class TwoFactorDisableForm(FlaskForm):
    password = PasswordField(_l("Ihr Passwort"), validators=[DataRequired(), Length(max=500)],
                             render_kw={"autocomplete": "current-password"})
