from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import Length, Optional, ValidationError

from . import Form
from .fields import BerlinDateTimeField


class RetryFailedForm(Form):
    """Failed mails sent again in bulk: those with one reason (empty: every reason) that failed in a time
    (Leipzig time, both ends optional and included)."""

    reason = HiddenField(_l("Grund"), validators=[Optional(), Length(max=2000)])
    failed_from = BerlinDateTimeField(_l("Fehlgeschlagen ab"), validators=[Optional()])
    failed_until = BerlinDateTimeField(_l("Fehlgeschlagen bis"), validators=[Optional()])

    def validate_failed_until(self, field) -> None:
        if field.data and self.failed_from.data and field.data < self.failed_from.data:
            raise ValidationError(_l("Das Ende des Zeitraums liegt vor seinem Anfang."))
