"""Starting a bulk export as a job (the decision page's bulk sign-off uses forms.calls.BulkSignOffForm)."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import AnyOf, InputRequired

from . import Form


class ExportJobForm(Form):
    start = HiddenField(validators=[InputRequired(), AnyOf(["1"])], default="1")
