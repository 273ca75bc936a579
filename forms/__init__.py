"""WTForms for every page. Forms validate and return data; they never touch the database session.

Every form derives from :class:`Form`: a single-line input keeps no line break (a hand-made post could put one
into a call title, a name or a milestone, and from there into a mail subject), as a browser's text input would
not. Text areas and passwords keep what was typed."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField

from foerdercall.text import one_line


def _one_line(value):
    return one_line(value) if isinstance(value, str) else value


class Form(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            cls = unbound_field.field_class
            if issubclass(cls, StringField) and not issubclass(cls, TextAreaField | PasswordField):
                filters = (*unbound_field.kwargs.get("filters", ()), _one_line)
                return unbound_field.bind(form=form, filters=filters, **options)
            return unbound_field.bind(form=form, **options)
