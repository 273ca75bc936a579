"""Starting a bulk export as a job (the decision page's bulk sign-off uses forms.calls.BulkSignOffForm)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, InputRequired


class ExportJobForm(FlaskForm):
    start = HiddenField(validators=[InputRequired(), AnyOf(["1"])], default="1")
