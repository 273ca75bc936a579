"""forms/rows.py is a piece for any row list: a list of rows without keys (a milestone plan's: title and month)
gets add, remove and move on what was typed, and a dict-shaped JSON list is shown as text."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import Length

from forms import Form
from forms.rows import RowList, RowsForm


class MilestoneRow(Form):
    class Meta:
        csrf = False

    de = StringField(validators=[Length(max=200)])
    month = StringField(validators=[Length(max=4)])


class PlanForm(RowsForm):
    class Meta:
        csrf = False

    plan = RowList(MilestoneRow)


def _posted(app, data):
    with app.test_request_context("/", method="POST", data=MultiDict(data)):
        form = PlanForm()
        changed = form.apply_row_action()
        return changed, [(r["de"], r["month"]) for r in form.plan.typed()], form


def test_a_row_list_without_keys(app):
    typed = {"plan-0-de": "Start", "plan-0-month": "1", "plan-1-de": "Mitte", "plan-1-month": "sechs"}
    changed, rows, _form = _posted(app, {**typed, "row_action": "plan:add"})
    assert changed and rows == [("Start", "1"), ("Mitte", "sechs"), ("", "")]
    assert _posted(app, {**typed, "row_action": "plan:up-1"})[1] == [("Mitte", "sechs"), ("Start", "1")]
    assert _posted(app, {**typed, "row_action": "plan:remove-0"})[1] == [("Mitte", "sechs")]
    # the last row stays (the editor keeps one), an unknown list or a row past the end changes nothing
    assert _posted(app, {"plan-0-de": "Start", "row_action": "plan:remove-0"})[1] == [("Start", "")]
    assert _posted(app, {**typed, "row_action": "other:add"})[1] == [("Start", "1"), ("Mitte", "sechs")]
    assert _posted(app, {**typed, "row_action": "plan:down-7"})[1] == [("Start", "1"), ("Mitte", "sechs")]
    # a save (no row button) is no row action; the renumbered rows are posted back in the order shown
    changed, _rows, form = _posted(app, {**typed, "row_action": "plan:down-0"})
    assert [e.form.de.name for e in form.plan.entries] == ["plan-0-de", "plan-1-de"]
    assert _posted(app, typed)[0] is False


def test_rows_of_an_object_are_shown_as_text_and_totalled(app):
    with app.test_request_context("/"):
        form = PlanForm(data={"plan": [{"de": "Start", "month": 1}, {"de": "Mitte", "month": 6}]})
        assert form.plan.typed() == [{"de": "Start", "month": "1"}, {"de": "Mitte", "month": "6"}]
        assert form.plan.total("month") == 7
