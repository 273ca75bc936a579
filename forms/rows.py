"""Row lists in a form: rows an editor adds, removes and moves up or down (the criteria of a call, …).

- :class:`RowList` — a FieldList of a row form whose fields are all text (what was typed comes back as typed,
  a wrong number too); posted rows replace the edited object's rows as a whole.
- :class:`RowsForm` — a form with row lists: its ``row_action`` field takes the row buttons' value
  ("criteria:add", "criteria:remove-2", "criteria:up-1", "criteria:down-0"); :meth:`RowsForm.apply_row_action`
  applies it to what was typed and says that the form is to be shown again (nothing saved).
- ``templates/macros.html`` ``row_list(...)`` renders a list with its buttons (submit buttons: without
  JavaScript the server applies them) and ``foerdercall/static/app.js`` ("row lists") does the same in place.

A row form (see forms.calls.CriterionForm) derives from forms.Form with ``csrf = False`` in its Meta, has only
text fields (StringField, TextAreaField, HiddenField) and, when its rows keep an identity across edits, a hidden
``key`` field: a new row gets a fresh key.
"""

from __future__ import annotations

import re
import secrets

from wtforms import FieldList, FormField, StringField
from wtforms.utils import unset_value
from wtforms.validators import Length, Optional, Regexp

from . import Form

ROW_ACTION = re.compile(r"^([a-z_]{1,30}):(add|(?:remove|up|down)-[0-9]{1,3})$")


def fresh_key(taken) -> str:
    """A key no other row of the list has (stored with the row, never shown)."""
    while (key := f"k{secrets.token_hex(4)}") in taken:
        pass
    return key


def _text(value) -> str:
    return "" if value is None else str(value)


class RowList(FieldList):
    """The rows of one list: ``RowList(CriterionForm, label=…)``. Each row is a dict of texts (``typed()``)."""

    def __init__(self, row_form, label=None, validators=None, max_entries=50, **kwargs):
        super().__init__(
            FormField(row_form), label, validators, min_entries=0, max_entries=max_entries, **kwargs
        )
        self.row_form = row_form

    def row_data(self, row) -> dict[str, str]:
        """A row of the edited object (a model row, a dict of a JSON list) as the row form's texts."""
        names = self._names()
        if isinstance(row, dict):
            return {name: _text(row.get(name)) for name in names}
        return {name: _text(getattr(row, name, None)) for name in names}

    def _names(self) -> list[str]:
        return [name for name, _unbound in _unbound_fields(self.row_form)]

    def process(self, formdata, data=unset_value, extra_filters=None):
        # rows posted replace the object's as a whole (matched by position, a row left out of a post would take
        # another row's text); a post without any row (not the editor's: it keeps one) keeps the object's
        posted = formdata is not None and any(k.startswith(f"{self.name}-") for k in formdata)
        if posted:
            data = unset_value
        elif data is not unset_value and data:
            data = [self.row_data(r) for r in data]
        super().process(formdata if posted else None, data, extra_filters)

    def typed(self) -> list[dict[str, str]]:
        """Every row as typed, in the order shown."""
        return [{name: _text(entry.form[name].data) for name in self._names()} for entry in self.entries]

    def show(self, rows) -> None:
        """The list anew from these rows, numbered 0, 1, 2 … (a browser posts them back in the order shown)."""
        self.entries = []
        self.last_index = -1
        for row in rows:
            self.append_entry(self.row_data(row))

    def blank(self) -> dict[str, str]:
        row = dict.fromkeys(self._names(), "")
        if "key" in row:
            row["key"] = fresh_key({r["key"] for r in self.typed()})
        return row

    def total(self, name: str) -> int:
        """The sum of a number column over the rows (what is not a whole number counts nothing)."""
        return sum(
            int(v)
            for entry in self.entries
            if re.fullmatch(r"[0-9]{1,6}", v := _text(entry.form[name].data).strip())
        )

    def check(self, row_title, check_row) -> list:
        """Each row through ``check_row(row, refuse)``, which calls ``refuse(field, message)`` for what is wrong and
        returns the row's value; every message names the row (``row_title``: "Kriterium %(n)s: %(message)s") and
        marks its field, the row form's own Length errors too. The list's errors are the messages (the error
        summary lists each); returns the values of the rows."""
        messages: list[str] = []
        values = []
        for n, entry in enumerate(self.entries, start=1):
            row = entry.form

            def refuse(sub, message, n=n) -> None:
                sub.errors = [*sub.errors, str(message)]
                messages.append(str(row_title(n, message)))

            for sub in row:  # a Length refused by the row form itself
                found, sub.errors = list(sub.errors), []
                for e in found:
                    refuse(sub, e)
            values.append(check_row(row, refuse))
        self.errors = messages
        return values

    def apply(self, verb: str) -> None:
        """ "add", "remove-i", "up-i" or "down-i" on the rows as typed; an index outside the list changes nothing."""
        rows = self.typed()
        action, _dash, index = verb.partition("-")
        i = int(index) if index else -1
        if action == "add" and len(rows) < (self.max_entries or 50):
            rows.append(self.blank())
        elif action == "remove" and 0 <= i < len(rows) and len(rows) > 1:
            rows.pop(i)
        elif action == "up" and 0 < i < len(rows):
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
        elif action == "down" and 0 <= i < len(rows) - 1:
            rows[i], rows[i + 1] = rows[i + 1], rows[i]
        self.show(rows)


def _unbound_fields(form_class) -> list[tuple[str, object]]:
    """The row form's fields by name, in their declared order (without building a form)."""
    fields = [
        (name, value)
        for klass in reversed(form_class.__mro__)
        for name, value in vars(klass).items()
        if hasattr(value, "_formfield")
    ]
    fields.sort(key=lambda item: getattr(item[1], "creation_counter", 0))
    return list(dict(fields).items())


class RowsForm(Form):
    """A form with row lists (:class:`RowList` fields): the row buttons post ``row_action``."""

    row_action = StringField(validators=[Optional(), Length(max=40), Regexp(ROW_ACTION.pattern)])

    def apply_row_action(self) -> bool:
        """A row button was pressed (no JavaScript): apply it to what was typed; True when the form is to be shown
        again (nothing saved). Everything typed stays, in the rows and in the rest of the form."""
        match = ROW_ACTION.fullmatch(self.row_action.data or "")
        if match is None:
            return False
        rows = self._fields.get(match.group(1))
        if isinstance(rows, RowList):
            rows.apply(match.group(2))
        self.row_action.data = ""
        return True
