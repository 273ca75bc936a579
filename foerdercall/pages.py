"""The one pattern of a view that handles a post: load through the rulebook, validate the form, call one
operation, redirect. These are its shared steps for what goes wrong: a form's errors shown as messages on the
page the browser returns to, and an operation's refusal undone and shown with the form kept."""

from __future__ import annotations

from flask import flash, g
from flask_babel import gettext as _

from workflows import find_transition, workflow_name

from .extensions import db
from .labels import state_label, step_label


def flash_errors(form) -> None:
    """Each error of a posted form as a message on the page the redirect leads back to."""
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


def done_message(obj, trigger: str) -> str:
    """What a step did, for the message after it: the workflow's own words (``done``), else its name and the
    state it led to."""
    t = find_transition(workflow_name(obj), trigger)
    if t is not None and t.get("done"):
        return step_label(t, obj, key="done")
    return _(
        "„%(step)s“ ist erledigt. Neuer Stand: %(state)s.",
        step=step_label(t, obj) if t else trigger,
        state=state_label(workflow_name(obj), obj.state, mode=obj),
    )


def keep_typed_step(trigger: str, form) -> None:
    """A step refused (a condition, the deadline): the page is shown again with the reason and the note the
    person typed in that step's form (the ``step_buttons`` macro reads them)."""
    g.typed_step = {"trigger": trigger, "reason": form.reason.data or "", "note": form.note.data or ""}


def undo_refused(exc) -> None:
    """An operation refused (``ActionRefused``) while the view shows the form again with what was typed:
    nothing the request wrote is kept, and the reason is shown."""
    db.session.rollback()
    g.rollback = True
    flash(exc.message, "error")
